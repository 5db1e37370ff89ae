// One containerd event subscription for the namespace's task exits and OOMs,
// re-established whenever it ends (containerd may be restarted by its
// supervisor), each time followed by a reconciliation pass that catches
// exits that happened while nobody was listening.
import type { ContainerdEvent, Subscription, TaskEventPayload } from '../../containerd/types.js';
import type { ServiceContext } from './context.js';
import type { ExitReport } from './exit.js';
import type { Container } from './container.js';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Time for a new subscription to be in place before reconciling. */
const SETTLE_MS = 150;

export type ExitHandler = (c: Container, report: ExitReport) => void;

function isTaskPayload(e: ContainerdEvent['event']): e is TaskEventPayload {
  return typeof (e as TaskEventPayload).containerId === 'string';
}

export class ExitMonitor {
  private sub: Subscription | undefined;
  private closed = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly onExit: ExitHandler,
  ) {}

  start(): void {
    this.closed = false;
    this.subscribe();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.sub?.close();
    this.sub = undefined;
  }

  private subscribe(): void {
    if (this.closed) return;
    const ns = JSON.stringify(this.ctx.deps.namespace);
    const filters = [`namespace==${ns},topic=="/tasks/exit"`, `namespace==${ns},topic=="/tasks/oom"`];
    let ended = false;
    this.sub = this.ctx.client.events.subscribe(
      filters,
      (e) => this.onEvent(e),
      (err) => {
        if (ended) return;
        ended = true;
        if (this.closed) return;
        this.ctx.log.debug({ err }, 'containerd event stream ended; subscribing again');
        this.timer = setTimeout(() => this.subscribe(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      },
    );
    this.timer = setTimeout(() => {
      if (ended || this.closed) return;
      void this.reconcile().then(
        () => (this.backoff = MIN_BACKOFF_MS),
        (err: unknown) => this.ctx.log.debug({ err }, 'reconciliation with containerd failed; retrying with the next subscription'),
      );
    }, SETTLE_MS);
  }

  private onEvent(e: ContainerdEvent): void {
    if (e.namespace !== this.ctx.deps.namespace || !isTaskPayload(e.event)) return;
    const c = this.ctx.registry.byExactId(e.event.containerId);
    if (c === undefined) return;
    if (e.topic === '/tasks/oom') {
      c.oomSeen = true;
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
