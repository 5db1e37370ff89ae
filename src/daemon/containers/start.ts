// POST /containers/{id}/start: resolve the runtime against the snapshot this
// start captured, build the spec, hand both to containerd, wire the I/O and
// start the task; then lock the runtime in (SPEC §1.3).
import { initLogOptions } from './logging.js';
import { existsSync } from 'node:fs';
import { OCI_SPEC_TYPE_URL, jsonAny, type CreateTaskRequest, type Mount, type RuntimeInfo } from '../../containerd/index.js';
import type { Snapshot } from '../../config/types.js';
import { BerthError, conflict, internal, invalidParameter, isKind, messageOf, notModified } from '../../errors/index.js';
import { resolveRuntime, type ShimConfig } from '../../runtimes/index.js';
import { hostSecurityFacts, securityDefaults } from '../../security/index.js';
import { startErrorExitCode } from '../exec/index.js';
import type { ProcessIO } from '../io/types.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { etcPaths, writeEtcFiles } from './etc-files.js';
import { readRootfsFile } from './rootfs-files.js';
import { buildSpec, type OciSpec } from './spec.js';
import { nowTimestamp } from './status.js';
import { SNAPSHOTTER, type LockedRuntime } from './types.js';
import { resolveUser } from './user.js';
import { containerFacts, resolveHostGateway } from './network.js';
import { mountPointsOf, publishVolumeEvents } from './mounts.js';
import { joinNamespaces, mountShareableShm, releaseShareableShm } from './namespaces.js';

// cgroup.controllers exists only at the root of a unified (v2) hierarchy.
const CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

async function rootfsMounts(ctx: ServiceContext, c: Container): Promise<Mount[]> {
  try {
    return await ctx.client.snapshots.mounts(SNAPSHOTTER, c.id);
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
    // Lost (e.g. removed by hand): start again from the image.
    ctx.log.warn({ container: c.id }, 'rootfs snapshot of container %s is missing; preparing a fresh one', c.id);
    return ctx.deps.images.prepareRootfs(c.id, c.state.ImageChainId);
  }
}

/**
 * The spec of this start, and the sandbox's completion: its promise settles
 * once every network endpoint is made and /etc/hosts names the container's
 * address (the plugins run while the task is created; it starts after).
 */
async function buildContainerSpec(ctx: ServiceContext, c: Container, mounts: Mount[], snapshot: Snapshot): Promise<{ spec: OciSpec; networkReady: Promise<void> }> {
  const s = c.state;
  const [passwd, group] = await Promise.all([readRootfsFile(mounts, '/etc/passwd'), readRootfsFile(mounts, '/etc/group')]);
  const files: { passwd?: string; group?: string } = {};
  if (passwd !== undefined) files.passwd = passwd;
  if (group !== undefined) files.group = group;
  const user = resolveUser(s.Config.User, files, s.HostConfig.GroupAdd ?? []);
  let etc = etcPaths(ctx.store.dir(c.id));
  const joined = joinNamespaces(s.HostConfig, (ref) => ctx.registry.find(ref));
  if (s.HostConfig.IpcMode === 'shareable') joined.shmSource = await mountShareableShm(c);
  const net = ctx.deps.network;
  const sandbox = net === undefined ? undefined : await net.setUp(containerFacts(c));
  let networkReady: Promise<void> = Promise.resolve();
  if (sandbox?.joinedEtc !== undefined) {
    etc = sandbox.joinedEtc;
    if (sandbox.joinedNames !== undefined) {
      s.Config.Hostname = sandbox.joinedNames.hostname;
      s.Config.Domainname = sandbox.joinedNames.domainname;
    }
    networkReady = sandbox.ready.then(() => undefined);
  } else {
    const extraHosts = net === undefined ? undefined : resolveHostGateway(s.HostConfig.ExtraHosts ?? [], net.hostGateway());
    const paths = etc;
    const write = (hostsLines: string[]): Promise<void> =>
      writeEtcFiles(paths, s.Config, s.HostConfig, ctx.deps.hostFiles, { hostsLines, ...(extraHosts !== undefined ? { extraHosts } : {}), ...(sandbox?.nameservers !== undefined ? { nameservers: sandbox.nameservers } : {}) });
    // The files exist for the task's bind mounts now; /etc/hosts gets the
    // address once the plugins gave it (written in place, so the mount sees it).
    await write([]);
    if (sandbox !== undefined) networkReady = sandbox.ready.then((lines) => (lines.length > 0 ? write(lines) : undefined));
  }
  networkReady.catch(() => undefined);
  const mountPoints = mountPointsOf(s);
  await ctx.deps.volumes?.prepareStart(mountPoints);
  publishVolumeEvents(ctx, c.id, mountPoints, 'mount');
  const spec = buildSpec({
    id: c.id,
    namespace: ctx.deps.namespace,
    config: s.Config,
    hostConfig: s.HostConfig,
    path: s.Path,
    args: s.Args,
    user,
    etc,
    mountPoints,
    cgroupV2: CGROUP_V2,
    ...(sandbox?.netnsPath !== undefined ? { netnsPath: sandbox.netnsPath } : {}),
    joined,
    security: { defaults: securityDefaults(snapshot.config), facts: hostSecurityFacts() },
  });
  return { spec, networkReady };
}

