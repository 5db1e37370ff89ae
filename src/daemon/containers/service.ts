// The container service: the lifecycle of Docker containers on containerd.
// Each stage lives in its own file; this class ties them to one context.
import type { Readable } from 'node:stream';
import type { HijackedConnection } from '../io/index.js';
import { conflict, isKind } from '../../errors/index.js';
import { decodeShimOptions, RUNC_OPTIONS_TYPE, wrapperDir } from '../../runtimes/index.js';
import type { ExecTarget } from '../exec/index.js';
import { parseDetachKeys } from '../io/index.js';
import type { AttachOptions } from '../io/types.js';
import type { Container, WaitResult } from './container.js';
import { ServiceContext, type ContainerHooks } from './context.js';
import { createContainer, type CreateResult } from './create.js';
import { ExitMonitor } from './exit-monitor.js';
import { handleInitExit, type ExitReport } from './exit.js';
import { compileFilters, type ListNetView, type ListOptions } from './filters.js';
import { removeContainer, type RemoveOptions } from './remove.js';
import { restoreContainers, shutdownContainers, type ShutdownOptions } from './restore.js';
import { startContainer } from './start.js';
import { killContainer, pauseContainer, stopContainer, unpauseContainer, type StopOptions } from './stop.js';
import { attachContainer, containerLogs, waitFor, type LogsOptions, type WaitCondition } from './streams.js';
import { renameContainer, pruneContainers, type PruneResult } from './admin.js';
import { SNAPSHOTTER, type ContainerServiceDeps } from './types.js';
import { directorySize, upperDir, type FileTarget } from '../../containerfs/index.js';
import { defaultMounts } from '../../oci/index.js';
import { mountPointsOf } from './mounts.js';
import { readRootfsFile } from './rootfs-files.js';
import { resolveUser } from './user.js';
import { updateContainer, type UpdateResult } from './update.js';
import type { HealthcheckConfig, HealthTarget } from '../health/index.js';
import { timestampMs } from './status.js';
import { inspectView, listView, type ListEntry } from './views.js';
import { containerFacts, containerRef } from './network.js';
import type { ContainerRef } from '../../network/index.js';

export interface ContainerAttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  /** e.g. "ctrl-p,ctrl-q" */
  detachKeys?: string;
  /** stdcopy framing; !tty when absent (attach/ws never multiplexes) */
  multiplexed?: boolean;
}

export class ContainerService {
  private readonly ctx: ServiceContext;
  private readonly monitor: ExitMonitor;

  constructor(deps: ContainerServiceDeps) {
    this.ctx = new ServiceContext(deps);
    this.monitor = new ExitMonitor(this.ctx, (c, report) => void this.onExit(c, report));
    this.ctx.reportExit = (c, report) => this.onExit(c, report);
  }

  /** Hooks for services with per-container data (exec ids for inspect, cleanup at removal). */
  setHooks(hooks: ContainerHooks): void {
    this.ctx.hooks = hooks;
  }

  /** Loads the records, reconciles them with containerd and starts watching exits. Call once at start-up. */
  async restore(): Promise<void> {
    await restoreContainers(this.ctx, this.ctx.deps.liveRestore ?? false, (c) => this.autoRemove(c));
    this.monitor.start();
  }

  async shutdown(opts: ShutdownOptions): Promise<void> {
    await shutdownContainers(this.ctx, opts);
    this.monitor.close();
  }

  private onExit(c: Container, report: ExitReport): Promise<void> {
    return handleInitExit(this.ctx, c, report, (x) => this.autoRemove(x)).catch((err: unknown) =>
      this.ctx.log.error({ err, container: c.id }, 'handling the exit of container %s failed', c.id),
    );
  }

  private autoRemove(c: Container): Promise<void> {
    return removeContainer(this.ctx, c, { force: true, volumes: true });
  }

