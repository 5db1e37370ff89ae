// Volumes of the local driver under <data-root>/volumes/<name>/_data, their
// metadata next to it (volume.json), and what containers do with them:
// attach at create (names, creation, copy-up), mount options at start,
// release at removal. A volume is in use while any container record (running
// or not) names it, or while a create that named it is in flight.
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../atomicfile/index.js';
import { ContainerRoot, directorySize, mayExistInLayers, withMountedSnapshot, type SnapshotMount } from '../containerfs/index.js';
import { conflict, internal, invalidParameter, isKind, notFound } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import { labelsSelect } from '../filters/index.js';
import type { Logger } from '../log/index.js';
import { anonymousVolumeName, localMountArgs, validateLocalOptions, validateVolumeName } from './names.js';
import { ANONYMOUS_LABEL, LOCAL_DRIVER, type CreateVolumeOptions, type MountPoint, type VolumeView } from './types.js';

const run = promisify(execFile);

interface VolumeRecord {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  CreatedAt: string;
}

export interface VolumeServiceOptions {
  dataRoot: string;
  events: EventBus;
  logger: Logger;
}

export type Filters = Map<string, string[]>;

const LIST_FILTERS = new Set(['dangling', 'name', 'driver', 'label']);
const PRUNE_FILTERS = new Set(['label', 'label!', 'all']);

function truthy(v: string): boolean {
  const s = v.toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw invalidParameter(`invalid filter 'dangling=${v}'`);
}

