// Docker's managed plugins: create from a context, enable on the default
// runtime of the snapshot the request captured, disable, set, remove, and
// re-enable after a berthd restart. Operations on one plugin run one at a time.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Snapshot } from '../config/types.js';
import type { ContainerdClient } from '../containerd/types.js';
import { BerthError, conflict, internal, invalidParameter, isBerthError, messageOf } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { resolveRuntime as resolveFromSnapshot } from '../runtimes/index.js';
import type { ShimConfig } from '../runtimes/types.js';
import { extractPluginContext } from './archive.js';
import { parseInterfaceType, validatePluginConfig } from './config.js';
import { adopt, halt, launch, socketDir, type LifecycleDeps, type LockedRuntime } from './lifecycle.js';
import { normalizePluginName } from './name.js';
import { PluginRegistry } from './registry.js';
import { applySettings, initialSettings } from './settings.js';
import { PluginStore } from './store.js';
import { RestartSupervisor } from './supervisor.js';
import { PLUGIN_LABEL, removePluginTask } from './task.js';
import type { DisableOptions, EnableOptions, PluginListFilters, PluginObject, RemoveOptions } from './types.js';

export const DEFAULT_ENABLE_TIMEOUT_MS = 30_000;
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** Adopting a task that survived berthd: it answered before, so it must answer fast. */
const ADOPT_TIMEOUT_MS = 5000;

export type RuntimeResolver = (snapshot: Snapshot, name: string) => ShimConfig;

export interface PluginServiceOptions {
  /** the daemon's containerd client, in any namespace */
  client: ContainerdClient;
  /** containerd namespace for plugin tasks; default `<client namespace>.plugins` */
  namespace?: string;
  configStore: { current(): Snapshot };
  /** resolves a runtime name ('' = the default runtime) to its shim config; default: the runtimes module's */
  resolveRuntime?: RuntimeResolver;
  events: EventBus;
  logger: Logger;
  dataRoot: string;
  execRoot: string;
  defaultTimeoutMs?: number;
  stopGraceMs?: number;
}

function clone(p: PluginObject): PluginObject {
  return structuredClone(p);
}

function parseBool(filter: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidParameter(`invalid filter '${filter}=${value}': use true or false`);
}

export class PluginService {
  readonly namespace: string;
  private readonly client: ContainerdClient;
  private readonly store: PluginStore;
  private readonly registry = new PluginRegistry();
  private readonly supervisor: RestartSupervisor;
  private readonly deps: LifecycleDeps;
  private readonly defaultTimeoutMs: number;

  constructor(private readonly opts: PluginServiceOptions) {
    this.namespace = opts.namespace ?? `${opts.client.namespace}.plugins`;
    this.client = opts.client.withNamespace(this.namespace);
    this.store = new PluginStore(join(opts.dataRoot, 'plugins'));
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_ENABLE_TIMEOUT_MS;
    this.deps = {
      client: this.client,
      namespace: this.namespace,
      store: this.store,
      execRoot: opts.execRoot,
      logger: opts.logger,
      stopGraceMs: opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    };
    this.supervisor = new RestartSupervisor(this.registry, this.deps, opts.logger, this.defaultTimeoutMs);
  }

  /** Loads the plugins on disk; touches no containerd. Enabled ones stay down until restoreEnabled(). */
  async init(): Promise<void> {
    await this.store.init();
    for (const p of await this.store.loadAll(this.opts.logger)) this.registry.add(p);
  }

  // ---- queries ----

  list(filters: PluginListFilters = {}): PluginObject[] {
    const enabled = filters.enabled?.map((v) => parseBool('enabled', v));
    const caps = filters.capability?.map((c) => c.toLowerCase());
    const out: PluginObject[] = [];
    for (const { plugin } of this.registry.all()) {
      if (enabled !== undefined && enabled.length > 0 && !enabled.includes(plugin.Enabled)) continue;
      if (caps !== undefined && caps.length > 0) {
        const own = plugin.Config.Interface.Types.map((t) => parseInterfaceType(t)?.capability.toLowerCase());
        if (!own.some((c) => c !== undefined && caps.includes(c))) continue;
      }
      out.push(clone(plugin));
    }
    // Byte order, as Go sorts strings.
    return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  }

  inspect(ref: string): PluginObject {
    return clone(this.registry.resolve(ref).plugin);
  }

  /** The runtime an enabled plugin's task runs on, or undefined when it has no task. */
  runtimeOf(ref: string): LockedRuntime | undefined {
    const run = this.registry.resolve(ref).run;
    if (run === undefined) return undefined;
    const { name, shim } = run.runtime;
    // A copy: structuredClone would turn the Buffer into a plain Uint8Array.
    return { name, shim: shim.options === undefined ? { shim: shim.shim } : { shim: shim.shim, options: { typeUrl: shim.options.typeUrl, value: Buffer.from(shim.options.value) } } };
  }

