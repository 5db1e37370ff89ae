// `docker import --change` / `docker commit --change`: Dockerfile instructions
// applied to an image config. Error texts follow dockerd's.
import { invalidParameter } from '../../errors/index.js';
import { processWord, processWords, splitRawWords } from './shellwords.js';
import type { HealthConfig, ImageConfig } from './types.js';

const SHELL = ['/bin/sh', '-c'];
const DOCKERFILE_ONLY: ReadonlySet<string> = new Set(['shell']);
const NONE: ReadonlySet<string> = new Set();
const VALID = new Set(['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

interface State {
  config: ImageConfig;
  env: Map<string, string>;
  cmdSet: boolean;
  escape: string;
  /** instructions allowed besides the --change ones (a Dockerfile's SHELL) */
  extra: ReadonlySet<string>;
}

export interface ChangeOptions {
  /** variables for expansion below the config's Env (a build's ARGs) */
  vars?: ReadonlyMap<string, string>;
  /** the Dockerfile's escape character */
  escape?: string;
  /** also accept SHELL (Dockerfile builds) */
  dockerfile?: boolean;
  /** CMD was set earlier in the same build stage: a new ENTRYPOINT keeps it */
  cmdSet?: boolean;
}

/** Splits change strings into instruction lines (backslash continues a line; # starts a comment). */
export function instructionLines(changes: readonly string[]): string[] {
  const lines: string[] = [];
  for (const change of changes) {
    let pending = '';
    for (const raw of change.split('\n')) {
      const line = raw.replace(/\r$/, '');
      if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
      if (line.endsWith('\\')) {
        pending += line.slice(0, -1);
        continue;
      }
      lines.push((pending + line).trim());
      pending = '';
    }
    if (pending.trim() !== '') lines.push(pending.trim());
  }
  return lines;
}

function envMap(env: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env ?? []) {
    const i = kv.indexOf('=');
    if (i < 0) m.set(kv, '');
    else m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}

/** A JSON array of strings, or undefined when the text is not one (then it is shell form). */
export function parseJsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return v;
  } catch {
    // not JSON: shell form
  }
  return undefined;
}

/** Exec form as is, shell form through the shell (/bin/sh -c); empty → undefined. */
function commandLine(rest: string, shell: readonly string[] = SHELL): string[] | undefined {
  const json = parseJsonArray(rest);
  if (json !== undefined) return json.length ? json : undefined;
  return rest === '' ? undefined : [...shell, rest];
}