  /** A container by full id, name (with or without `/`) or unique id prefix; 404 otherwise. */
  get(ref: string): Container {
    return this.ctx.registry.get(ref);
  }

  getExecTarget(ref: string): ExecTarget {
    return this.get(ref);
  }

  /** The container as the health monitor sees it; State.Health is persisted at each change. */
  healthTarget(ref: string): HealthTarget {
    const c = this.get(ref);
    const ctx = this.ctx;
    return {
      id: c.id,
      healthcheck: () => c.state.Config.Healthcheck as HealthcheckConfig | undefined,
      shell: () => c.state.Config.Shell,
      isRunning: () => c.isRunning(),
      isPaused: () => c.isPaused(),
      startedAtMs: () => timestampMs(c.state.State.StartedAt),
      getHealth: () => c.state.State.Health,
      setHealth: (h) => {
        if (h === undefined) delete c.state.State.Health;
        else c.state.State.Health = h;
        void ctx.persistQuietly(c);
      },
      publish: (action) => c.publish(action),
    };
  }

  /** Ids of the running containers. */
  runningIds(): string[] {
    return this.ctx.registry.all().filter((c) => c.isRunning()).map((c) => c.id);
  }

  /** docker update: resources and restart policy, live and persisted. */
  update(ref: string, body: unknown): Promise<UpdateResult> {
    return updateContainer(this.ctx, this.get(ref), body);
  }

  create(body: unknown, name?: string): Promise<CreateResult> {
    return createContainer(this.ctx, body, name);
  }

  /**
   * The caller removes the container once it has exited (a build step):
   * waiters hear of the exit without waiting for its network to come down,
   * as for --rm; the removal still waits for it.
   */
  removesAfterExit(ref: string): void {
    this.get(ref).goesAfterExit = true;
  }

  async start(ref: string): Promise<void> {
    const c = this.get(ref);
    try {
      await startContainer(this.ctx, c, true);
    } catch (err) {
      // dockerd removes a --rm container whose start failed.
      if (c.state.HostConfig.AutoRemove && !c.isRunning() && !isKind(err, 'not-modified')) {
        await this.autoRemove(c).catch(() => undefined);
      }
      throw err;
    }
  }

  stop(ref: string, opts: StopOptions = {}): Promise<void> {
    return stopContainer(this.ctx, this.get(ref), opts);
  }

  kill(ref: string, signal = ''): Promise<void> {
    return killContainer(this.ctx, this.get(ref), ref, signal);
  }

  async restart(ref: string, opts: StopOptions = {}): Promise<void> {
    const c = this.get(ref);
    c.restarting = true;
    try {
      if (c.isRunning()) await stopContainer(this.ctx, c, opts);
      await startContainer(this.ctx, c, true);
    } finally {
      c.restarting = false;
    }
    c.publish('restart');
  }

  pause(ref: string): Promise<void> {
    return pauseContainer(this.ctx, this.get(ref));
  }

  unpause(ref: string): Promise<void> {
    return unpauseContainer(this.ctx, this.get(ref));
  }

  remove(ref: string, opts: RemoveOptions = {}): Promise<void> {
    return removeContainer(this.ctx, this.get(ref), opts);
  }

  rename(ref: string, newName: string): Promise<void> {
    return renameContainer(this.ctx, this.get(ref), newName);
  }

  prune(filters: ListOptions['filters']): Promise<PruneResult> {
    return pruneContainers(this.ctx, filters, async (c) => {
      const size = await this.sizeRw(c.id);
      await removeContainer(this.ctx, c, {});
      return size;
    });
  }

  /**
   * Validates now (404, bad condition) and returns the pending result, so a
   * route can answer 200 at once and send the body at the exit.
   */
  wait(ref: string, condition: WaitCondition): { result: Promise<WaitResult> } {
    return { result: waitFor(this.get(ref), condition) };
  }

  /** Whether the container has a TTY (raw output) — decides the attach and logs framing. */
  ttyOf(ref: string): boolean {
    return this.get(ref).state.Config.Tty;
  }