/** The containerd record with this start's runtime and spec; recreated when the shim changed (its runtime is immutable). */
async function upsertRecord(ctx: ServiceContext, c: Container, shim: ShimConfig, spec: OciSpec): Promise<void> {
  const record = {
    id: c.id,
    labels: c.state.Config.Labels,
    image: c.state.ImageName,
    runtime: shim.options === undefined ? { name: shim.shim } : { name: shim.shim, options: shim.options },
    spec: jsonAny(OCI_SPEC_TYPE_URL, spec),
    snapshotter: SNAPSHOTTER,
    snapshotKey: c.id,
  };
  // The runtime berth last wrote saves a round trip; after a restart of berthd it is asked for.
  let existing = c.recordRuntime;
  if (existing === undefined) {
    try {
      existing = (await ctx.client.containers.get(c.id)).runtime;
    } catch (err) {
      if (!isKind(err, 'not-found')) throw err;
    }
  }
  if (existing === undefined) {
    await ctx.client.containers.create(record);
    c.recordRuntime = record.runtime;
    return;
  }
  if (sameRuntime(existing, shim)) {
    try {
      await ctx.client.containers.update(record, ['spec', 'labels']);
    } catch (err) {
      // Gone behind berth's back: record it afresh.
      if (!isKind(err, 'not-found')) throw err;
      await ctx.client.containers.create(record);
    }
    c.recordRuntime = record.runtime;
    return;
  }
  // Between these two calls only the image service's lease protects the
  // rootfs snapshot from garbage collection; when it has expired and the
  // snapshot is collected, the next start prepares a fresh one.
  c.recordRuntime = undefined;
  await ctx.client.containers.delete(c.id).catch((err: unknown) => {
    if (!isKind(err, 'not-found')) throw err;
  });
  await ctx.client.containers.create(record);
  c.recordRuntime = record.runtime;
}

/** Creates the task; one left over from a run whose exit was never handled is deleted first. */
async function createTask(ctx: ServiceContext, req: CreateTaskRequest): Promise<void> {
  try {
    await ctx.client.tasks.create(req);
  } catch (err) {
    if (!isKind(err, 'conflict')) throw err;
    await ctx.client.tasks.delete(req.containerId).catch(() => undefined);
    await ctx.client.tasks.create(req);
  }
}

function sameRuntime(a: RuntimeInfo, b: ShimConfig): boolean {
  if (a.name !== b.shim) return false;
  const x = a.options;
  const y = b.options;
  if (x === undefined || y === undefined) return (x?.value.length ?? 0) === 0 && (y?.value.length ?? 0) === 0;
  return x.typeUrl === y.typeUrl && Buffer.compare(x.value, y.value) === 0;
}

function lockedRuntime(shim: ShimConfig): LockedRuntime {
  const locked: LockedRuntime = { shim: shim.shim };
  if (shim.options !== undefined) locked.options = { typeUrl: shim.options.typeUrl, value: shim.options.value.toString('base64') };
  return locked;
}

/** dockerd's mapping: a command that cannot be found or run is the caller's mistake (400), the rest is ours (500). */
function startError(err: unknown, exitCode: number): BerthError {
  if (err instanceof BerthError && err.kind !== 'internal') return err;
  const message = messageOf(err);
  return exitCode === 126 || exitCode === 127 ? invalidParameter(message, err) : internal(message, err);
}

