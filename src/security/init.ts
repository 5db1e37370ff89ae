// --init: a static init binary bind-mounted read-only at /sbin/docker-init and
// put in front of the command, as dockerd does.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INIT_DESTINATION = '/sbin/docker-init';
export const INIT_BINARY_NAME = 'docker-init';

// dockerd's search places, then Debian's static tini and podman's catatonit.
const LIB_DIRS = ['/usr/local/libexec/docker', '/usr/libexec/docker', '/usr/local/lib/docker', '/usr/lib/docker'];
const STATIC_INITS = ['/usr/bin/tini-static', '/usr/libexec/podman/catatonit', '/usr/bin/catatonit'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The init binary berth mounts: init-path if set, else the first one found. */
export function findInitBinary(initPath: string | undefined, pathEnv = process.env.PATH ?? ''): string | undefined {
  if (initPath !== undefined && initPath !== '') return initPath;
  const candidates = [
    ...LIB_DIRS.map((d) => join(d, INIT_BINARY_NAME)),
    ...pathEnv.split(delimiter).filter((d) => d !== '').map((d) => join(d, INIT_BINARY_NAME)),
    ...STATIC_INITS,
  ];
  return candidates.find(executable);
}

/** `tini version 0.19.0 - git.de40ad0` → de40ad0; a version without a commit → v0.19.0. */
export function parseInitVersion(output: string): string {
  const git = /git\.([0-9a-f]+)/.exec(output);
  if (git?.[1] !== undefined) return git[1];
  const v = /version\s+v?([0-9][^\s]*)/.exec(output) ?? /(\d+\.\d+\.\d+)/.exec(output);
  return v?.[1] !== undefined ? `v${v[1]}` : 'N/A';
}

/** InitCommit.ID of /info, from `<init> --version`. */
export function initVersion(binary: string | undefined): Promise<string> {
  if (binary === undefined) return Promise.resolve('N/A');
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 2000 }, (err, stdout, stderr) => {
      resolve(err !== null && stdout === '' ? 'N/A' : parseInitVersion(`${stdout}${stderr}`));
    });
  });
}

/** process.args with the init in front. */
export function withInit(args: readonly string[]): string[] {
  return [INIT_DESTINATION, '--', ...args];
}
