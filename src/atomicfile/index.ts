// Files replaced atomically: written under a temporary name in the same
// folder, flushed to disk, then renamed over the target, so that a crash
// leaves either the old content or the new one, never a mix.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** mode of the file, set explicitly so that the umask cannot narrow it (default 0o600) */
  mode?: number;
  /** also flush the folder, so that the rename itself survives a crash */
  syncFolder?: boolean;
  /**
   * false: no flush to disk. For runtime state that a reboot is meant to
   * wipe anyway: the rename still keeps a crash of the process from leaving
   * a mix, and the page cache outlives the process.
   */
  durable?: boolean;
}

async function syncFolder(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(path: string, data: string | Buffer, opts: AtomicWriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o600;
  const dir = dirname(path);
  const tmp = join(dir, `.tmp-${basename(path)}.${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    if (opts.durable !== false) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (opts.syncFolder === true) await syncFolder(dir);
}
