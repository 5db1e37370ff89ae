// What every lifecycle stage shares: dependencies, the registry, the store.
import type { ContainerdClient } from '../../containerd/types.js';
import { decodeJsonAny } from '../../containerd/index.js';
import { isKind } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { OciProcess } from '../exec/index.js';
import { Container } from './container.js';
import { Registry } from './registry.js';
import { StateStore } from './state-store.js';
import type { ContainerRecordState, ContainerServiceDeps } from './types.js';

/** Hooks into services that keep per-container data of their own (exec). */
export interface ContainerHooks {
  /** ids of the container's running execs, for inspect */
  execIds?(containerId: string): string[];
  /** the container is gone: drop what you keep about it */
  removed?(containerId: string): void;
}

export class ServiceContext {
  readonly registry = new Registry();
  readonly store: StateStore;
  readonly client: ContainerdClient;
  readonly log: Logger;
  hooks: ContainerHooks = {};
  /** records an exit found without an event (set by the service) */
  reportExit: (c: Container, report: { exitStatus?: number; exitedAt?: Date }) => Promise<void> = async () => undefined;
  shuttingDown = false;
  /** background work (auto-removals) that shutdown waits for */
  private readonly background = new Set<Promise<unknown>>();

  constructor(readonly deps: ContainerServiceDeps) {
    this.client = deps.client;
    this.log = deps.logger;
    this.store = new StateStore(deps.dataRoot, deps.logger);
  }

  track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  newContainer(state: ContainerRecordState): Container {
    return new Container(state, this.client, this.deps.events, Container.execDirFor(this.deps.execRoot, state.Id), (c) =>
      this.fetchProcess(c),
    );
  }

  /** Writes the container's record; bumps its version so readers can tell writes apart. */
  async persist(c: Container): Promise<void> {
    if (c.removed) return;
    c.state.Version += 1;
    await this.store.save(c.state);
  }

  /** Persists, logging instead of failing: used where the in-memory state already changed for good. */
  async persistQuietly(c: Container): Promise<void> {
    try {
      await this.persist(c);
    } catch (err) {
      this.log.error({ err, container: c.id }, 'cannot persist the state of container %s', c.id);
    }
  }

  /** The init process from the spec in the containerd record (after a restart of berthd). */
  private async fetchProcess(c: Container): Promise<OciProcess> {
    try {
      const record = await this.client.containers.get(c.id);
      const spec = record.spec === undefined ? undefined : (decodeJsonAny(record.spec) as { process?: OciProcess });
      if (spec?.process !== undefined) return spec.process;
    } catch (err) {
      if (!isKind(err, 'not-found')) throw err;
    }
    return { args: [c.state.Path, ...c.state.Args], env: c.state.Config.Env, cwd: c.state.Config.WorkingDir || '/' };
  }
}
