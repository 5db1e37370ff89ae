// The per-build state, one small value passed down to every dispatcher, and
// the per-stage state it holds.
import type { ImageConfig } from '../daemon/images/index.js';
import type { BuildOptions } from './options.js';
import type { BuildOutput } from './output.js';
import type { BuildDeps } from './types.js';

export interface StageState {
  index: number;
  name?: string;
  /** the current image; undefined while a scratch stage has made none */
  image?: string;
  config: ImageConfig;
  /** ARGs declared in this stage that have a value */
  args: Map<string, string>;
  /** CMD set in this stage: a later ENTRYPOINT keeps it */
  cmdSet: boolean;
  /** MAINTAINER, recorded on every image the stage makes after it */
  author?: string;
}

export interface BuildState {
  readonly deps: BuildDeps;
  readonly opts: BuildOptions;
  readonly contextDir: string;
  /** content digests of the context's files, by host path */
  readonly contextDigests: ReadonlyMap<string, string>;
  readonly escape: string;
  readonly out: BuildOutput;
  readonly signal: AbortSignal;
  /** ARGs before the first FROM, with their values */
  readonly metaArgs: Map<string, string>;
  /** results of finished stages, by name and by index */
  readonly stages: Map<string, string | undefined>;
  /** build args some ARG consumed */
  readonly usedArgs: Set<string>;
  step: number;
  readonly total: number;
  /** held for the whole build, taken at the first step that writes (a fully cached build needs none) */
  lease(): Promise<string>;
  /**
   * --cache-from images still in play: once one serves a step, only it is
   * (dockerd sticks to one source rather than mix them).
   */
  cacheFrom: readonly string[];
  /** removals of step containers, finished before the build answers its end */
  readonly removals: Array<Promise<void>>;
}

/** Variables for expansion in a stage: its ARGs, under its ENV. */
export function stageVars(s: StageState): Map<string, string> {
  const vars = new Map(s.args);
  for (const kv of s.config.Env ?? []) {
    const i = kv.indexOf('=');
    vars.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
  }
  return vars;
}

/** The value a build arg gives an ARG, marking it used; undefined when the request has none. */
export function buildArgValue(b: BuildState, name: string): string | undefined {
  if (!b.opts.buildArgs.has(name)) return undefined;
  b.usedArgs.add(name);
  return b.opts.buildArgs.get(name) ?? undefined;
}

/** Build args that need no ARG (moby's predefined proxy args). */
export const PREDEFINED_ARGS = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);