/** KEY=value pairs (or the legacy `KEY value`), expanded against env. */
function nameValues(keyword: string, rest: string, env: ReadonlyMap<string, string>, escape: string): Array<[string, string]> {
  const words = splitRawWords(rest, escape);
  if (words.length === 0) throw invalidParameter(`${keyword} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(rest);
    if (!m) throw invalidParameter(`${keyword} must have two arguments`);
    return [[processWord(m[1]!, env, escape), processWord(m[2]!, env, escape)]];
  }
  return words.map((w): [string, string] => {
    const i = w.indexOf('=');
    if (i < 0) throw invalidParameter(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    return [processWord(w.slice(0, i), env, escape), processWord(w.slice(i + 1), env, escape)];
  });
}

function setEnv(state: State, pairs: Array<[string, string]>): void {
  const env = [...(state.config.Env ?? [])];
  for (const [k, v] of pairs) {
    if (k === '') throw invalidParameter('ENV names can not be blank');
    const at = env.findIndex((e) => e === k || e.startsWith(`${k}=`));
    if (at >= 0) env[at] = `${k}=${v}`;
    else env.push(`${k}=${v}`);
  }
  // Expansion sees the values only after the whole instruction, as in a Dockerfile.
  for (const [k, v] of pairs) state.env.set(k, v);
  state.config.Env = env;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** `80`, `80/udp`, `8000-8002/tcp` → port keys. */
export function exposedPorts(spec: string): string[] {
  const slash = spec.indexOf('/');
  const ports = slash < 0 ? spec : spec.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (!PROTOCOLS.has(proto)) throw invalidParameter(`Invalid proto: ${spec.slice(slash + 1)}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535) throw invalidParameter(`Invalid containerPort: ${ports}`);
  if (end < start) throw invalidParameter(`Invalid range specified for the Port: ${ports}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function parseGoDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== s.length) throw invalidParameter(`time: invalid duration ${JSON.stringify(s)}`);
  return Math.round(total);
}

function healthcheck(rest: string): HealthConfig {
  const m = /^((?:--\S+\s+)*)(\S*)\s*([\s\S]*)$/.exec(rest)!;
  const health: HealthConfig = {};
  for (const word of m[1]!.split(/\s+/).filter((w) => w !== '')) {
    const f = /^--([a-z-]+)=(.*)$/.exec(word);
    if (!f) throw invalidParameter(`HEALTHCHECK: flag ${word} needs a value (--name=value)`);
    const flag = f[1]!;
    const value = f[2]!;
    if (flag === 'interval') health.Interval = parseGoDuration(value);
    else if (flag === 'timeout') health.Timeout = parseGoDuration(value);
    else if (flag === 'start-period') health.StartPeriod = parseGoDuration(value);
    else if (flag === 'start-interval') health.StartInterval = parseGoDuration(value);
    else if (flag === 'retries') {
      if (!/^\d+$/.test(value)) throw invalidParameter(`HEALTHCHECK: invalid --retries value ${JSON.stringify(value)}`);
      health.Retries = Number(value);
    } else throw invalidParameter(`Unknown flag: ${flag}`);
  }
  const kind = m[2]!.toUpperCase();
  const cmdText = m[3]!.trim();
  if (kind === '') throw invalidParameter('HEALTHCHECK requires at least one argument');
  if (kind === 'NONE') {
    if (cmdText !== '') throw invalidParameter('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalidParameter(`Unknown type ${JSON.stringify(kind)} in HEALTHCHECK (try CMD)`);
  const json = parseJsonArray(cmdText);
  if (json !== undefined) health.Test = ['CMD', ...json];
  else if (cmdText !== '') health.Test = ['CMD-SHELL', cmdText];
  else throw invalidParameter('Missing command after HEALTHCHECK CMD');
  return health;
}

const SIGNAL_RE = /^(?:SIG)?[A-Z][A-Z0-9]*(?:[+-]\d+)?$|^\d+$/;

function apply(state: State, line: string): void {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(line);
  if (!m) return;
  const keyword = m[1]!.toLowerCase();
  const rest = m[2]!.trim();
  const c = state.config;
  if (!VALID.has(keyword) && !state.extra.has(keyword)) throw invalidParameter(`${keyword} is not a valid change command`);
  switch (keyword) {
    case 'cmd': {
      const cmd = commandLine(rest, c.Shell) ?? (rest === '' ? [...(c.Shell ?? SHELL)] : undefined);
      if (cmd === undefined) delete c.Cmd;
      else c.Cmd = cmd;
      state.cmdSet = true;
      break;
    }
    case 'entrypoint': {
      const ep = commandLine(rest, c.Shell);
      if (ep === undefined) delete c.Entrypoint;
      else c.Entrypoint = ep;
      // A new entrypoint drops an inherited CMD, unless CMD was set by these changes.
      if (!state.cmdSet) delete c.Cmd;
      break;
    }
    case 'env':
      setEnv(state, nameValues('ENV', rest, state.env, state.escape));
      break;
    case 'label':
      c.Labels = { ...c.Labels, ...Object.fromEntries(nameValues('LABEL', rest, state.env, state.escape)) };
      break;
    case 'expose': {
      const words = processWords(rest, state.env, state.escape);
      if (words.length === 0) throw invalidParameter('EXPOSE requires at least one argument');
      const ports = { ...c.ExposedPorts };
      for (const w of words) for (const p of exposedPorts(w)) ports[p] = {};
      c.ExposedPorts = ports;
      break;
    }
    case 'volume': {
      const list = parseJsonArray(rest) ?? processWords(rest, state.env, state.escape);
      if (list.length === 0) throw invalidParameter('VOLUME requires at least one argument');
      const vols = { ...c.Volumes };
      for (const v of list) {
        if (v.trim() === '') throw invalidParameter('VOLUME specified can not be an empty string');
        vols[v] = {};
      }
      c.Volumes = vols;
      break;
    }
    case 'workdir': {
      if (rest === '') throw invalidParameter('WORKDIR requires exactly one argument');
      const dir = processWord(rest, state.env, state.escape);
      const base = c.WorkingDir || '/';
      c.WorkingDir = dir.startsWith('/') ? normalizePath(dir) : normalizePath(`${base}/${dir}`);
      break;
    }
    case 'user':
      if (rest === '') throw invalidParameter('USER requires exactly one argument');
      c.User = processWord(rest, state.env, state.escape);
      break;
    case 'stopsignal': {
      if (rest === '') throw invalidParameter('STOPSIGNAL requires exactly one argument');
      const sig = processWord(rest, state.env, state.escape);
      if (!SIGNAL_RE.test(sig)) throw invalidParameter(`Invalid signal: ${sig}`);
      c.StopSignal = sig;
      break;
    }
    case 'healthcheck':
      c.Healthcheck = healthcheck(rest);
      break;
    case 'shell': {
      const shell = parseJsonArray(rest);
      if (shell === undefined || shell.length === 0) throw invalidParameter('SHELL requires the arguments to be in JSON form');
      c.Shell = shell;
      break;
    }
    case 'onbuild': {
      if (rest === '') throw invalidParameter('ONBUILD requires at least one argument');
      const [first = '', ...others] = rest.split(/(\s+)/);
      c.OnBuild = [...(c.OnBuild ?? []), first.toUpperCase() + others.join('')];
      break;
    }
  }
}

function normalizePath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** Returns a new config with the instructions applied in order; throws invalid-parameter on a bad one. */
export function applyChanges(base: ImageConfig, changes: readonly string[], opts: ChangeOptions = {}): ImageConfig {
  const env = new Map([...(opts.vars ?? []), ...envMap(base.Env)]);
  const extra = opts.dockerfile ? DOCKERFILE_ONLY : NONE;
  const state: State = { config: structuredClone(base), env, cmdSet: opts.cmdSet ?? false, escape: opts.escape ?? '\\', extra };
  for (const line of instructionLines(changes)) apply(state, line);
  return state.config;
}