  attach(ref: string, conn: HijackedConnection, opts: ContainerAttachOptions): Promise<void> {
    const c = this.get(ref);
    const { detachKeys, ...rest } = opts;
    const io: AttachOptions = { ...rest, onDetach: () => c.publish('detach') };
    if (detachKeys !== undefined && detachKeys !== '') io.detachKeys = parseDetachKeys(detachKeys);
    return attachContainer(this.ctx, c, conn, io);
  }

  /** Checks the container now; the returned stream carries the log. */
  logs(ref: string, opts: LogsOptions): { tty: boolean; stream: Readable } {
    const c = this.get(ref);
    return { tty: c.state.Config.Tty, stream: containerLogs(this.ctx, c, opts) };
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.get(ref);
    if (!c.isRunning()) throw conflict(`Container ${c.id} is not running`);
    await this.ctx.client.tasks.resizePty(c.id, width, height);
    c.publish('resize', { height: String(height), width: String(width) });
  }

  inspect(ref: string): Record<string, unknown> {
    const c = this.get(ref);
    return inspectView(c, this.ctx.hooks.execIds?.(c.id) ?? null, this.ctx.deps.network?.settingsView(containerFacts(c), c.isRunning()));
  }

  list(opts: ListOptions): ListEntry[] {
    // Each container's networking view is built once, for the filters and the entry.
    const views = new Map<Container, ListNetView | undefined>();
    const netOf = (c: Container): ListNetView | undefined => {
      if (!views.has(c)) views.set(c, this.ctx.deps.network?.listView(containerFacts(c), c.isRunning()));
      return views.get(c);
    };
    const filter = compileFilters(opts.filters, (r) => this.get(r), netOf);
    const all = opts.all || filter.forceAll || opts.limit > 0;
    const now = Date.now();
    const out: ListEntry[] = [];
    const sorted = this.ctx.registry.all().sort((a, b) => (a.state.Created < b.state.Created ? 1 : -1));
    for (const c of sorted) {
      if (c.removed) continue;
      if (!all && !c.isRunning()) continue;
      if (!filter.test(c)) continue;
      out.push(listView(c, now, netOf(c)));
      if (opts.limit > 0 && out.length >= opts.limit) break;
    }
    return out;
  }

  /** The containers using an image (for rmi and image prune). */
  imageUsers(imageId: string): Array<{ id: string; running: boolean }> {
    return this.ctx.registry
      .all()
      .filter((c) => c.state.Image === imageId && !c.removed)
      .map((c) => ({ id: c.id, running: c.isRunning() }));
  }

  isImageInUse(imageId: string): { running: string[]; stopped: string[] } {
    const users = this.imageUsers(imageId);
    return { running: users.filter((u) => u.running).map((u) => u.id), stopped: users.filter((u) => !u.running).map((u) => u.id) };
  }

  /**
   * Wrapper scripts (SPEC §2) that running containers were started with:
   * the BinaryName of their locked-in runc options when it lies in
   * <data-root>/runtimes/. Call after restore().
   */
  referencedWrapperPaths(): Set<string> {
    const dir = wrapperDir(this.ctx.deps.dataRoot) + '/';
    const paths = new Set<string>();
    for (const c of this.ctx.registry.all()) {
      const opts = c.state.Runtime?.options;
      if (!c.isRunning() || opts === undefined || opts.typeUrl !== RUNC_OPTIONS_TYPE) continue;
      try {
        const decoded = decodeShimOptions({ typeUrl: opts.typeUrl, value: Buffer.from(opts.value, 'base64') });
        const binary = decoded.binary_name ?? decoded.binaryName;
        if (typeof binary === 'string' && binary.startsWith(dir)) paths.add(binary);
      } catch (err) {
        this.ctx.log.warn({ err, container: c.id }, 'cannot read the runtime options of container %s', c.id);
      }
    }
    return paths;
  }

