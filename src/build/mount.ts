// Snapshot mounts on the host for COPY/ADD, through mount(8) (Node has no
// mount(2)). A single bind mount needs no mounting: its source is the tree.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Mount } from '../containerd/index.js';
import { internal } from '../errors/index.js';

const execFileAsync = promisify(execFile);

/** Runs `fn` with the mounted filesystem's root; unmounts afterwards, even on failure. */
export async function withMounted<T>(mounts: readonly Mount[], tmpRoot: string, fn: (root: string) => Promise<T>): Promise<T> {
  if (mounts.length === 0) throw internal('the snapshot has no mounts');
  if (mounts.length === 1 && mounts[0]!.type === 'bind') return fn(mounts[0]!.source);
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'mnt-'));
  const mounted: string[] = [];
  try {
    for (const m of mounts) {
      const target = m.target ? join(dir, m.target) : dir;
      const args = ['-t', m.type, m.source, target];
      if (m.options.length) args.push('-o', m.options.join(','));
      await execFileAsync('mount', args);
      mounted.push(target);
    }
    return await fn(dir);
  } finally {
    for (const t of mounted.reverse()) await execFileAsync('umount', [t]).catch(() => execFileAsync('umount', ['-l', t]).catch(() => undefined));
    await rmdir(dir).catch(() => undefined);
  }
}

/** Unmounts whatever is mounted at `path` (lazily when busy); nothing mounted is fine. */
export async function unmountAll(path: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    try {
      await execFileAsync('umount', [path]);
    } catch {
      await execFileAsync('umount', ['-l', path]).catch(() => undefined);
      return;
    }
  }
}
