// Dockerfile → stages of plain instructions, through dockerfile-ast (an
// editor AST: it keeps every word as written; expansion happens later, per
// step, in expand.ts). The classic builder's refusals of BuildKit-only syntax
// are made here, before anything runs.
import { DockerfileParser, type Instruction as AstInstruction } from 'dockerfile-ast';
import { parseJsonArray } from '../daemon/images/index.js';
import { invalidParameter } from '../errors/index.js';

export interface Instruction {
  /** upper case: RUN, COPY… */
  keyword: string;
  /** the arguments after the flags, continuation lines joined */
  args: string;
  /** --name=value flags in order */
  flags: Array<[string, string | null]>;
  /** the exec form's strings when the arguments are a JSON array */
  json?: string[];
  /** what `Step N/M :` shows */
  original: string;
  /** 1-based */
  line: number;
}

export interface Stage {
  /** the FROM instruction */
  from: Instruction;
  /** `AS name`, lower case */
  name?: string;
  /** the stage's own instructions after FROM */
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  escape: string;
  /** ARG instructions before the first FROM */
  metaArgs: Instruction[];
  stages: Stage[];
}

const KNOWN = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL',
  'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/** Flags each instruction takes in the classic builder; BuildKit-only ones are refused with its text. */
const FLAGS: Readonly<Record<string, readonly string[]>> = {
  FROM: ['platform'],
  COPY: ['from', 'chown'],
  ADD: ['chown'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};
const BUILDKIT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  RUN: ['mount', 'network', 'security'],
  COPY: ['chmod', 'link', 'parents', 'exclude'],
  ADD: ['chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
};

export function buildkitOnly(what: string): Error {
  return invalidParameter(`${what} requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
}

function parseError(line: number, message: string): Error {
  return invalidParameter(`dockerfile parse error on line ${line}: ${message}`);
}

function toInstruction(i: AstInstruction, escape: string, lines: readonly string[]): Instruction {
  const keyword = i.getKeyword().toUpperCase();
  const line = i.getRange().start.line + 1;
  if (!KNOWN.has(keyword)) throw parseError(line, `unknown instruction: ${i.getInstruction()}`);
  const withFlags = i as AstInstruction & { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> };
  const flags: Array<[string, string | null]> = (withFlags.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue()]);
  // Raw: RUN and CMD text reaches the shell as written; only continuations are joined.
  const args = joinLines(i.getRawArgumentsContent() ?? '', escape).trim();
  for (const [name] of flags) {
    if (BUILDKIT_FLAGS[keyword]?.includes(name)) throw buildkitOnly(`the --${name} option`);
    if (!FLAGS[keyword]?.includes(name)) throw parseError(line, `Unknown flag: ${name}`);
  }
  if (['RUN', 'COPY', 'ADD'].includes(keyword) && /^<<-?["']?[A-Za-z_]/.test(args)) throw buildkitOnly('the heredoc syntax');
  const out: Instruction = { keyword, args, flags, original: originalText(i, escape, lines), line };
  const json = parseJsonArray(args);
  if (json !== undefined) out.json = json;
  return out;
}

/** Continuation lines joined (escape + newline removed), comment lines inside dropped, as moby's parser does. */
export function joinLines(text: string, escape: string): string {
  const lines = text.split(/\r?\n/);
  let out = '';
  for (const [n, line] of lines.entries()) {
    if (n > 0 && /^[ \t]*#/.test(line)) continue;
    const m = new RegExp(`\\${escape}[ \\t]*$`).exec(line);
    out += m ? line.slice(0, m.index) : line;
  }
  return out;
}

/** The instruction as written, continuation lines joined (moby's node.Original). */
function originalText(i: AstInstruction, escape: string, lines: readonly string[]): string {
  const { start, end } = i.getRange();
  const text = lines.slice(start.line, end.line + 1);
  if (text.length === 0) return i.toString();
  text[text.length - 1] = text[text.length - 1]!.slice(0, end.character);
  text[0] = text[0]!.slice(start.character);
  return joinLines(text.join('\n'), escape).trim();
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const df = DockerfileParser.parse(text);
  const escape = df.getEscapeCharacter();
  const lines = text.split(/\r?\n/);
  const all = df.getInstructions();
  if (all.length === 0) throw invalidParameter('No image was generated. Is your Dockerfile empty?');
  const metaArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const raw of all) {
    const ins = toInstruction(raw, escape, lines);
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => w !== '');
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
        throw parseError(ins.line, 'FROM requires either one or three arguments');
      }
      const stage: Stage = { from: ins, instructions: [] };
      if (words.length === 3) {
        const name = words[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(name)) throw parseError(ins.line, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
        if (stages.some((s) => s.name === name)) throw parseError(ins.line, `duplicate name ${words[2]}`);
        stage.name = name;
      }
      stages.push(stage);
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw invalidParameter('Please provide a source image with `from` prior to commit');
      metaArgs.push(ins);
    } else stages.at(-1)!.instructions.push(ins);
  }
  if (stages.length === 0) throw invalidParameter('Please provide a source image with `from` prior to commit');
  return { escape, metaArgs, stages };
}

/** One ONBUILD trigger (or any single instruction line) parsed as the instruction it is. */
export function parseTrigger(text: string, escape: string): Instruction {
  const source = `# escape=${escape}\n${text}\n`;
  const df = DockerfileParser.parse(source);
  const [first] = df.getInstructions();
  if (!first) throw invalidParameter(`invalid ONBUILD trigger: ${JSON.stringify(text)}`);
  return toInstruction(first, escape, source.split(/\r?\n/));
}