/** RFC 3339 without fractions, as dockerd shows volume times. */
const nowRfc3339 = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class VolumeService {
  private readonly root: string;
  private readonly volumes = new Map<string, VolumeRecord>();
  /** volumes named by creates still in flight, by container id */
  private readonly holds = new Map<string, Set<string>>();
  /** volumes with mount options that are mounted now */
  private readonly mounted = new Set<string>();
  private users: () => Map<string, string[]> = () => new Map();

  constructor(private readonly opts: VolumeServiceOptions) {
    this.root = join(opts.dataRoot, 'volumes');
  }

  /** Who uses which volume: derived from the container records (set by the daemon). */
  setUsers(users: () => Map<string, string[]>): void {
    this.users = users;
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(this.root)) {
      if (name.startsWith('.removing-')) {
        if (!(await isMountpoint(join(this.root, name, '_data')))) await rm(join(this.root, name), { recursive: true, force: true }).catch(() => undefined);
        continue;
      }
      try {
        const rec = JSON.parse(await readFile(join(this.root, name, 'volume.json'), 'utf8')) as VolumeRecord;
        if (rec.Name === name) this.volumes.set(name, rec);
      } catch {
        // Not one of ours (or half-created): a directory with _data still counts.
        const st = await stat(join(this.root, name, '_data')).catch(() => undefined);
        if (st?.isDirectory()) this.volumes.set(name, { Name: name, Driver: LOCAL_DRIVER, Labels: null, Options: null, CreatedAt: st.birthtime.toISOString().replace(/\.\d+Z$/, 'Z') });
      }
    }
  }

  mountpoint(name: string): string {
    return join(this.root, name, '_data');
  }

  private view(rec: VolumeRecord): VolumeView {
    return {
      CreatedAt: rec.CreatedAt,
      Driver: rec.Driver,
      Labels: rec.Labels,
      Mountpoint: this.mountpoint(rec.Name),
      Name: rec.Name,
      Options: rec.Options,
      Scope: 'local',
    };
  }

  private record(name: string): VolumeRecord {
    const rec = this.volumes.get(name);
    if (rec === undefined) throw notFound(`get ${name}: no such volume`);
    return rec;
  }

  private refs(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [name, ids] of this.users()) out.set(name, new Set(ids));
    for (const [id, names] of this.holds) {
      for (const n of names) {
        const s = out.get(n) ?? new Set<string>();
        s.add(id);
        out.set(n, s);
      }
    }
    return out;
  }

  async create(opts: CreateVolumeOptions): Promise<VolumeView> {
    const driver = opts.Driver === undefined || opts.Driver === '' ? LOCAL_DRIVER : opts.Driver;
    const anonymous = opts.Name === undefined || opts.Name === '';
    const name = anonymous ? anonymousVolumeName() : (opts.Name as string);
    validateVolumeName(name);
    const existing = this.volumes.get(name);
    if (existing !== undefined) {
      if (existing.Driver !== driver) throw conflict(`create ${name}: volume name must be unique`);
      return this.view(existing);
    }
    if (driver !== LOCAL_DRIVER) throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const options = opts.DriverOpts !== undefined && Object.keys(opts.DriverOpts).length > 0 ? { ...opts.DriverOpts } : null;
    if (options !== null) validateLocalOptions(options);
    const labels = opts.Labels !== undefined && Object.keys(opts.Labels).length > 0 ? { ...opts.Labels } : anonymous ? {} : null;
    if (anonymous && labels !== null) labels[ANONYMOUS_LABEL] = '';
    const rec: VolumeRecord = { Name: name, Driver: driver, Labels: labels, Options: options, CreatedAt: nowRfc3339() };
    const dir = join(this.root, name);
    await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
    await writeFileAtomic(join(dir, 'volume.json'), JSON.stringify(rec), { mode: 0o600 });
    this.volumes.set(name, rec);
    this.opts.events.publish('volume', 'create', name, { driver });
    return this.view(rec);
  }

  inspect(name: string): VolumeView {
    return this.view(this.record(name));
  }

  list(filters: Filters): { Volumes: VolumeView[]; Warnings: null } {
    for (const key of filters.keys()) if (!LIST_FILTERS.has(key)) throw invalidParameter(`invalid filter '${key}'`);
    const refs = this.refs();
    const dangling = filters.get('dangling')?.map(truthy);
    const names = filters.get('name') ?? [];
    const drivers = filters.get('driver') ?? [];
    const labels = filters.get('label') ?? [];
    const out: VolumeView[] = [];
    for (const rec of [...this.volumes.values()].sort((a, b) => (a.Name < b.Name ? -1 : 1))) {
      if (dangling !== undefined && !dangling.includes(!refs.has(rec.Name))) continue;
      if (names.length > 0 && !names.some((n) => rec.Name.includes(n))) continue;
      if (drivers.length > 0 && !drivers.includes(rec.Driver)) continue;
      if (!labelsSelect(rec.Labels, labels)) continue;
      out.push(this.view(rec));
    }
    return { Volumes: out, Warnings: null };
  }

  /** DELETE /volumes/{name}: 409 naming the containers while any refers to it. */
  async remove(name: string, force = false): Promise<void> {
    const rec = this.volumes.get(name);
    if (rec === undefined) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.refs().get(name);
    if (users !== undefined && users.size > 0) throw conflict(`remove ${name}: volume is in use - [${[...users].join(', ')}]`);
    await this.destroy(rec);
  }

  private async destroy(rec: VolumeRecord): Promise<number> {
    const dir = join(this.root, rec.Name);
    await this.unmount(rec.Name);
    // Never remove files through a mount that is still there (a bind volume's host directory).
    if (await isMountpoint(join(dir, '_data'))) throw conflict(`remove ${rec.Name}: the volume is still mounted at ${join(dir, '_data')}`);
    const size = rec.Options === null ? await directorySize(join(dir, '_data')) : 0;
    // Renamed first so that a crash half-way never leaves a half volume that looks whole.
    const doomed = join(this.root, `.removing-${rec.Name}`);
    await rename(dir, doomed);
    this.volumes.delete(rec.Name);
    await rm(doomed, { recursive: true, force: true });
    this.opts.events.publish('volume', 'destroy', rec.Name, { driver: rec.Driver });
    return size;
  }

  /** POST /volumes/prune: unused volumes; from API 1.42 anonymous ones only unless all=true. */
  async prune(filters: Filters, apiVersionAtLeast142: boolean): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    for (const key of filters.keys()) if (!PRUNE_FILTERS.has(key)) throw invalidParameter(`invalid filter '${key}'`);
    const all = !apiVersionAtLeast142 || (filters.get('all') ?? []).some((v) => truthy(v));
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const refs = this.refs();
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const rec of [...this.volumes.values()]) {
      if ((refs.get(rec.Name)?.size ?? 0) > 0) continue;
      if (!all && !(rec.Labels !== null && ANONYMOUS_LABEL in rec.Labels)) continue;
      if (!labelsSelect(rec.Labels, labels, notLabels)) continue;
      try {
        reclaimed += await this.destroy(rec);
        deleted.push(rec.Name);
      } catch (err) {
        this.opts.logger.warn({ err, volume: rec.Name }, 'prune could not remove volume %s', rec.Name);
      }
    }
    this.opts.events.publish('volume', 'prune', '', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** Volumes with their sizes and reference counts, for GET /system/df. */
  async usage(): Promise<VolumeView[]> {
    const refs = this.refs();
    const out: VolumeView[] = [];
    for (const rec of this.volumes.values()) {
      const size = rec.Options === null ? await directorySize(this.mountpoint(rec.Name)) : -1;
      out.push({ ...this.view(rec), UsageData: { Size: size, RefCount: refs.get(rec.Name)?.size ?? 0 } });
    }
    return out;
  }

  /**
   * At create: gives anonymous volumes their names, creates missing named
   * ones, fills in sources, and copies the image's content into empty
   * volumes. Holds the volumes for `containerId` until `settle` (the
   * container record then refers to them). Undone on failure.
   */
  async attach(containerId: string, points: MountPoint[], rootfs: readonly SnapshotMount[], tmpRoot: string): Promise<void> {
    const held = new Set<string>();
    this.holds.set(containerId, held);
    const created: string[] = [];
    try {
      for (const p of points) {
        if (p.Type === 'bind') {
          if (p.CreateSource !== true) {
            const exists = await lstat(p.Source).then(() => true, () => false);
            if (!exists) throw invalidParameter(`invalid mount config for type "bind": bind source path does not exist: ${p.Source}`);
          }
          continue;
        }
        if (p.Type !== 'volume') continue;
        if (p.Driver !== LOCAL_DRIVER) throw notFound(`error looking up volume plugin ${p.Driver}: plugin "${p.Driver}" not found`);
        if (p.Name === '') p.Name = anonymousVolumeName();
        const fresh = !this.volumes.has(p.Name);
        held.add(p.Name);
        const createOpts: CreateVolumeOptions = { Name: p.Name };
        if (p.DriverOpts !== undefined) createOpts.DriverOpts = p.DriverOpts;
        const labels = { ...(p.Labels ?? {}) };
        if (p.Anonymous) labels[ANONYMOUS_LABEL] = '';
        if (Object.keys(labels).length > 0) createOpts.Labels = labels;
        await this.create(createOpts);
        if (fresh) created.push(p.Name);
        p.Source = this.mountpoint(p.Name);
        if (p.Subpath !== undefined) {
          const st = await lstat(join(p.Source, p.Subpath)).catch(() => undefined);
          if (st === undefined) throw invalidParameter(`cannot access path ${join(p.Source, p.Subpath)}: no such file or directory`);
        }
      }
      const copies = points.filter((p) => p.Type === 'volume' && p.CopyData && p.Subpath === undefined);
      if (copies.length > 0) await this.copyUp(copies, rootfs, tmpRoot);
    } catch (err) {
      this.holds.delete(containerId);
      for (const name of created) {
        const rec = this.volumes.get(name);
        if (rec !== undefined) await this.destroy(rec).catch(() => undefined);
      }
      throw err;
    }
  }

  /** The container record now refers to its volumes: drop the create's hold. */
  settle(containerId: string): void {
    this.holds.delete(containerId);
  }

  private async copyUp(points: MountPoint[], rootfs: readonly SnapshotMount[], tmpRoot: string): Promise<void> {
    const todo: MountPoint[] = [];
    for (const p of points) {
      const rec = this.volumes.get(p.Name);
      if (rec === undefined) continue;
      await this.ensureMounted(p.Name);
      if ((await readdir(p.Source)).length > 0) continue;
      if (await mayExistInLayers(rootfs, p.Destination)) todo.push(p);
    }
    if (todo.length === 0) return;
    await withMountedSnapshot(tmpRoot, rootfs, [], async (dir) => {
      const root = await ContainerRoot.open(dir, 'rootfs');
      try {
        for (const p of todo) await copyInto(root, dir, p);
      } finally {
        await root.close();
      }
    });
  }

  /** Before a start: volumes with mount options get mounted, missing `-v` bind sources created. */
  async prepareStart(points: readonly MountPoint[]): Promise<void> {
    for (const p of points) {
      if (p.Type === 'volume') {
        if (!this.volumes.has(p.Name)) {
          // Removed by hand while the container was stopped: bring it back empty, as dockerd does.
          await this.create({ Name: p.Name });
        }
        await this.ensureMounted(p.Name);
      } else if (p.Type === 'bind' && p.CreateSource === true) {
        await mkdir(p.Source, { recursive: true, mode: 0o755 });
      }
    }
  }

  private async ensureMounted(name: string): Promise<void> {
    const rec = this.volumes.get(name);
    if (rec === undefined || this.mounted.has(name)) return;
    const args = localMountArgs(rec.Options, this.mountpoint(name));
    if (args === undefined) return;
    // Still mounted from before a restart of berthd?
    if (await isMountpoint(this.mountpoint(name))) {
      this.mounted.add(name);
      return;
    }
    try {
      await run('mount', args);
    } catch (err) {
      throw internal(`error while mounting volume '${this.mountpoint(name)}': ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`, err);
    }
    this.mounted.add(name);
  }

  private async unmount(name: string): Promise<void> {
    const rec = this.volumes.get(name);
    if (rec?.Options === null || rec === undefined) return;
    await run('umount', [this.mountpoint(name)]).catch(() => undefined);
    this.mounted.delete(name);
  }

  /**
   * A container is gone: with `removeAnonymous` (rm -v, --rm) its anonymous
   * volumes go too unless another container still uses them.
   */
  async release(containerId: string, points: readonly MountPoint[], removeAnonymous: boolean): Promise<void> {
    this.holds.delete(containerId);
    if (!removeAnonymous) return;
    const refs = this.refs();
    const errors: string[] = [];
    for (const p of points) {
      if (p.Type !== 'volume' || !p.Anonymous) continue;
      const rec = this.volumes.get(p.Name);
      if (rec === undefined) continue;
      const users = refs.get(p.Name);
      if (users !== undefined && [...users].some((u) => u !== containerId)) continue;
      await this.destroy(rec).catch((err: unknown) => errors.push(String((err as Error).message ?? err)));
    }
    if (errors.length > 0) throw internal(`Error removing volumes:\n${errors.join('\n')}`);
  }

  /** Unmounts option volumes no running container needs (berthd stops). */
  async shutdown(): Promise<void> {
    for (const name of [...this.mounted]) await this.unmount(name);
  }
}

