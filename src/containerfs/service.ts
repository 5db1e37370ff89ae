// The container file operations behind docker cp, export and diff. A running
// container is reached through /proc/PID/root (its own mount namespace, with
// its volumes); a stopped one has its snapshot and volumes mounted on a
// private temporary directory for the time of the operation.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { invalidParameter, isKind } from '../errors/index.js';
import { extractTo, statPath, tarPath, type PathStat } from './archive.js';
import { overlayChanges, type Change } from './changes.js';
import { layerDirs, upperDir } from './layers.js';
import { unmountAll, withMountedSnapshot, type ExtraBind, type SnapshotMount } from './mount.js';
import { ContainerRoot } from './resolve.js';

/** A mount of the container as the file operations need it. */
export interface TargetMount {
  Type: string;
  Source: string;
  Destination: string;
  RW: boolean;
}

/** What the file operations need to know about a container. */
export interface FileTarget {
  id: string;
  /** as errors name it */
  name: string;
  /** pid of the init process while running, else 0 */
  pid: number;
  readonlyRootfs: boolean;
  mounts: readonly TargetMount[];
  /** mount destinations the runtime adds (proc, dev, /etc/hosts…): hidden from diff */
  runtimeMounts: readonly string[];
  rootfsMounts(): Promise<SnapshotMount[]>;
  /** the container's user (docker cp -a), resolved in its /etc/passwd and /etc/group */
  owner(): Promise<{ uid: number; gid: number }>;
  publish(action: string, attrs?: Record<string, string>): void;
}

export interface ArchiveRead {
  stat: PathStat;
  stream: Readable;
}

export interface PutOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

export class ContainerFiles {
  constructor(private readonly tmpRoot: string) {}

  /** At start-up: mounts and uploads a crash left behind. A mount directory is only ever rmdir'ed, never emptied. */
  async cleanup(): Promise<void> {
    const names = await readdir(this.tmpRoot).catch(() => [] as string[]);
    for (const n of names) {
      const p = join(this.tmpRoot, n);
      if (n.startsWith('rootfs-')) {
        await unmountAll(p);
        await rmdir(p).catch(() => undefined);
      } else if (n.startsWith('put-')) {
        await rm(p, { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }

  /** The volumes and binds of a stopped container, mounted over its root (ro ones read-only). */
  private binds(t: FileTarget): ExtraBind[] {
    return t.mounts
      .filter((m) => m.Type === 'volume' || m.Type === 'bind')
      .map((m) => ({
        source: m.Source,
        readOnly: !m.RW,
        target: async (dir: string) => {
          const root = await ContainerRoot.open(dir, t.name);
          try {
            const r = await root.resolve(m.Destination, { followFinal: true, allowMissing: true });
            // a mount point the runtime never made (the container never ran): nothing to mount on
            if (r.stat === undefined || r.name === '') {
              await r.parent.close();
              return undefined;
            }
            return { parent: r.parent, name: r.name };
          } catch (err) {
            if (isKind(err, 'not-found')) return undefined;
            throw err;
          } finally {
            await root.close();
          }
        },
      }));
  }

  /**
   * Runs `fn` on the container's root. `fn` may keep the root past its own
   * promise (a streaming read) by returning `hold`, which settles when done.
   */
  private async withRoot<T>(t: FileTarget, withBinds: boolean, fn: (root: ContainerRoot) => Promise<{ value: T; hold?: Promise<void> }>): Promise<T> {
    if (t.pid > 0) {
      const root = await ContainerRoot.open(`/proc/${t.pid}/root`, t.name);
      let held = false;
      try {
        const { value, hold } = await fn(root);
        if (hold !== undefined) {
          held = true;
          void hold.finally(() => root.close());
        }
        return value;
      } finally {
        if (!held) await root.close();
      }
    }
    const mounts = await t.rootfsMounts();
    const out = deferred<T>();
    const run = withMountedSnapshot(this.tmpRoot, mounts, withBinds ? this.binds(t) : [], async (dir) => {
      const root = await ContainerRoot.open(dir, t.name);
      try {
        const { value, hold } = await fn(root);
        out.resolve(value);
        await hold;
      } finally {
        await root.close();
      }
    });
    run.catch(out.reject);
    return out.promise;
  }

  async stat(t: FileTarget, path: string): Promise<PathStat> {
    if (path === '') throw invalidParameter('path cannot be empty');
    return this.withRoot(t, true, async (root) => ({ value: await statPath(root, path) }));
  }

  async get(t: FileTarget, path: string): Promise<ArchiveRead> {
    if (path === '') throw invalidParameter('path cannot be empty');
    const read = await this.withRoot(t, true, async (root) => {
      const done = deferred<void>();
      const r = await tarPath(root, path, {}, async () => done.resolve());
      r.stream.once('close', () => done.resolve());
      return { value: r, hold: done.promise };
    });
    t.publish('archive-path', { path });
    return read;
  }

  async put(t: FileTarget, path: string, body: Readable, opts: PutOptions): Promise<void> {
    if (path === '') throw invalidParameter('path cannot be empty');
    const owner = opts.copyUIDGID ? await t.owner() : undefined;
    await this.withRoot(t, true, async (root) => {
      const r = await root.resolve(path, { followFinal: true });
      await r.parent.close();
      checkWritable(t, r.path);
      const o = owner === undefined ? { noOverwriteDirNonDir: opts.noOverwriteDirNonDir } : { noOverwriteDirNonDir: opts.noOverwriteDirNonDir, owner };
      await extractTo(root, path, body, o);
      return { value: undefined };
    });
    t.publish('extract-to-dir', { path });
  }

  /** docker export: the merged rootfs without volumes, /proc or /sys. */
  async export(t: FileTarget): Promise<Readable> {
    const stream = await this.withRoot(t, false, async (root) => {
      const done = deferred<void>();
      const r = await tarPath(root, '/', { oneFileSystem: true, flat: true }, async () => done.resolve());
      r.stream.once('close', () => done.resolve());
      return { value: r.stream, hold: done.promise };
    });
    t.publish('export');
    return stream;
  }

  /** docker diff, from the snapshot's upper directory. */
  async changes(t: FileTarget): Promise<Change[]> {
    const mounts = await t.rootfsMounts();
    const upper = upperDir(mounts);
    const dirs = layerDirs(mounts);
    if (upper === undefined || dirs === null) return [];
    const hidden = [...t.runtimeMounts, ...t.mounts.map((m) => m.Destination)];
    return overlayChanges(upper, dirs.slice(1), hidden);
  }
}

/** dockerd's rule: the rootfs may be read-only, a volume or bind may be read-only. */
function checkWritable(t: FileTarget, resolved: string): void {
  let best: TargetMount | undefined;
  for (const m of t.mounts) {
    if (resolved === m.Destination || resolved.startsWith(m.Destination === '/' ? '/' : `${m.Destination}/`)) {
      if (best === undefined || m.Destination.length > best.Destination.length) best = m;
    }
  }
  if (best === undefined) {
    if (t.readonlyRootfs) throw invalidParameter('container rootfs is marked read-only');
    return;
  }
  if (!best.RW) throw invalidParameter('mounted volume is marked read-only');
}
