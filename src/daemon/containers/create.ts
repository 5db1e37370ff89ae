// POST /containers/create: validate, reserve the name, resolve the image,
// prepare the rootfs snapshot, record the container in containerd (which
// keeps the snapshot from garbage collection) and on disk.
import { clampOomScoreAdj, oomScoreAdjFloor } from '../../security/index.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RUNC_SHIM, resolveRuntime, validateRuntimeName } from '../../runtimes/index.js';
import type { Snapshot } from '../../config/types.js';
import { OCI_SPEC_TYPE_URL, jsonAny, type RuntimeInfo } from '../../containerd/index.js';
import { mergeImageConfig } from './command.js';
import { buildSpec } from './spec.js';
import type { ServiceContext } from './context.js';
import { parseCreateBody } from './create-request.js';
import { createLogConfig, refuseStorageOpt } from './logging.js';
import { etcPaths, writeEtcFiles } from './etc-files.js';
import { newContainerId, normalizeName, randomName, shortId } from './names.js';
import { nowTimestamp } from './status.js';
import { SNAPSHOTTER, ZERO_TIME, type ContainerRecordState } from './types.js';
import { checkNetworkMode, validateContainer } from './validate.js';
import { checkUnappliedSettings } from './settings-check.js';
import { networkFacts } from './network.js';
import { planContainerMounts } from './mounts.js';

export interface CreateResult {
  Id: string;
  Warnings: string[];
}

function reserveName(ctx: ServiceContext, requested: string | undefined, id: string): string {
  if (requested !== undefined) {
    ctx.registry.reserveName(requested, id);
    return requested;
  }
  for (let attempt = 0; ; attempt++) {
    const name = randomName(attempt);
    if (ctx.registry.tryReserveName(name, id)) return name;
  }
}

/** The runtime the containerd record names until the first start locks one in. */
function provisionalRuntime(snapshot: Snapshot, runtime: string): RuntimeInfo {
  try {
    const shim = resolveRuntime(snapshot, runtime);
    return shim.options === undefined ? { name: shim.shim } : { name: shim.shim, options: shim.options };
  } catch {
    // e.g. a path runtime whose binary is missing: the start will say so.
    return { name: RUNC_SHIM };
  }
}

export async function createContainer(ctx: ServiceContext, body: unknown, requestedName?: string): Promise<CreateResult> {
  // One snapshot for the whole request (SPEC §3).
  const snapshot = ctx.deps.configStore.current();
  const req = parseCreateBody(body);
  const wantName = requestedName === undefined || requestedName === '' ? undefined : normalizeName(requestedName);
  const host = req.hostConfig;
  host.Runtime = validateRuntimeName(snapshot, host.Runtime);
  const net = ctx.deps.network;
  const warnings = checkUnappliedSettings(req.config, host);
  const oom = clampOomScoreAdj(host.OomScoreAdj, oomScoreAdjFloor());
  host.OomScoreAdj = oom.value;
  if (oom.warning !== undefined) warnings.push(oom.warning);
  checkNetworkMode(host.NetworkMode, net !== undefined);
  refuseStorageOpt(host.StorageOpt);
  // Configurations built before log drivers were configurable name none: json-file.
  host.LogConfig = createLogConfig(host.LogConfig, { driver: snapshot.config.logDriver || 'json-file', opts: snapshot.config.logOpts ?? {} });

  const id = newContainerId();
  const name = reserveName(ctx, wantName, id);
  try {
    const image = await ctx.deps.images.resolveForContainer(req.config.Image);
    const config = mergeImageConfig(req.config, image.config);
    if (config.Hostname === '') config.Hostname = host.NetworkMode === 'host' || host.UTSMode === 'host' ? hostname() : shortId(id);
    const { path, args } = validateContainer(config, host, net !== undefined);
    const mountPoints = planContainerMounts(ctx, config, host);
    if (net !== undefined) await net.prepare(networkFacts(id, name, config, host), req.endpoints, host);

    const dir = ctx.store.dir(id);
    const etc = etcPaths(dir);
    const state: ContainerRecordState = {
      Id: id,
      Name: name,
      Created: nowTimestamp(),
      Path: path,
      Args: args,
      Config: config,
      HostConfig: host,
      Image: image.id,
      ImageName: image.name,
      ImageChainId: image.chainId,
      State: {
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 0,
        ExitCode: 0,
        Error: '',
        StartedAt: ZERO_TIME,
        FinishedAt: ZERO_TIME,
      },
      LogPath: (host.LogConfig as { Type: string }).Type === 'none' ? '' : join(dir, `${id}-json.log`),
      RestartCount: 0,
      ResolvConfPath: etc.resolvConf,
      HostnamePath: etc.hostname,
      HostsPath: etc.hosts,
      MountPoints: mountPoints,
      Version: 0,
    };

    const runtime = provisionalRuntime(snapshot, host.Runtime);
    const rootfs = await ctx.deps.images.prepareRootfs(id, image.chainId);
    try {
      await ctx.deps.volumes?.attach(id, mountPoints, rootfs, join(ctx.deps.dataRoot, 'tmp'));
    } catch (err) {
      await ctx.deps.images.removeRootfs(id).catch(() => undefined);
      throw err;
    }
    const c = ctx.newContainer(state);
    c.recordRuntime = runtime;
    // The containerd record (which keeps the rootfs from garbage collection),
    // the state file and the /etc files do not depend on each other.
    const steps = await Promise.allSettled([
      ctx.client.containers.create({
        id,
        labels: config.Labels,
        image: image.name,
        runtime,
        // containerd wants a spec from the start; each start replaces it with the real one.
        spec: jsonAny(
          OCI_SPEC_TYPE_URL,
          buildSpec({ id, namespace: ctx.deps.namespace, config, hostConfig: host, path, args, user: { uid: 0, gid: 0, additionalGids: [0] }, etc, mountPoints }),
        ),
        snapshotter: SNAPSHOTTER,
        snapshotKey: id,
      }),
      ctx.persist(c).then(() => writeEtcFiles(etc, config, host, ctx.deps.hostFiles)),
    ]);
    const failed = steps.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await net?.forget(id).catch(() => undefined);
      if (steps[0].status === 'fulfilled') await ctx.client.containers.delete(id).catch(() => undefined);
      await ctx.deps.images.removeRootfs(id).catch(() => undefined);
      await ctx.store.remove(id).catch(() => undefined);
      await ctx.deps.volumes?.release(id, mountPoints, true).catch(() => undefined);
      throw failed.reason;
    }
    ctx.registry.add(c);
    ctx.deps.volumes?.settle(id);
    c.publish('create');
    return { Id: id, Warnings: warnings };
  } catch (err) {
    if (!ctx.registry.all().some((x) => x.id === id)) await net?.forget(id).catch(() => undefined);
    ctx.registry.releaseName(name, id);
    throw err;
  }
}