/** Whether something is mounted on `dir` (binds on the same file system included), from /proc/self/mountinfo. */
async function isMountpoint(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const unescape = (p: string): string => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info.split('\n').some((line) => unescape(line.split(' ')[4] ?? '') === dir);
}

/** Copies the image's tree at p.Destination into the (empty) volume, with owners, modes and xattrs. */
async function copyInto(root: ContainerRoot, rootDir: string, p: MountPoint): Promise<void> {
  let r;
  try {
    r = await root.resolve(p.Destination, { followFinal: true });
  } catch (err) {
    if (isKind(err, 'not-found')) return;
    throw err;
  }
  try {
    if (r.stat === undefined) return;
    if (!r.stat.isDirectory()) throw invalidParameter(`cannot mount volume over existing file, file exists ${join(rootDir, r.path)}`);
  } finally {
    await r.parent.close();
  }
  // The image is not running: nothing can swap the path resolved above.
  const src = join(rootDir, r.path);
  try {
    await run('cp', ['-a', '--', `${src}/.`, `${p.Source}/`]);
  } catch (err) {
    throw internal(`copying the image's content of ${p.Destination} into volume ${p.Name} failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`, err);
  }
  await chown(p.Source, r.stat.uid, r.stat.gid);
  await chmod(p.Source, r.stat.mode & 0o7777);
}