  private publish(action: string, p: PluginObject): void {
    this.opts.events.publish('plugin', action, p.Id, { name: p.Name });
  }

  // ---- create / set / remove ----

  /** `docker plugin create NAME DIR`: `context` is the tar (or gzipped tar) of DIR. */
  async create(name: string, context: Readable): Promise<PluginObject> {
    const normalized = normalizePluginName(name);
    if (this.registry.nameTaken(normalized)) {
      context.resume();
      throw conflict(`plugin ${normalized} already exists`);
    }
    const release = this.registry.reserveName(normalized);
    const staging = await this.store.newStaging();
    try {
      const extracted = await extractPluginContext(context, join(staging, 'rootfs'));
      let raw: unknown;
      try {
        raw = JSON.parse(extracted.configJson.toString('utf8'));
      } catch (err) {
        throw invalidParameter(`invalid plugin config: config.json is not valid JSON: ${(err as Error).message}`);
      }
      const config = validatePluginConfig(raw);
      config.rootfs = { type: 'layers', diff_ids: [extracted.diffId] };
      let id = randomBytes(32).toString('hex');
      while (this.registry.has(id)) id = randomBytes(32).toString('hex');
      const plugin: PluginObject = {
        Id: id,
        Name: normalized,
        Enabled: false,
        Settings: initialSettings(config),
        PluginReference: normalized,
        Config: config,
      };
      await this.store.commit(staging, plugin, extracted.configJson);
      this.registry.add(plugin);
      if (extracted.skipped.length > 0) {
        this.opts.logger.warn({ plugin: normalized, skipped: extracted.skipped.slice(0, 20) }, 'device nodes and FIFOs in a plugin rootfs are not created');
      }
      this.publish('create', plugin);
      return clone(plugin);
    } catch (err) {
      await this.store.discard(staging).catch(() => undefined);
      throw err;
    } finally {
      release();
    }
  }

  /** `docker plugin set NAME KEY=VALUE...`: only while disabled, only Settable fields. */
  async set(ref: string, args: readonly string[]): Promise<void> {
    await this.registry.locked(ref, async (e) => {
      if (e.plugin.Enabled) throw conflict('cannot set on an active plugin, disable plugin before setting');
      const settings = applySettings(e.plugin.Config, e.plugin.Settings, args);
      const next = { ...e.plugin, Settings: settings };
      await this.store.save(next);
      e.plugin = next;
    });
  }

  async remove(ref: string, opts: RemoveOptions = {}): Promise<PluginObject> {
    return this.registry.locked(ref, async (e) => {
      const p = e.plugin;
      if (p.Enabled && opts.force !== true) throw conflict(`plugin ${p.Name} is enabled`);
      this.supervisor.cancel(e);
      if (p.Enabled || e.run !== undefined) {
        try {
          await halt(this.deps, p.Id, e.run);
        } catch (err) {
          throw internal(`cannot remove plugin ${p.Name}: stopping its task failed: ${messageOf(err)}`, err);
        }
        e.run = undefined;
      }
      await this.store.remove(p.Id);
      await rm(socketDir(this.opts.execRoot, p.Id), { recursive: true, force: true });
      this.registry.delete(p.Id);
      this.publish('remove', p);
      return clone({ ...p, Enabled: false });
    });
  }

  // ---- enable / disable ----

  /** The default runtime of one snapshot, as a shim config that is never missing. */
  private defaultRuntime(plugin: PluginObject): LockedRuntime {
    const snapshot = this.opts.configStore.current();
    const name = snapshot.runtimes.defaultRuntime;
    let shim: ShimConfig;
    try {
      shim = (this.opts.resolveRuntime ?? resolveFromSnapshot)(snapshot, '');
    } catch (err) {
      const message = `cannot enable plugin ${plugin.Name}: the default runtime "${name}" cannot be used: ${messageOf(err)}`;
      throw isBerthError(err) ? new BerthError(err.kind, message, err) : internal(message, err);
    }
    if (typeof shim?.shim !== 'string' || shim.shim === '') {
      throw internal(`cannot enable plugin ${plugin.Name}: the default runtime "${name}" resolved to no shim (a bug in berth: please report it)`);
    }
    return { name, shim };
  }

