// Reads a small file (e.g. /etc/passwd) out of a container's rootfs without
// mounting it: an overlay's upper dir wins over its lower dirs, top to bottom.
import { readFile, lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Mount } from '../../containerd/types.js';
import { layerDirs } from '../../containerfs/index.js';

/** A whiteout (char device 0:0) hides the file in every lower layer. */
async function isWhiteout(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    return st.isCharacterDevice() && st.rdev === 0;
  } catch {
    return false;
  }
}

/**
 * The file's contents as the container will see them, or undefined when it
 * does not exist (or the rootfs layout is not one berth can read directly).
 * Symlinks are followed inside the rootfs, never on the host.
 */
export async function readRootfsFile(mounts: readonly Mount[], relPath: string, depth = 0): Promise<string | undefined> {
  const dirs = layerDirs(mounts);
  if (dirs === null || depth > 8) return undefined;
  const inside = posix.normalize(posix.join('/', relPath));
  for (const dir of dirs) {
    const p = join(dir, inside);
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw err;
    }
    if (await isWhiteout(p)) return undefined;
    if (st.isSymbolicLink()) {
      const target = await readlink(p);
      const next = target.startsWith('/') ? target : posix.join(posix.dirname(inside), target);
      return readRootfsFile(mounts, next, depth + 1);
    }
    if (!st.isFile()) return undefined;
    return readFile(p, 'utf8');
  }
  return undefined;
}
