// Watches the tasks of enabled plugins: an exit nobody asked for restarts the
// plugin, with backoff, on the runtime locked in when it was enabled, so a
// reload in between never moves it.
import type { ContainerdClient } from '../containerd/types.js';
import { isKind } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { launch, outputTail, type LifecycleDeps, type LockedRuntime, type RunningTask } from './lifecycle.js';
import type { Entry, PluginRegistry } from './registry.js';

const WAIT_RETRY_MS = 1000;
const RESTART_FIRST_DELAY_MS = 1000;
const RESTART_MAX_DELAY_MS = 30_000;
/** A plugin that ran this long before crashing starts again without backoff. */
const RESTART_RESET_MS = 60_000;

export class RestartSupervisor {
  private closed = false;

  constructor(
    private readonly registry: PluginRegistry,
    private readonly deps: LifecycleDeps,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  private get client(): ContainerdClient {
    return this.deps.client;
  }

  /** No more restarts (daemon stop). */
  close(): void {
    this.closed = true;
    for (const e of this.registry.all()) this.cancel(e);
  }

  cancel(e: Entry): void {
    if (e.restartTimer !== undefined) clearTimeout(e.restartTimer);
    e.restartTimer = undefined;
  }

  /** Follows the task of `run` until it exits. */
  watch(id: string, run: RunningTask): void {
    const follow = async (exit: Promise<unknown>): Promise<void> => {
      try {
        await exit;
      } catch {
        // The wait broke, e.g. containerd restarting while the shim keeps the
        // task: look again until containerd answers, and only a task that is
        // gone or stopped counts as an exit.
        while (true) {
          await new Promise((r) => setTimeout(r, WAIT_RETRY_MS));
          if (run.stopping || this.closed) return;
          try {
            const info = await this.client.tasks.get(id);
            if (info.status !== 'stopped') return void follow(this.client.tasks.wait(id));
            break;
          } catch (err) {
            if (isKind(err, 'not-found')) break;
          }
        }
      }
      if (run.stopping || this.closed) return;
      this.crashed(id, run);
    };
    void follow(run.exit);
  }

  private crashed(id: string, run: RunningTask): void {
    const e = this.registry.get(id);
    if (e === undefined || e.run !== run) return;
    e.run = undefined;
    if (Date.now() - run.startedAt > RESTART_RESET_MS) e.restarts = 0;
    void outputTail(this.deps.store, id).then((tail) => {
      this.logger.warn({ plugin: e.plugin.Name, output: tail }, 'plugin exited unexpectedly: restarting it on the runtime it was enabled with');
    });
    this.schedule(id, run.runtime);
  }

  private schedule(id: string, runtime: LockedRuntime): void {
    const e = this.registry.get(id);
    if (e === undefined || this.closed || !e.plugin.Enabled) return;
    const delay = Math.min(RESTART_FIRST_DELAY_MS * 2 ** e.restarts, RESTART_MAX_DELAY_MS);
    e.restarts += 1;
    this.cancel(e);
    e.restartTimer = setTimeout(() => {
      e.restartTimer = undefined;
      this.registry
        .locked(id, async (cur) => {
          if (!cur.plugin.Enabled || cur.run !== undefined || this.closed) return;
          try {
            const next = await launch(this.deps, cur.plugin, runtime, this.timeoutMs);
            cur.run = next;
            this.watch(id, next);
          } catch (err) {
            this.logger.error({ err, plugin: cur.plugin.Name }, 'restarting the plugin failed: trying again later');
            this.schedule(id, runtime);
          }
        })
        .catch((err: unknown) => this.logger.error({ err, id }, 'plugin restart failed'));
    }, delay);
    e.restartTimer.unref();
  }
}
