// Runs the probes of running containers: one timer per container, a probe
// as an exec, the result folded into State.Health, `health_status` events on
// every change of status. Started on each container start, stopped at its exit.
import type { Logger } from '../../log/index.js';
import { formatRfc3339Nano } from '../io/index.js';
import { goDuration, nextHealth, probePlan, type HealthcheckConfig, type HealthLogEntry, type HealthState, type ProbePlan } from './config.js';

/** A container as the monitor sees it. */
export interface HealthTarget {
  readonly id: string;
  healthcheck(): HealthcheckConfig | undefined;
  shell(): readonly string[] | undefined;
  isRunning(): boolean;
  isPaused(): boolean;
  /** when the current run started (ms since the epoch) */
  startedAtMs(): number;
  getHealth(): HealthState | undefined;
  setHealth(h: HealthState | undefined): void;
  publish(action: string): void;
}

export interface ProbeResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

/** Runs one probe command in the container; kills it after timeoutMs. */
export type ProbeRunner = (containerId: string, cmd: string[], timeoutMs: number) => Promise<ProbeResult>;

interface Watch {
  target: HealthTarget;
  plan: ProbePlan;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

const now = (): string => formatRfc3339Nano(BigInt(Date.now()) * 1_000_000n, false);

export class HealthMonitor {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly runProbe: ProbeRunner,
    private readonly log: Logger,
  ) {}

  /** (Re)starts the probes of a container that just started; a container without a healthcheck has no State.Health. */
  start(target: HealthTarget, resume = false): void {
    this.stop(target.id);
    const plan = probePlan(target.healthcheck(), target.shell());
    if (plan === undefined) {
      if (target.getHealth() !== undefined) target.setHealth(undefined);
      return;
    }
    // A new run starts over (the log of earlier probes stays); berthd coming back to a running container resumes.
    const current = target.getHealth();
    if (!resume || current === undefined) target.setHealth({ Status: 'starting', FailingStreak: 0, Log: current?.Log ?? [] });
    const w: Watch = { target, plan, timer: undefined, stopped: false };
    this.watches.set(target.id, w);
    this.schedule(w);
  }

  stop(id: string): void {
    const w = this.watches.get(id);
    if (w === undefined) return;
    w.stopped = true;
    clearTimeout(w.timer);
    this.watches.delete(id);
  }

  stopAll(): void {
    for (const id of [...this.watches.keys()]) this.stop(id);
  }

  private inStartPeriod(w: Watch): boolean {
    return Date.now() - w.target.startedAtMs() < w.plan.startPeriodMs;
  }

  private schedule(w: Watch): void {
    if (w.stopped) return;
    const starting = w.target.getHealth()?.Status === 'starting' && this.inStartPeriod(w);
    w.timer = setTimeout(() => void this.probe(w), starting ? w.plan.startIntervalMs : w.plan.intervalMs);
    w.timer.unref();
  }

  private async probe(w: Watch): Promise<void> {
    const t = w.target;
    if (w.stopped || !t.isRunning()) return;
    if (t.isPaused()) return this.schedule(w);
    const Start = now();
    let result: ProbeResult;
    try {
      result = await this.runProbe(t.id, w.plan.cmd, w.plan.timeoutMs);
    } catch (err) {
      result = { exitCode: -1, output: (err as Error).message, timedOut: false };
    }
    if (w.stopped || !t.isRunning()) return;
    const output = result.timedOut
      ? `Health check exceeded timeout (${goDuration(w.plan.timeoutMs)})${result.output !== '' ? `: ${result.output}` : ''}`
      : result.output;
    const entry: HealthLogEntry = { Start, End: now(), ExitCode: result.timedOut ? -1 : result.exitCode, Output: output };
    const before = t.getHealth() ?? { Status: 'starting' as const, FailingStreak: 0, Log: [] };
    const after = nextHealth(before, entry, w.plan, this.inStartPeriod(w));
    t.setHealth(after);
    if (after.Status !== before.Status) {
      this.log.debug({ container: t.id, status: after.Status }, 'health status changed');
      t.publish(`health_status: ${after.Status}`);
    }
    this.schedule(w);
  }
}

