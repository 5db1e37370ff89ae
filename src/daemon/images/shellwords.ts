// Dockerfile word handling for `--change` instructions: splitting on unquoted
// whitespace, quote removal, backslash escapes and $VAR / ${VAR} expansion
// (with -, +, :- and :+), as the Dockerfile shell lexer does; the escape
// character is a parameter for Dockerfiles with an `# escape=` directive.
import { invalidParameter } from '../../errors/index.js';

/** The default escape character; a Dockerfile's `# escape=` directive may choose another. */
const ESCAPE = '\\';
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isNameChar = (c: string): boolean => /[A-Za-z0-9_]/.test(c);

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words
 * (they are removed later by processWord, after `=` splitting).
 */
export function splitRawWords(s: string, escape = ESCAPE): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === '' && isSpace(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    word += c;
    if (c === escape && quote !== "'" && i + 1 < s.length) {
      word += s[++i];
      continue;
    }
    if (quote === '' && (c === '"' || c === "'")) quote = c;
    else if (quote === c) quote = '';
  }
  if (inWord) words.push(word);
  return words;
}

type Env = ReadonlyMap<string, string>;

class Lexer {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly env: Env,
    private readonly escape: string = ESCAPE,
  ) {}

  private peek(): string | undefined {
    return this.s[this.i];
  }

  /** One word with quotes removed and variables expanded; whitespace kept literally. */
  word(): string {
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i++]!;
      if (c === "'") out += this.single();
      else if (c === '"') out += this.double();
      else if (c === '$') out += this.dollar();
      else if (c === this.escape) out += this.i < this.s.length ? this.s[this.i++]! : this.escape;
      else out += c;
    }
    return out;
  }

  private single(): string {
    const end = this.s.indexOf("'", this.i);
    if (end < 0) throw invalidParameter('unexpected end of statement while looking for matching single-quote');
    const text = this.s.slice(this.i, end);
    this.i = end + 1;
    return text;
  }

  private double(): string {
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i++]!;
      if (c === '"') return out;
      if (c === '$') out += this.dollar();
      else if (c === this.escape) {
        const next = this.peek();
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.i++;
        } else out += c;
      } else out += c;
    }
    throw invalidParameter('unexpected end of statement while looking for matching double-quote');
  }

  private dollar(): string {
    const c = this.peek();
    if (c === '{') {
      this.i++;
      return this.braced();
    }
    let name = '';
    while (this.i < this.s.length && isNameChar(this.s[this.i]!)) name += this.s[this.i++];
    if (name === '') return '$';
    return this.env.get(name) ?? '';
  }

  private braced(): string {
    let name = '';
    while (this.i < this.s.length && isNameChar(this.s[this.i]!)) name += this.s[this.i++];
    if (name === '') throw invalidParameter('bad substitution: missing variable name in ${}');
    const c = this.s[this.i++];
    if (c === '}') return this.env.get(name) ?? '';
    // ${V:-x} / ${V:+x} test for empty or unset, ${V-x} / ${V+x} for unset only.
    const colon = c === ':';
    const op = colon ? this.s[this.i++] : c;
    if (op !== '-' && op !== '+') throw invalidParameter(`unsupported modifier in \${${name}${colon ? ':' : ''}${op ?? ''}…}: use -, +, :- or :+`);
    const end = this.closingBrace();
    if (end < 0) throw invalidParameter(`missing '}' in \${${name}…}`);
    const word = new Lexer(this.s.slice(this.i, end), this.env, this.escape).word();
    this.i = end + 1;
    const value = this.env.get(name);
    const set = colon ? value !== undefined && value !== '' : value !== undefined;
    if (op === '-') return set ? value! : word;
    return set ? word : '';
  }

  /** The `}` that closes the current ${…}, skipping nested ones. */
  private closingBrace(): number {
    let depth = 0;
    for (let j = this.i; j < this.s.length; j++) {
      const ch = this.s[j];
      if (ch === this.escape) j++;
      else if (ch === '{') depth++;
      else if (ch === '}') {
        if (depth === 0) return j;
        depth--;
      }
    }
    return -1;
  }
}

/** Quote removal and expansion of one word (whitespace inside is kept). */
export function processWord(s: string, env: Env, escape = ESCAPE): string {
  return new Lexer(s, env, escape).word();
}

/** Whitespace-separated words, each processed. */
export function processWords(s: string, env: Env, escape = ESCAPE): string[] {
  return splitRawWords(s, escape).map((w) => processWord(w, env, escape));
}
