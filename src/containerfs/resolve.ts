// Paths inside a container, resolved inside its root as the container sees
// them, without a check-then-use race on host paths: every directory on the
// way is opened (O_DIRECTORY|O_NOFOLLOW) and the next name is looked up
// relative to that open directory through /proc/self/fd/N, so a directory the
// container swaps for a symlink after it was checked is never followed on the
// host. Symlinks are followed by this code, against the held root: absolute
// targets restart at the container's root and `..` never climbs above it.
import { constants } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { BerthError, invalidParameter, notFound } from '../errors/index.js';

const MAX_LINKS = 40;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** The host path that names `name` inside the open directory `dir`. */
export const at = (dir: FileHandle, name: string): string => `/proc/self/fd/${dir.fd}/${name}`;
/** The host path of the open directory itself. */
export const self = (dir: FileHandle): string => `/proc/self/fd/${dir.fd}`;

export const openDirAt = (dir: FileHandle, name: string): Promise<FileHandle> => open(at(dir, name), DIR_FLAGS);

/** Splits a container path into its names (empty ones and `.` dropped). */
export function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

export interface Resolved {
  /** the open directory holding the last name (owned by the caller: close it) */
  parent: FileHandle;
  /** the last name; '' when the path is the root itself */
  name: string;
  /** lstat of the last name; undefined when it does not exist (allowMissing) */
  stat: Stats | undefined;
  /** the resolved path as the container sees it */
  path: string;
}

export interface ResolveOptions {
  /** follow a symlink in the last component too */
  followFinal: boolean;
  /** a missing last name is fine (stat undefined); a missing parent never is */
  allowMissing?: boolean;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** A container root held open: resolve paths relative to it. */
export class ContainerRoot {
  private constructor(
    readonly handle: FileHandle,
    /** what errors name the container by */
    readonly label: string,
  ) {}

  /** Opens `hostPath` (e.g. /proc/PID/root or a mounted snapshot) as the root. */
  static async open(hostPath: string, label: string): Promise<ContainerRoot> {
    return new ContainerRoot(await open(hostPath, constants.O_RDONLY | constants.O_DIRECTORY), label);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** Re-opens the root (callers that close their parent handle get their own). */
  private reopen(): Promise<FileHandle> {
    return open(self(this.handle), constants.O_RDONLY | constants.O_DIRECTORY);
  }

  missing(path: string): BerthError {
    return notFound(`Could not find the file ${path} in container ${this.label}`);
  }

  /**
   * Resolves `path` (absolute inside the container). Throws not-found (404)
   * when a component is missing, invalid-parameter for a non-directory in
   * the middle or a symlink loop.
   */
  async resolve(path: string, opts: ResolveOptions): Promise<Resolved> {
    const queue = components(path);
    const stack: FileHandle[] = [await this.reopen()];
    const names: string[] = [];
    let links = 0;
    const top = (): FileHandle => stack[stack.length - 1] as FileHandle;
    const unwindTo = async (n: number): Promise<void> => {
      while (stack.length > n) await (stack.pop() as FileHandle).close().catch(() => undefined);
      names.length = Math.max(0, n - 1);
    };
    try {
      for (;;) {
        const name = queue.shift();
        if (name === undefined) {
          // The path ended on a directory reached through `..`: hand back
          // its parent and name (the root is its own parent, name '').
          if (stack.length === 1) {
            const root = stack.pop() as FileHandle;
            return { parent: root, name: '', stat: await root.stat(), path: '/' };
          }
          const last = names[names.length - 1] as string;
          const resolvedPath = '/' + names.join('/');
          await (stack.pop() as FileHandle).close();
          const parent = stack.pop() as FileHandle;
          const st = await lstat(at(parent, last));
          await unwindTo(0);
          return { parent, name: last, stat: st, path: resolvedPath };
        }
        if (name === '..') {
          if (stack.length > 1) await unwindTo(stack.length - 1);
          continue;
        }
        const isLast = queue.length === 0;
        let st: Stats;
        try {
          st = await lstat(at(top(), name));
        } catch (err) {
          if ((errno(err) === 'ENOENT') && isLast && opts.allowMissing === true) {
            const parent = stack.pop() as FileHandle;
            const resolvedPath = '/' + [...names, name].join('/');
            await unwindTo(0);
            return { parent, name, stat: undefined, path: resolvedPath };
          }
          if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') throw this.missing(path);
          throw err;
        }
        if (st.isSymbolicLink() && (!isLast || opts.followFinal)) {
          if (++links > MAX_LINKS) throw invalidParameter(`too many levels of symbolic links resolving ${path} in container ${this.label}`);
          const target = await readlink(at(top(), name));
          queue.unshift(...components(target));
          if (target.startsWith('/')) await unwindTo(1);
          continue;
        }
        if (isLast) {
          const parent = stack.pop() as FileHandle;
          const resolvedPath = '/' + [...names, name].join('/');
          await unwindTo(0);
          return { parent, name, stat: st, path: resolvedPath };
        }
        if (!st.isDirectory()) throw this.missing(path);
        let dir: FileHandle;
        try {
          dir = await openDirAt(top(), name);
        } catch (err) {
          // Swapped between the lstat and the open: look at it again.
          if (errno(err) === 'ELOOP' || errno(err) === 'ENOTDIR' || errno(err) === 'ENOENT') {
            queue.unshift(name);
            continue;
          }
          throw err;
        }
        stack.push(dir);
        names.push(name);
      }
    } catch (err) {
      await unwindTo(0);
      throw err;
    }
  }
}

export function notADirectory(): BerthError {
  return invalidParameter('extraction point is not a directory');
}
