// Mounts a stopped container's rootfs (containerd's mounts of its snapshot)
// and its volumes and binds on a private temporary directory, for the file
// operations that need the merged view; unmounted again whatever happens.
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { internal } from '../errors/index.js';

const run = promisify(execFile);

/** containerd's Mount shape (type, source, options). */
export interface SnapshotMount {
  type: string;
  source: string;
  options: string[];
}

/** A bind to add on top of the mounted root (a volume or a bind of the container). */
export interface ExtraBind {
  source: string;
  /** the mount point resolved inside the root: an open directory and a name in it; undefined to skip */
  target: (root: string) => Promise<{ parent: FileHandle; name: string } | undefined>;
  readOnly: boolean;
}

// Linux's O_PATH: a handle on a name (file or directory) without opening it.
const O_PATH = 0o10000000;

/**
 * Runs mount(8) on the object held by `fd` (passed as fd 3, named
 * /proc/self/fd/3 without canonicalization): the kernel mounts on that very
 * inode, so nothing swapped in by a path's owner after it was resolved is
 * mounted over instead.
 */
function mountOnFd(args: string[], fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mount', ['--no-canonicalize', ...args, '/proc/self/fd/3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(internal(`mount ${args.join(' ')} failed: ${stderr.trim()}`))));
  });
}

/** Bind-mounts `source` on the name `name` in the open directory `parent`, read-only when asked. */
async function bindAt(source: string, parent: FileHandle, name: string, readOnly: boolean): Promise<void> {
  const target = await open(`/proc/self/fd/${parent.fd}/${name}`, O_PATH | constants.O_NOFOLLOW);
  try {
    if ((await target.stat()).isSymbolicLink()) return;
    await mountOnFd(['--bind', source], target.fd);
  } finally {
    await target.close();
  }
  if (!readOnly) return;
  // The name now leads to the new mount's root: remount that one read-only.
  const top = await open(`/proc/self/fd/${parent.fd}/${name}`, O_PATH | constants.O_NOFOLLOW);
  try {
    await mountOnFd(['-o', 'remount,bind,ro'], top.fd);
  } finally {
    await top.close();
  }
}

async function mountCmd(args: string[]): Promise<void> {
  try {
    await run('mount', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw internal(`mount ${args.join(' ')} failed: ${stderr.trim()}`, err);
  }
}

/** Mounts containerd's mounts of a snapshot at `target` (one overlay or bind, as the overlayfs snapshotter gives). */
export async function mountSnapshot(mounts: readonly SnapshotMount[], target: string): Promise<void> {
  if (mounts.length !== 1) throw internal(`cannot mount a rootfs made of ${mounts.length} mounts`);
  const m = mounts[0] as SnapshotMount;
  if (m.type === 'bind' || m.type === 'rbind') {
    await mountCmd(['--bind', m.source, target]);
    if (m.options.includes('ro')) await mountCmd(['-o', 'remount,bind,ro', target]);
    return;
  }
  await mountCmd(['-t', m.type, '-o', m.options.join(','), m.source, target]);
}

export async function unmountAll(target: string): Promise<void> {
  await run('umount', ['-R', target]).catch(() => run('umount', ['-R', '-l', target]).catch(() => undefined));
}

/**
 * Runs `fn` with the snapshot mounted on a fresh directory under `tmpRoot`,
 * plus `binds`; unmounts and removes the directory afterwards.
 */
export async function withMountedSnapshot<T>(
  tmpRoot: string,
  mounts: readonly SnapshotMount[],
  binds: readonly ExtraBind[],
  fn: (root: string) => Promise<T>,
): Promise<T> {
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'rootfs-'));
  let mounted = false;
  try {
    await mountSnapshot(mounts, dir);
    mounted = true;
    for (const b of binds) {
      const target = await b.target(dir);
      if (target === undefined) continue;
      try {
        await bindAt(b.source, target.parent, target.name, b.readOnly);
      } finally {
        await target.parent.close();
      }
    }
    return await fn(dir);
  } finally {
    if (mounted) await unmountAll(dir);
    await rmdir(dir).catch(() => undefined);
  }
}
