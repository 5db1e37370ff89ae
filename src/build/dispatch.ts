// One dispatcher per instruction, in a table. A dispatcher expands its words
// and says what the step is — a config change, a command to run, or files to
// copy — with what it records in history; builder.ts probes the cache and
// carries the step out.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { applyChanges, processWord, processWords, splitRawWords, type ImageConfig } from '../daemon/images/index.js';
import { invalidParameter } from '../errors/index.js';
import { copySources, findSources, hashSources, resolveChown, type Owner, type Source } from './copy.js';
import { downloadSource, isUrl } from './remote.js';
import { withMounted } from './mount.js';
import type { Instruction } from './parse.js';
import type { RunSpec } from './run.js';
import { buildArgValue, stageVars, type BuildState, type StageState } from './state.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const NOP = '/bin/sh -c #(nop) ';

interface PlanBase {
  /** the config of the step's image */
  config: ImageConfig;
  /** its history entry */
  createdBy: string;
  /** what else the cache key depends on */
  extra?: string[];
  /** MAINTAINER */
  author?: string;
}

export type StepPlan =
  | (PlanBase & { kind: 'config' })
  | (PlanBase & { kind: 'run'; run: Omit<RunSpec, 'image'>; command: string })
  | (PlanBase & { kind: 'copy'; copy(root: string): Promise<void>; release(): Promise<void> });

type Dispatcher = (b: BuildState, s: StageState, ins: Instruction) => Promise<StepPlan>;

function config(s: StageState, ins: Instruction, b: BuildState): StepPlan {
  // The change parser reads HEALTHCHECK's flags inline.
  const flags = ins.flags.map(([k, v]) => (v === null ? `--${k} ` : `--${k}=${v} `)).join('');
  const next = applyChanges(s.config, [`${ins.keyword} ${flags}${ins.args}`], { vars: stageVars(s), escape: b.escape, dockerfile: true, cmdSet: s.cmdSet });
  if (ins.keyword === 'CMD') s.cmdSet = true;
  return { kind: 'config', config: next, createdBy: NOP + ins.original };
}

const configStep: Dispatcher = async (b, s, ins) => config(s, ins, b);

