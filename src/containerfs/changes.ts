// docker diff: the container's changes read from its overlay upper directory
// (whiteouts are deletions; a name the lower layers have is a change, else an
// addition), without the mount points the runtime created for its mounts.
import { lstat, opendir } from 'node:fs/promises';
import { join, posix } from 'node:path';

export const CHANGE_MODIFIED = 0;
export const CHANGE_ADDED = 1;
export const CHANGE_DELETED = 2;

export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** Whether `path` exists in a lower layer, never following a symlink on the host. */
async function inLowers(lowers: readonly string[], path: string): Promise<boolean> {
  const parts = path.split('/').filter(Boolean);
  for (const lower of lowers) {
    let p = lower;
    let found = true;
    for (let i = 0; i < parts.length; i++) {
      p = join(p, parts[i] as string);
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined || (i < parts.length - 1 && !st.isDirectory())) {
        found = false;
        break;
      }
      // a whiteout in a higher lower layer hides the rest
      if (st.isCharacterDevice() && Number(st.rdev) === 0) return false;
    }
    if (found) return true;
  }
  return false;
}

/**
 * Changes of an overlay rootfs, sorted by path. `hidden` are mount
 * destinations: they, what lies below them, and parents that changed only
 * because of them are left out (dockerd keeps them in an init layer).
 */
export async function overlayChanges(upper: string, lowers: readonly string[], hidden: readonly string[]): Promise<Change[]> {
  const out: Change[] = [];
  const hiddenSet = new Set(hidden);
  const isHidden = (p: string): boolean => {
    for (let q = p; q !== '/'; q = posix.dirname(q)) if (hiddenSet.has(q)) return true;
    return false;
  };
  // returns whether anything below was kept
  const walk = async (dir: string, rel: string): Promise<boolean> => {
    let kept = false;
    const handle = await opendir(dir).catch(() => undefined);
    if (handle === undefined) return false;
    for await (const e of handle) {
      const path = rel === '/' ? `/${e.name}` : `${rel}/${e.name}`;
      if (isHidden(path)) continue;
      const full = join(dir, e.name);
      const st = await lstat(full).catch(() => undefined);
      if (st === undefined) continue;
      if (st.isCharacterDevice() && Number(st.rdev) === 0) {
        out.push({ Path: path, Kind: CHANGE_DELETED });
        kept = true;
        continue;
      }
      const existed = await inLowers(lowers, path);
      if (st.isDirectory()) {
        const index = out.length;
        out.push({ Path: path, Kind: existed ? CHANGE_MODIFIED : CHANGE_ADDED });
        const below = await walk(full, path);
        const parentOfHidden = hidden.some((h) => h.startsWith(`${path}/`));
        if (!below && parentOfHidden) {
          out.splice(index, 1);
          continue;
        }
        kept = true;
        continue;
      }
      out.push({ Path: path, Kind: existed ? CHANGE_MODIFIED : CHANGE_ADDED });
      kept = true;
    }
    return kept;
  };
  await walk(upper, '/');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
