// Mounts a stopped container's rootfs (containerd's mounts of its snapshot)
// and its volumes and binds on a private temporary directory, for the file
// operations that need the merged view; unmounted again whatever happens.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rmdir } from 'node:fs/promises';
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
  /** a directory path already resolved inside the root, as a host path below it */
  target: (root: string) => Promise<string | undefined>;
  readOnly: boolean;
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
      await mountCmd(['--bind', b.source, target]);
      if (b.readOnly) await mountCmd(['-o', 'remount,bind,ro', target]);
    }
    return await fn(dir);
  } finally {
    if (mounted) await unmountAll(dir);
    await rmdir(dir).catch(() => undefined);
  }
}