const onbuild: Dispatcher = async (b, s, ins) => {
  const trigger = (/^\s*(\S+)/.exec(ins.args)?.[1] ?? '').toUpperCase();
  if (trigger === 'ONBUILD') throw invalidParameter('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'FROM' || trigger === 'MAINTAINER') throw invalidParameter(`${trigger} isn't allowed as an ONBUILD trigger`);
  return config(s, ins, b);
};

const maintainer: Dispatcher = async (_b, s, ins) => {
  s.author = ins.args;
  return { kind: 'config', config: s.config, createdBy: NOP + ins.original, author: ins.args };
};

/** `ARG A`, `ARG A=default`, several per line. */
const arg: Dispatcher = async (b, s, ins) => {
  const vars = stageVars(s);
  for (const word of splitRawWords(ins.args, b.escape)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (name === '') throw invalidParameter('ARG names can not be blank');
    const given = buildArgValue(b, name);
    const fallback = eq < 0 ? b.metaArgs.get(name) : processWord(word.slice(eq + 1), vars, b.escape);
    const value = given ?? fallback;
    if (value !== undefined) {
      s.args.set(name, value);
      vars.set(name, value);
    }
  }
  return { kind: 'config', config: s.config, createdBy: NOP + ins.original, extra: [...s.args].map(([k, v]) => `${k}=${v}`) };
};

/** The RUN environment: the config's, then the stage's ARGs it does not set. */
function runEnv(s: StageState): { env: string[]; args: string[] } {
  const env = [...(s.config.Env ?? [])];
  const keys = new Set(env.map((e) => e.split('=', 1)[0]));
  const args = [...s.args].filter(([k]) => !keys.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
  return { env: [...env, ...args], args };
}

const run: Dispatcher = async (b, s, ins) => {
  const cmd = ins.json ?? [...(s.config.Shell ?? DEFAULT_SHELL), ins.args];
  if (cmd.length === 0 || (ins.json === undefined && ins.args === '')) throw invalidParameter('RUN requires at least one argument');
  const { env, args } = runEnv(s);
  const prefix = args.length ? `|${args.length} ${args.join(' ')} ` : '';
  return {
    kind: 'run',
    config: s.config,
    createdBy: prefix + cmd.join(' '),
    command: cmd.join(' '),
    extra: [b.opts.networkMode],
    run: { cmd, env, workdir: s.config.WorkingDir ?? '', user: s.config.User ?? '', networkMode: b.opts.networkMode, extraHosts: b.opts.extraHosts, resources: b.opts.resources, ulimits: b.opts.ulimits },
  };
};

function flag(ins: Instruction, name: string): string | undefined {
  const f = ins.flags.find(([n]) => n === name);
  if (f === undefined) return undefined;
  if (f[1] === null || f[1] === '') throw invalidParameter(`${ins.keyword} --${name} needs a value`);
  return f[1];
}

type SourceTree = { root: (fn: (root: string) => Promise<void>) => Promise<void>; release(): Promise<void> };

/** The tree of a stage or image without layers. */
async function emptyTree(b: BuildState): Promise<SourceTree> {
  await mkdir(b.deps.tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(b.deps.tmpDir, 'empty-'));
  return { root: (fn) => fn(dir), release: () => rm(dir, { recursive: true, force: true }) };
}

/** A view of another stage's or image's filesystem, for COPY --from. */
async function openFrom(b: BuildState, ref: string): Promise<SourceTree> {
  const key = ref.toLowerCase();
  let image: string | undefined;
  if (b.stages.has(key)) image = b.stages.get(key);
  else image = (await b.deps.images.resolveForContainer(ref)).id;
  if (image === undefined) return emptyTree(b);
  const viewKey = `berth-build-from-${randomBytes(6).toString('hex')}`;
  const mounts = await b.deps.images.viewRootfs(viewKey, image);
  const release = (): Promise<void> => b.deps.images.removeRootfs(viewKey);
  if (mounts.length === 0) {
    await release();
    return emptyTree(b);
  }
  return { root: (fn) => withMounted(mounts, b.deps.tmpDir, fn), release };
}

function copyDispatcher(keyword: 'COPY' | 'ADD'): Dispatcher {
  return async (b, s, ins) => {
    const vars = stageVars(s);
    const words = ins.json ? ins.json.map((w) => processWord(w, vars, b.escape)) : processWords(ins.args, vars, b.escape);
    if (words.length < 2) throw invalidParameter(`${keyword} requires at least two arguments, but got ${words.length}`);
    const rawDest = words.at(-1)!;
    const base = s.config.WorkingDir || '/';
    const joined = rawDest.startsWith('/') ? rawDest : posix.join(base, rawDest);
    const dest = !joined.endsWith('/') && (rawDest.endsWith('/') || rawDest === '.') ? `${joined}/` : joined;
    const chown = flag(ins, 'chown');
    const chownSpec = chown === undefined ? undefined : processWord(chown, vars, b.escape);
    const fromRef = keyword === 'COPY' ? flag(ins, 'from') : undefined;
    const from = fromRef === undefined ? undefined : await openFrom(b, processWord(fromRef, vars, b.escape));
    const sourceWords = words.slice(0, -1);
    // ADD <url>: fetched now, on every build, as dockerd does (the content keys the cache).
    const downloads = keyword === 'ADD' ? sourceWords.filter(isUrl) : [];
    const patterns = sourceWords.filter((w) => !downloads.includes(w));
    const fetched: Source[] = [];
    const fetchedDirs: string[] = [];
    const release = async (): Promise<void> => {
      await from?.release();
      for (const d of fetchedDirs) await rm(d, { recursive: true, force: true });
    };
    const withSources = async <T>(fn: (sources: Source[]) => Promise<T>): Promise<T> => {
      const local = (root: string, follow: boolean): Promise<Source[]> => (patterns.length === 0 ? Promise.resolve([]) : findSources(root, patterns, keyword, follow));
      if (from === undefined) return fn([...fetched, ...(await local(b.contextDir, false))]);
      let result!: T;
      await from.root(async (root) => {
        result = await fn(await local(root, true));
      });
      return result;
    };
    try {
      for (const url of downloads) {
        const d = await downloadSource(url, b.deps.tmpDir, b.signal);
        fetchedDirs.push(d.dir);
        fetched.push({ path: d.path, name: d.name, isDir: false, fetched: true });
      }
      const hash = await withSources((sources) => hashSources(sources, b.contextDigests));
      const fromText = fromRef === undefined ? '' : `--from=${fromRef} `;
      return {
        kind: 'copy',
        config: s.config,
        createdBy: `${NOP}${keyword} ${fromText}${hash} in ${dest} `,
        extra: [chownSpec ?? ''],
        copy: async (root) => {
          const owner: Owner | undefined = chownSpec === undefined ? undefined : await resolveChown(chownSpec, root);
          await withSources((sources) => copySources(root, sources, dest, { owner, unpack: keyword === 'ADD' }, keyword));
        },
        release,
      };
    } catch (err) {
      await release();
      throw err;
    }
  };
}

export const DISPATCHERS: Readonly<Record<string, Dispatcher>> = {
  ARG: arg,
  ENV: configStep,
  LABEL: configStep,
  EXPOSE: configStep,
  VOLUME: configStep,
  WORKDIR: configStep,
  USER: configStep,
  CMD: configStep,
  ENTRYPOINT: configStep,
  STOPSIGNAL: configStep,
  HEALTHCHECK: configStep,
  SHELL: configStep,
  ONBUILD: onbuild,
  MAINTAINER: maintainer,
  RUN: run,
  COPY: copyDispatcher('COPY'),
  ADD: copyDispatcher('ADD'),
};
