// Socket activation (sd_listen_fds): the listening sockets systemd passed,
// starting at fd 3, meant for this process only when LISTEN_PID is ours.
import { readFile, readlink } from 'node:fs/promises';
import { invalidParameter } from '../errors/index.js';

export const SD_LISTEN_FDS_START = 3;

/**
 * The passed fds, once: the variables are removed so that child processes
 * (containerd, shims) never take the sockets for theirs.
 */
export function takeListenFds(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number[] {
  const count = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === pid;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => SD_LISTEN_FDS_START + i);
}

/**
 * The fds an `fd://` host names: all of them, or `fd://N` alone. Throws a
 * message for the user when systemd passed none or not that one.
 */
export function selectListenFds(fd: number | undefined, passed: readonly number[]): number[] {
  if (passed.length === 0) {
    throw invalidParameter('no sockets found via socket activation for -H fd://: start berthd from its systemd socket unit (berthd.socket), or use -H unix:// or tcp://');
  }
  if (fd === undefined) return [...passed];
  if (!passed.includes(fd)) {
    throw invalidParameter(`-H fd://${fd}: systemd passed no socket as fd ${fd} (passed: ${passed.join(', ')})`);
  }
  return [fd];
}

/** The path of a Unix socket in /proc/net/unix's table, by inode (pure). */
export function unixPathByInode(table: string, inode: string): string | undefined {
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[6] === inode && cols[7] !== undefined && cols[7].startsWith('/')) return cols[7];
  }
  return undefined;
}

/** The path a passed Unix socket is bound to (to set its mode and group), via /proc; undefined when it has none. */
export async function unixSocketPathOfFd(fd: number): Promise<string | undefined> {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/self/fd/${fd}`));
    if (m === null) return undefined;
    return unixPathByInode(await readFile('/proc/net/unix', 'utf8'), m[1]!);
  } catch {
    return undefined;
  }
}
