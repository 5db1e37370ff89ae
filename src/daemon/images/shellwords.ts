// Dockerfile word handling for `--change` instructions: splitting on unquoted
// whitespace, quote removal, backslash escapes and $VAR / ${VAR} expansion
// (with :- and :+), as the Dockerfile shell lexer does.
import { invalidParameter } from '../../errors/index.js';

const ESCAPE = '\\';
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isNameChar = (c: string): boolean => /[A-Za-z0-9_]/.test(c);

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words
 * (they are removed later by processWord, after `=` splitting).
 */
export function splitRawWords(s: string): string[] {
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
    if (c === ESCAPE && quote !== "'" && i + 1 < s.length) {
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
      else if (c === ESCAPE) out += this.i < this.s.length ? this.s[this.i++]! : ESCAPE;
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
      else if (c === ESCAPE) {
        const next = this.peek();
        if (next === '"' || next === '$' || next === ESCAPE) {
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
    if (c === ':') {
      const op = this.s[this.i++];
      const end = this.s.indexOf('}', this.i);
      if ((op !== '-' && op !== '+') || end < 0) throw invalidParameter(`unsupported modifier in \${${name}:${op ?? ''}…}: use :- or :+`);
      const word = new Lexer(this.s.slice(this.i, end), this.env).word();
      this.i = end + 1;
      const value = this.env.get(name) ?? '';
      if (op === '-') return value === '' ? word : value;
      return value === '' ? '' : word;
    }
    throw invalidParameter(`missing '}' in \${${name}…}`);
  }
}

/** Quote removal and expansion of one word (whitespace inside is kept). */
export function processWord(s: string, env: Env): string {
  return new Lexer(s, env).word();
}

/** Whitespace-separated words, each processed. */
export function processWords(s: string, env: Env): string[] {
  return splitRawWords(s).map((w) => processWord(w, env));
}
