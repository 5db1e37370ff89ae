// One containerd event subscription for the namespace's task exits and OOMs,
// re-established whenever it ends (containerd may be restarted by its
// supervisor), each time followed by a reconciliation pass that catches
// exits that happened while nobody was listening.
import { watchEvents, type ContainerdEvent, type EventWatch, type TaskEventPayload } from '../../containerd/index.js';
import type { ServiceContext } from './context.js';
import type { ExitReport } from './exit.js';
import type { Container } from './container.js';

export type ExitHandler = (c: Container, report: ExitReport) => void;

function isTaskPayload(e: ContainerdEvent['event']): e is TaskEventPayload {
  return typeof (e as TaskEventPayload).containerId === 'string';
}

export class ExitMonitor {
  private watch: EventWatch | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly onExit: ExitHandler,
  ) {}

  start(): void {
    this.close();
    const ns = JSON.stringify(this.ctx.deps.namespace);
    this.watch = watchEvents(this.ctx.client, [`namespace==${ns},topic=="/tasks/exit"`, `namespace==${ns},topic=="/tasks/oom"`], {
      onEvent: (e) => this.onEvent(e),
      onReady: () =>
        this.reconcile().catch((err: unknown) => {
          this.ctx.log.debug({ err }, 'reconciliation with containerd failed; retrying with the next subscription');
          throw err;
        }),
      onLost: (err) => this.ctx.log.debug({ err }, 'containerd event stream ended; subscribing again'),
    });
  }

  close(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  private onEvent(e: ContainerdEvent): void {
    if (e.namespace !== this.ctx.deps.namespace || !isTaskPayload(e.event)) return;
    const c = this.ctx.registry.byExactId(e.event.containerId);
    if (c === undefined) return;
    if (e.topic === '/tasks/oom') {
      c.oomSeen = true;
      c.publish('oom');
      return;
    }
    if (e.topic !== '/tasks/exit') return;
    const processId = e.event.id ?? e.event.execId ?? '';
    // Exec processes exit on their own; only the init's exit is the container's.
    if (processId !== '' && processId !== c.id) return;
    const report: ExitReport = {};
    if (e.event.exitStatus !== undefined) report.exitStatus = e.event.exitStatus;
    if (e.event.exitedAt !== undefined) report.exitedAt = e.event.exitedAt;
    if (e.event.pid !== undefined) report.pid = e.event.pid;
    this.onExit(c, report);
  }

  /** Every container berth believes running whose task is gone or stopped has exited. */
  async reconcile(): Promise<void> {
    const running = this.ctx.registry.all().filter((c) => c.isRunning());
    if (running.length === 0) return;
    const tasks = new Map((await this.ctx.client.tasks.list()).map((t) => [t.containerId, t]));
    for (const c of running) {
      const t = tasks.get(c.id);
      if (t === undefined) {
        this.onExit(c, {});
      } else if (t.status === 'stopped') {
        const report: ExitReport = { exitStatus: t.exitStatus, pid: t.pid };
        if (t.exitedAt !== undefined) report.exitedAt = t.exitedAt;
        this.onExit(c, report);
      } else if (t.status === 'paused' || t.status === 'running') {
        // A pause or resume made while berthd was not listening.
        const paused = t.status === 'paused';
        if (c.state.State.Paused !== paused) {
          c.state.State.Paused = paused;
          await this.ctx.persistQuietly(c);
        }
      }
    }
  }
}