async function runTask(ctx: ServiceContext, c: Container, snapshot: Snapshot): Promise<void> {
  const s = c.state;
  const shim = resolveRuntime(snapshot, s.HostConfig.Runtime);
  const mounts = await rootfsMounts(ctx, c);
  // A start that fails after the sandbox was made leaves no namespace, endpoint or port behind.
  const undoNetwork = async (err: unknown): Promise<never> => {
    await Promise.all([ctx.deps.network?.tearDown(c.id).catch(() => undefined), releaseShareableShm(c)]);
    throw err;
  };
  const { spec, networkReady } = await buildContainerSpec(ctx, c, mounts, snapshot).catch(undoNetwork);
  await upsertRecord(ctx, c, shim, spec).catch(undoNetwork);

  let io: ProcessIO | undefined;
  let created = false;
  let started!: () => void;
  const taskStarted = new Promise<void>((resolve) => (started = resolve));
  try {
    io = await openInitIO(ctx, c, taskStarted);
    c.io = io;
    for (const pending of c.pendingAttaches) {
      c.pendingAttaches.delete(pending);
      io.attach(pending.conn, pending.opts).then(
        () => pending.done.resolve(),
        () => pending.done.resolve(),
      );
    }
    const req: CreateTaskRequest = {
      containerId: c.id,
      rootfs: mounts,
      stdin: io.fifos.stdin,
      stdout: io.fifos.stdout,
      stderr: io.fifos.stderr,
      terminal: s.Config.Tty,
    };
    if (shim.options !== undefined) req.options = shim.options;
    await createTask(ctx, req);
    created = true;
    io.shimReady();
    await networkReady;
    const { pid } = await ctx.client.tasks.start(c.id);
    started();
    c.initProcess = spec.process;
    s.Runtime = lockedRuntime(shim);
    Object.assign(s.State, {
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: pid,
      ExitCode: 0,
      Error: '',
      StartedAt: nowTimestamp(),
    });
    c.oomSeen = false;
  } catch (err) {
    if (created) await ctx.client.tasks.delete(c.id).catch(() => undefined);
    c.io = undefined;
    await io?.close().catch(() => undefined);
    await undoNetwork(err);
  }
}

/**
 * The init process's FIFOs, log and attach fan-out. The shim keeps its own
 * writer on the stdin FIFO, so the process sees EOF only through CloseIO,
 * which is valid once `taskStarted` resolved.
 */
export async function openInitIO(ctx: ServiceContext, c: Container, taskStarted: Promise<void>): Promise<ProcessIO> {
  const s = c.state;
  const log = initLogOptions(s);
  return ctx.deps.io.openProcessIO({
    dir: c.execDir,
    prefix: 'init',
    openStdin: s.Config.OpenStdin,
    stdinOnce: s.Config.StdinOnce,
    tty: s.Config.Tty,
    ...(log !== undefined ? { logPath: log.path, logOptions: log.options } : {}),
    onStdinClosed: () => {
      void taskStarted.then(() =>
        ctx.client.tasks.closeIO(c.id).catch((err: unknown) => ctx.deps.logger.debug({ err: String(err), container: c.id }, 'closing stdin failed')),
      );
    },
  });
}

/**
 * Starts a created or exited container. Throws not-modified (304) when it
 * runs already. On failure the error and an exit code (127/126 when the
 * command cannot be found or run, 128 otherwise) are recorded, as dockerd does.
 */
export async function startContainer(ctx: ServiceContext, c: Container, manual = false): Promise<void> {
  const snapshot = ctx.deps.configStore.current();
  await c.lock.run(async () => {
    if (c.removing || c.removed) throw conflict(`container ${c.id} is being removed`);
    if (manual) {
      // A start by hand replaces a pending policy restart and re-arms the policy.
      if (c.restartTimer !== undefined) {
        clearTimeout(c.restartTimer);
        c.restartTimer = undefined;
        c.state.State.Restarting = false;
      }
      c.state.ManuallyStopped = false;
      c.state.RestartCount = 0;
      c.restartDelayMs = 0;
    } else if (!c.state.State.Restarting) {
      return; // the policy restart was cancelled (stop, rm) while waiting for the lock
    }
    if (c.state.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
    if (c.state.State.Running) throw notModified(`container ${c.id} is already running`);
    try {
      await runTask(ctx, c, snapshot);
    } catch (err) {
      const exitCode = startErrorExitCode(err);
      c.state.State.Error = messageOf(err);
      c.state.State.ExitCode = exitCode;
      await ctx.persistQuietly(c);
      throw startError(err, exitCode);
    }
    await ctx.persist(c);
    c.publish('start');
  });
}
