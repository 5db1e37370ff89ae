// berthd's composition root: config store, containerd, services, API server,
// signals. Each service owns its subsystem; this file only wires them.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigStore, reloadEventAttributes, effectiveLogLevel, DEFAULTS, type ReloadOutcome, type Snapshot } from '../config/index.js';
import { connectContainerd, startManagedContainerd, type ContainerdClient, type ManagedContainerd } from '../containerd/index.js';
import { createApiServer, resolveGroup, systemRoutes, type ApiServer, type Route } from '../api/index.js';
import { reloadRoutes, type ReloadView } from '../api/routes/reload.js';
import { EventBus } from '../events/index.js';
import { messageOf, conflict } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { Notifier, takeListenFds } from '../systemd/index.js';
import { endpointWarnings, loadTlsMaterial, tlsSettings, type TcpEndpoint } from '../tls/index.js';
import { loadEngineId } from './engine-id.js';
import { SystemService } from './system.js';
import { PluginService } from '../plugins/index.js';
import { ImageService } from './images/index.js';
import { CurrentRegistry } from './registry.js';
import { ContainerService } from './containers/index.js';
import { ExecService, top } from './exec/index.js';
import { memory } from './memory.js';
import { FifoPool, openProcessIO, readLogs, type ProcessIOOpener } from './io/index.js';
import { containerRoutes } from '../api/routes/containers.js';
import { containerResourceRoutes } from '../api/routes/container-resources.js';
import { StatsService } from './stats/index.js';
import { startHealthMonitor } from './health-wiring.js';
import { execRoutes, topRoutes } from '../api/routes/exec.js';
import { imageRoutes } from '../api/routes/images.js';
import { registryRoutes } from '../api/routes/registry.js';
import { login, searchRegistry } from '../distribution/index.js';
import { pluginRoutes } from '../api/routes/plugins.js';
import { networkRoutes } from '../api/routes/networks.js';
import { NetworkService, networkSettingsFrom } from '../network/index.js';
import { volumeRoutes } from '../api/routes/volumes.js';
import { archiveRoutes } from '../api/routes/archive.js';
import { diskUsageRoutes, pruneFallbacks } from '../api/routes/disk-usage.js';
import { diskUsage } from '../diskusage/index.js';
import { ContainerFiles } from '../containerfs/index.js';
import { VolumeService } from '../volumes/index.js';
import { buildRoutes, commitRoutes } from '../api/routes/build.js';
import { commitContainer, removeStaleBuildFiles, startBuild } from '../build/index.js';

export interface DaemonOptions {
  store: ConfigStore;
  logger: Logger;
  version: string;
}

export interface Daemon {
  readonly events: EventBus;
  readonly store: ConfigStore;
  reload(): Promise<ReloadOutcome>;
  shutdown(reason: string): Promise<void>;
}

export function reloadView(o: ReloadOutcome): ReloadView {
  return {
    ok: o.ok,
    configFile: o.configFile,
    generation: o.snapshot.generation,
    runtimes: [...o.snapshot.runtimes.byName.keys()].sort(),
    defaultRuntime: o.snapshot.runtimes.defaultRuntime,
    errors: [...o.errors],
    ignored: [...o.ignored],
  };
}

function isLiveBerthd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berthd');
  } catch {
    return false;
  }
}

