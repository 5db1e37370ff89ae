// The directories of an overlayfs rootfs (upper first, then the lowers, top
// to bottom), read from containerd's mount options, and questions answered
// from them without mounting.
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMount } from './mount.js';

/** Directories to search, most significant first; null when the layout is unknown. */
export function layerDirs(mounts: readonly SnapshotMount[]): string[] | null {
  if (mounts.length !== 1) return null;
  const m = mounts[0] as SnapshotMount;
  if (m.type === 'bind' || m.type === 'rbind') return [m.source];
  if (m.type !== 'overlay') return null;
  const dirs: string[] = [];
  const opt = (name: string): string | undefined => m.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const upper = opt('upperdir');
  if (upper !== undefined) dirs.push(upper);
  const lower = opt('lowerdir');
  if (lower !== undefined) dirs.push(...lower.split(':').filter(Boolean));
  return dirs;
}

/** The upper (writable) directory of an overlay rootfs; undefined for other layouts. */
export function upperDir(mounts: readonly SnapshotMount[]): string | undefined {
  const m = mounts.length === 1 ? mounts[0] : undefined;
  if (m?.type !== 'overlay') return undefined;
  return m.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
}

/**
 * Whether `path` may exist in the rootfs: false only when no layer has any
 * part of it and no component on the way is a symlink (which only a mounted
 * view can follow). Saves a mount when an image has nothing to copy up.
 */
export async function mayExistInLayers(mounts: readonly SnapshotMount[], path: string): Promise<boolean> {
  const dirs = layerDirs(mounts);
  if (dirs === null) return true;
  const parts = path.split('/').filter(Boolean);
  for (const dir of dirs) {
    let p = dir;
    for (const part of parts) {
      p = join(p, part);
      try {
        const st = await lstat(p);
        if (st.isSymbolicLink()) return true;
        if (!st.isDirectory()) return true;
      } catch {
        p = '';
        break;
      }
    }
    if (p !== '') return true;
  }
  return false;
}

/** Bytes of regular files under `dir` (each inode once), as dockerd sizes volumes and layers. */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(d);
    } catch {
      return;
    }
    for await (const e of handle) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined) continue;
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  await walk(dir);
  return total;
}