  /** A container as the network routes see it (connect, disconnect, container: mode). */
  networkRef(ref: string): ContainerRef {
    const c = this.get(ref);
    return containerRef(c, this.ctx.store.dir(c.id));
  }

  /** Ids of running and of all containers, for the network module's start-up reconciliation. Call after restore(). */
  networkIds(): { running: Set<string>; known: Set<string> } {
    const all = this.ctx.registry.all().filter((c) => !c.removed);
    return { running: new Set(all.filter((c) => c.isRunning()).map((c) => c.id)), known: new Set(all.map((c) => c.id)) };
  }

  /** What docker cp, export and diff need of a container (src/containerfs). */
  fileTarget(ref: string): FileTarget {
    const c = this.get(ref);
    const s = c.state;
    const rootfsMounts = (): ReturnType<FileTarget['rootfsMounts']> => this.ctx.client.snapshots.mounts(SNAPSHOTTER, c.id);
    return {
      id: c.id,
      name: s.Name,
      pid: c.isRunning() ? s.State.Pid : 0,
      readonlyRootfs: s.HostConfig.ReadonlyRootfs,
      mounts: mountPointsOf(s),
      runtimeMounts: [...defaultMounts(s.HostConfig.ShmSize, true).map((m) => m.destination), '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'],
      rootfsMounts,
      owner: async () => {
        const mounts = await rootfsMounts();
        const [passwd, group] = await Promise.all([readRootfsFile(mounts, '/etc/passwd'), readRootfsFile(mounts, '/etc/group')]);
        const files: { passwd?: string; group?: string } = {};
        if (passwd !== undefined) files.passwd = passwd;
        if (group !== undefined) files.group = group;
        const u = resolveUser(s.Config.User, files);
        return { uid: u.uid, gid: u.gid };
      },
      publish: (action, attrs) => c.publish(action, attrs),
    };
  }

  /** Bytes the container wrote to its rootfs (its snapshot's upper directory). */
  async sizeRw(ref: string): Promise<number> {
    const c = this.get(ref);
    const mounts = await this.ctx.client.snapshots.mounts(SNAPSHOTTER, c.id).catch(() => []);
    const upper = upperDir(mounts);
    return upper === undefined ? 0 : directorySize(upper);
  }

  /** SizeRw and SizeRootFs of inspect and ps with size=1: the rootfs changes, plus the image's unpacked size. */
  async sizes(ref: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const c = this.get(ref);
    const [rw, image] = await Promise.all([this.sizeRw(c.id), this.ctx.deps.images.unpackedSize?.(c.state.Image).catch(() => 0) ?? 0]);
    return { SizeRw: rw, SizeRootFs: rw + image };
  }

  /** List entries with their sizes (ps --size), computed side by side. */
  async withSizes(entries: ListEntry[]): Promise<ListEntry[]> {
    await Promise.all(entries.map(async (e) => Object.assign(e, await this.sizes(e.Id).catch(() => ({ SizeRw: 0, SizeRootFs: 0 })))));
    return entries;
  }

  /** Volume name → ids of the containers (running or not) whose mounts name it. */
  volumeUsers(): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const c of this.ctx.registry.all()) {
      if (c.removed) continue;
      for (const p of c.state.MountPoints ?? []) {
        if (p.Type !== 'volume' || p.Name === '') continue;
        const ids = users.get(p.Name) ?? [];
        if (!ids.includes(c.id)) ids.push(c.id);
        users.set(p.Name, ids);
      }
    }
    return users;
  }

  /** Number of containers in each state, for `docker info`. */
  counts(): { total: number; running: number; paused: number; stopped: number } {
    let running = 0;
    let paused = 0;
    const all = this.ctx.registry.all();
    for (const c of all) {
      if (c.isPaused()) paused++;
      else if (c.isRunning()) running++;
    }
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }
}