/** Refuses a pid file held by a live berthd; replaces a stale one. */
async function writePidfile(path: string): Promise<void> {
  if (path === '') return;
  const old = await readFile(path, 'utf8').then((t) => Number(t.trim()), () => NaN);
  if (Number.isInteger(old) && old > 0 && old !== process.pid && isLiveBerthd(old)) {
    throw conflict(`pid file ${path} names a running berthd (pid ${old}): stop it first, or give this one its own --pidfile and --exec-root`);
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${process.pid}\n`);
}

/** --group: the default group may be missing (socket stays root-owned); an explicit one must exist. */
async function socketGroup(group: string, logger: Logger): Promise<string | undefined> {
  if (group === '') return undefined;
  try {
    return String(await resolveGroup(group));
  } catch (err) {
    if (group !== DEFAULTS.group) throw err;
    logger.info(`group ${group} does not exist: the API socket is owned by root (create the group to let its members use berth)`);
    return undefined;
  }
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { store, logger } = opts;
  const initial: Snapshot = store.current();
  const config = initial.config;
  const notifier = new Notifier();
  const events = new EventBus();
  const listenFds = takeListenFds();
  // A bad or missing TLS file stops the start before anything runs.
  const tls = tlsSettings(config);
  const tlsMaterial = tls.enabled ? await loadTlsMaterial(tls) : undefined;

  await mkdir(config.dataRoot, { recursive: true, mode: 0o711 });
  await mkdir(config.execRoot, { recursive: true, mode: 0o700 });
  await writePidfile(config.pidfile);
  const engineId = await loadEngineId(config.dataRoot);

  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient | undefined;
  // A start that fails half-way leaves nothing running and no pid file.
  const abortStart = async (err: unknown): Promise<never> => {
    client?.close();
    await managed?.stop().catch(() => undefined);
    await rm(config.pidfile, { force: true }).catch(() => undefined);
    throw err;
  };
  try {
    let address = config.containerd;
    if (address === '') {
      managed = await startManagedContainerd({ dataRoot: config.dataRoot, execRoot: config.execRoot, debug: config.debug, logger });
      managed.on('restart', (r) => logger.warn({ pid: r.pid, restarts: r.restarts }, 'managed containerd restarted'));
      address = managed.address;
    }
    client = connectContainerd(address, config.containerdNamespace);
    await client.waitReady(20_000);
    await client.ensureNamespace(config.containerdNamespace);
  } catch (err) {
    return abortStart(err);
  }

  const registry = new CurrentRegistry(() => store.current());
  const images = new ImageService({
    client,
    events,
    logger: logger.child({ component: 'images' }),
    snapshotter: 'overlayfs',
    tmpDir: join(config.dataRoot, 'tmp'),
    namespace: config.containerdNamespace,
    registry: () => registry.get(),
  });
  const ioLogger = logger.child({ component: 'io' });
  const fifoPool = await FifoPool.open(join(config.execRoot, 'fifo-pool'), { logger: ioLogger });
  const openIO: ProcessIOOpener = (o) => openProcessIO(o, ioLogger, (path) => fifoPool.make(path));
  const execs = new ExecService({ logger: logger.child({ component: 'exec' }), openProcessIO: openIO });
  const network = new NetworkService({
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    logger: logger.child({ component: 'network' }),
    events,
    settings: networkSettingsFrom(config),
    ...(config.cniPluginDirs !== undefined && config.cniPluginDirs.length > 0 ? { pluginDirs: config.cniPluginDirs } : {}),
  });
  try {
    await network.init();
  } catch (err) {
    return abortStart(err);
  }
  const volumes = new VolumeService({ dataRoot: config.dataRoot, events, logger: logger.child({ component: 'volumes' }) });
  await volumes.init();
  const containers = new ContainerService({
    client,
    configStore: store,
    images,
    volumes,
    io: { openProcessIO: openIO, readLogs },
    events,
    logger: logger.child({ component: 'containers' }),
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    namespace: config.containerdNamespace,
    liveRestore: config.liveRestore,
    network,
  });
  network.setContainerLookup((ref) => containers.networkRef(ref));
  containers.setHooks({ execIds: (id) => execs.runningExecIds(id), removed: (id) => execs.forgetContainer(id) });
  images.setUsageCheck((id) => containers.imageUsers(id));
  volumes.setUsers(() => containers.volumeUsers());
  const health = startHealthMonitor(events, containers, execs, logger.child({ component: 'health' }));
  await containers.restore();
  const ids = containers.networkIds();
  await network.reconcile(ids.running, ids.known);
  for (const id of containers.runningIds()) health.start(containers.healthTarget(id), true);

  const staleBuild = await removeStaleBuildFiles(join(config.dataRoot, 'tmp'));
  if (staleBuild.length > 0) logger.info({ removed: staleBuild }, 'removed what interrupted builds left');

  // Stale wrapper scripts go only now, before any reload can run; those that
  // containers surviving the restart still run on are kept.
  const removed = await store.cleanupStaleWrappers(containers.referencedWrapperPaths());
  if (removed.length > 0) logger.info({ removed }, 'removed stale runtime wrapper scripts');

  const system = new SystemService({
    engineId,
    berthVersion: opts.version,
    current: () => store.current(),
    client,
    containerCounts: () => containers.counts(),
    imageCount: async () => (await images.list({}).catch(() => [])).length,
    eventListeners: () => events.listenerCount,
    apiWarnings: () => endpointWarnings(apiEndpoints()),
    registryConfig: () => registry.get().view(),
  });
  let apiEndpoints: () => TcpEndpoint[] = () => [];

  store.onCommit((next) => {
    logger.level = effectiveLogLevel(next.config);
  });
  store.onReload((outcome) => {
    events.publish('daemon', 'reload', engineId, { name: system.hostname, ...reloadEventAttributes(outcome) });
  });

  const plugins = new PluginService({ client, configStore: store, events, logger: logger.child({ component: 'plugins' }), dataRoot: config.dataRoot, execRoot: config.execRoot });
  await plugins.init();

  const reload = async (): Promise<ReloadOutcome> => {
    await notifier.notify('RELOADING=1');
    const outcome = await store.reload();
    await notifier.notify('READY=1', outcome.ok ? 'STATUS=configuration reloaded' : `STATUS=reload refused: ${outcome.errors.join('; ')}`);
    return outcome;
  };

  const files = new ContainerFiles(join(config.dataRoot, 'tmp'));
  await files.cleanup();
  const stats = new StatsService(client, logger.child({ component: 'stats' }));
  const routes: Route[] = [
    ...systemRoutes(system, events),
    ...reloadRoutes({ reload: async () => reloadView(await reload()) }),
    ...pluginRoutes(plugins),
    ...registryRoutes({
      login: (auth, signal) => login(registry.get(), auth, signal),
      search: (term, o) => searchRegistry(registry.get(), term, o),
    }),
    ...imageRoutes(images),
    ...containerRoutes(containers),
    ...networkRoutes(network),
    ...volumeRoutes(volumes),
    ...archiveRoutes({
      statPath: (ref, path) => files.stat(containers.fileTarget(ref), path),
      getArchive: (ref, path) => files.get(containers.fileTarget(ref), path),
      putArchive: (ref, path, body, o) => files.put(containers.fileTarget(ref), path, body, o),
      export: (ref) => files.export(containers.fileTarget(ref)),
      changes: (ref) => files.changes(containers.fileTarget(ref)),
    }),
    ...diskUsageRoutes({
      diskUsage: (types) =>
        diskUsage(
          {
            images: () => images.list({}),
            containers: () => containers.list({ all: true, limit: -1, size: false, filters: new Map() }),
            sizeRw: (id) => containers.sizeRw(id),
            volumes: () => volumes.usage(),
          },
          types,
        ),
    }),
    ...containerResourceRoutes({
      stats: (ref, o) => {
        const target = containers.getExecTarget(ref);
        const gone = (): boolean => {
          try {
            return containers.get(target.id) === undefined;
          } catch {
            return true;
          }
        };
        return stats.stats(target, { ...o, gone });
      },
      update: (ref, body) => containers.update(ref, body),
    }),
    ...commitRoutes({ commit: (ref, o) => commitContainer({ containers, images }, ref, o) }),
    ...buildRoutes({
      build: (input, o, signal) => startBuild({ containers, images, logger: logger.child({ component: 'build' }), tmpDir: join(config.dataRoot, 'tmp') }, input, o, signal),
      pruneCache: () => images.pruneBuildCache(),
    }),
    ...execRoutes({ getExecTarget: (ref) => containers.getExecTarget(ref), execs }),
    ...topRoutes({ getExecTarget: (ref) => containers.getExecTarget(ref), top }),
  ];
  routes.push(...pruneFallbacks(routes));
  let server: ApiServer;
  try {
    server = createApiServer({
      routes,
      logger: logger.child({ component: 'api' }),
      hosts: config.hosts,
      group: await socketGroup(config.group, logger),
      version: opts.version,
      onRequest: () => memory.noteActivity(),
      tls: tlsMaterial,
      plaintextAllowed: tls.plaintextAllowed,
      listenFds,
    });
    await server.listen();
    apiEndpoints = () => server.tcpEndpoints();
    if (tlsMaterial !== undefined) {
      // Certificate rotation: a reload reads the files again; a bad one refuses the reload and the old ones stay.
      store.onPrepare(async (next) => {
        const material = await loadTlsMaterial(tlsSettings(next.config));
        return () => server.setTls(material);
      });
    }
  } catch (err) {
    await network.shutdown().catch(() => undefined);
    return abortStart(err);
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'berthd shutting down');
      await notifier.notify('STOPPING=1');
      await server.close().catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'closing the API server failed'));
      health.stopAll();
      const { config: last } = store.current();
      await containers
        .shutdown({ liveRestore: last.liveRestore, timeout: last.shutdownTimeout })
        .catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'stopping containers failed'));
      await network.shutdown(last.liveRestore).catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'tearing networking down failed'));
      if (!last.liveRestore) await volumes.shutdown().catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'unmounting volumes failed'));
      await plugins.shutdown().catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'stopping plugins failed'));
      images.close();
      await fifoPool.close().catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'removing spare FIFOs failed'));
      client.close();
      await managed?.stop().catch((err: unknown) => logger.warn({ err: messageOf(err) }, 'stopping containerd failed'));
      await rm(config.pidfile, { force: true }).catch(() => undefined);
      logger.info('berthd stopped');
    })();
    return stopping;
  };

  void plugins.restoreEnabled();
  // Start-up's bytecode and buffers go back once the daemon is quiet.
  memory.noteActivity();
  logger.info({ hosts: config.hosts, dataRoot: config.dataRoot, containerd: managed?.address ?? config.containerd, generation: initial.generation }, 'berthd is ready');
  await notifier.notify('READY=1', 'STATUS=berthd is ready');
  return { events, store, reload, shutdown };
}
