// How the image's config and the request combine into what the container
// runs, with dockerd's rules: entrypoint/cmd, environment, labels, user.
import { invalidParameter } from '../../errors/index.js';
import type { ContainerConfig, ImageConfig } from './types.js';
import { mergeHealthcheck } from '../health/index.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const envKey = (entry: string): string => {
  const i = entry.indexOf('=');
  return i < 0 ? entry : entry.slice(0, i);
};

/**
 * The request's config completed from the image's, as stored at create.
 * An explicit entrypoint (even `[""]`, which clears it) also drops the
 * image's Cmd: only the request's arguments follow a new entrypoint.
 */
export function mergeImageConfig(user: ContainerConfig, image: ImageConfig): ContainerConfig {
  const merged: ContainerConfig = { ...user, Env: user.Env.slice(), Labels: { ...user.Labels } };
  const clearsEntrypoint = user.Entrypoint !== null && user.Entrypoint.length === 1 && user.Entrypoint[0] === '';
  if (user.Entrypoint === null || user.Entrypoint.length === 0) {
    if (user.Cmd === null || user.Cmd.length === 0) {
      merged.Cmd = image.Cmd ?? null;
      if (image.ArgsEscaped !== undefined) merged.ArgsEscaped = image.ArgsEscaped;
    }
    if (user.Entrypoint === null) merged.Entrypoint = image.Entrypoint ?? null;
  }
  if (clearsEntrypoint) merged.Entrypoint = null;
  const userKeys = new Set(merged.Env.map(envKey));
  for (const entry of image.Env ?? []) if (!userKeys.has(envKey(entry))) merged.Env.push(entry);
  for (const [k, v] of Object.entries(image.Labels ?? {})) if (!(k in merged.Labels)) merged.Labels[k] = v;
  if (merged.User === '') merged.User = image.User ?? '';
  if (merged.WorkingDir === '') merged.WorkingDir = image.WorkingDir ?? '';
  if (merged.StopSignal === undefined && image.StopSignal) merged.StopSignal = image.StopSignal;
  if (!merged.ExposedPorts && image.ExposedPorts) merged.ExposedPorts = image.ExposedPorts;
  // dockerd adds the image's volumes to the user's.
  if (image.Volumes) merged.Volumes = { ...image.Volumes, ...(merged.Volumes ?? {}) };
  const health = mergeHealthcheck(merged.Healthcheck, image.Healthcheck);
  if (health !== undefined) merged.Healthcheck = health;
  return merged;
}

/** Docker's Path and Args: the first word of entrypoint+cmd, then the rest. */
export function pathAndArgs(config: Pick<ContainerConfig, 'Entrypoint' | 'Cmd'>): { path: string; args: string[] } {
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (argv.length === 0) throw invalidParameter('No command specified');
  const [path, ...args] = argv as [string, ...string[]];
  return { path, args };
}

/** The `Command` column of `docker ps`. */
export function commandLine(path: string, args: readonly string[]): string {
  return args.length === 0 ? path : `${path} ${args.join(' ')}`;
}

/**
 * `base` with each entry of `overrides` replacing the entry of the same key
 * or appended; an override without `=` removes the key (dockerd's rule).
 */
export function replaceOrAppendEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = base.slice();
  const index = new Map(out.map((e, i) => [envKey(e), i]));
  for (const entry of overrides) {
    const key = envKey(entry);
    const at = index.get(key);
    if (!entry.includes('=')) {
      if (at !== undefined) out[at] = '';
      continue;
    }
    if (at !== undefined) out[at] = entry;
    else {
      index.set(key, out.length);
      out.push(entry);
    }
  }
  return out.filter((e) => e !== '');
}

/** The process environment: PATH and HOSTNAME first, TERM for a TTY, then the container's. */
export function processEnv(config: Pick<ContainerConfig, 'Env' | 'Hostname' | 'Tty'>): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${config.Hostname}`];
  if (config.Tty) base.push('TERM=xterm');
  return replaceOrAppendEnv(base, config.Env);
}

export function checkEnv(env: readonly string[]): void {
  for (const entry of env) {
    if (entry === '' || entry.startsWith('=')) {
      throw invalidParameter(`invalid environment variable: ${JSON.stringify(entry)} (use NAME=value)`);
    }
  }
}