  async enable(ref: string, opts: EnableOptions = {}): Promise<void> {
    const timeoutMs = opts.timeout !== undefined && opts.timeout > 0 ? opts.timeout * 1000 : this.defaultTimeoutMs;
    await this.registry.locked(ref, async (e) => {
      if (e.plugin.Enabled) throw conflict(`plugin already enabled: plugin ${e.plugin.Name} is enabled`);
      const runtime = this.defaultRuntime(e.plugin);
      const run = await launch(this.deps, e.plugin, runtime, timeoutMs);
      const next = { ...e.plugin, Enabled: true };
      try {
        await this.store.save(next);
      } catch (err) {
        await halt(this.deps, e.plugin.Id, run).catch(() => undefined);
        throw internal(`cannot enable plugin ${e.plugin.Name}: saving its state failed: ${messageOf(err)}`, err);
      }
      e.plugin = next;
      e.run = run;
      e.restarts = 0;
      this.supervisor.watch(e.plugin.Id, run);
      this.opts.logger.info({ plugin: next.Name, runtime: runtime.name, shim: runtime.shim.shim, pid: run.pid }, 'plugin enabled');
      this.publish('enable', next);
    });
  }

  /** `force` is accepted: berth has no volume or network drivers, so a plugin is never in use. */
  async disable(ref: string, _opts: DisableOptions = {}): Promise<void> {
    await this.registry.locked(ref, async (e) => {
      if (!e.plugin.Enabled) throw conflict(`plugin is already disabled: plugin ${e.plugin.Name} found but disabled`);
      this.supervisor.cancel(e);
      try {
        await halt(this.deps, e.plugin.Id, e.run);
      } catch (err) {
        throw internal(`cannot disable plugin ${e.plugin.Name}: stopping its task failed: ${messageOf(err)}`, err);
      }
      e.run = undefined;
      const next = { ...e.plugin, Enabled: false };
      await this.store.save(next);
      e.plugin = next;
      this.publish('disable', next);
    });
  }

  // ---- daemon start and stop ----

  /**
   * At daemon start: adopt tasks that survived (live restore) or start enabled
   * plugins afresh on the current default runtime; remove tasks of disabled or
   * unknown plugins. Never throws: failures are logged and the plugin shows as
   * disabled until enabled again (its stored state keeps Enabled=true, so the
   * next start tries again).
   */
  async restoreEnabled(): Promise<void> {
    try {
      await this.client.ensureNamespace(this.namespace);
      const wanted = new Set(this.registry.all().filter((e) => e.plugin.Enabled).map((e) => e.plugin.Id));
      for (const c of await this.client.containers.list()) {
        if (wanted.has(c.id)) continue;
        this.opts.logger.info({ id: c.id, plugin: c.labels[PLUGIN_LABEL] }, 'removing a plugin task that no enabled plugin owns');
        await removePluginTask(this.client, c.id, 0).catch((err: unknown) => this.opts.logger.warn({ err, id: c.id }, 'could not remove a stale plugin task'));
      }
    } catch (err) {
      this.opts.logger.error({ err }, 'cannot list plugin tasks in containerd: enabled plugins are not restored');
      for (const e of this.registry.all()) e.plugin = { ...e.plugin, Enabled: false };
      return;
    }
    const enabled = this.registry.all().filter((e) => e.plugin.Enabled);
    await Promise.all(enabled.map((e) => this.restoreOne(e.plugin.Id)));
  }

  private async restoreOne(id: string): Promise<void> {
    await this.registry.locked(id, async (e) => {
      try {
        let run = await adopt(this.deps, e.plugin, Math.min(this.defaultTimeoutMs, ADOPT_TIMEOUT_MS));
        if (run !== undefined) {
          this.opts.logger.info({ plugin: e.plugin.Name, pid: run.pid, shim: run.runtime.shim.shim }, 'plugin task adopted');
        } else {
          const runtime = this.defaultRuntime(e.plugin);
          run = await launch(this.deps, e.plugin, runtime, this.defaultTimeoutMs);
          this.opts.logger.info({ plugin: e.plugin.Name, runtime: runtime.name, pid: run.pid }, 'plugin re-enabled');
        }
        e.run = run;
        this.supervisor.watch(id, run);
      } catch (err) {
        this.opts.logger.error({ err, plugin: e.plugin.Name }, 'cannot re-enable the plugin: it shows as disabled until enabled again');
        e.plugin = { ...e.plugin, Enabled: false };
      }
    }).catch((err: unknown) => this.opts.logger.error({ err, id }, 'plugin restore failed'));
  }

  /**
   * At daemon stop: with live-restore, plugin tasks keep running for the next
   * berthd to adopt; otherwise they are stopped (their stored state stays
   * Enabled so that the next start re-enables them).
   */
  async shutdown(): Promise<void> {
    this.supervisor.close();
    if (this.opts.configStore.current().config.liveRestore) return;
    await Promise.all(
      this.registry.all()
        .filter((e) => e.run !== undefined)
        .map(async (e) => {
          try {
            await halt(this.deps, e.plugin.Id, e.run);
            e.run = undefined;
          } catch (err) {
            this.opts.logger.warn({ err, plugin: e.plugin.Name }, 'could not stop the plugin task at shutdown');
          }
        }),
    );
  }
}
