// Healthcheck settings (Config.Healthcheck, from the create body or the
// image): the create-time checks with dockerd's texts, and the probe plan
// with dockerd's defaults. Pure.
import { invalidParameter } from '../../errors/index.js';
import type { HealthConfig } from '../images/index.js';

/** Config.Healthcheck, the image config's shape (durations in nanoseconds; 0 takes the default). */
export type HealthcheckConfig = HealthConfig;

export interface ProbePlan {
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health as inspect shows it. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

const MS = 1_000_000;
const DEFAULTS = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT_BYTES = 4096;

/** Throws dockerd's messages for a Healthcheck that cannot work. */
export function checkHealthcheck(raw: unknown): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidParameter('Healthcheck must be an object');
  const h = raw as Record<string, unknown>;
  if (h.Test !== undefined && h.Test !== null && (!Array.isArray(h.Test) || !h.Test.every((t) => typeof t === 'string'))) {
    throw invalidParameter('Healthcheck.Test must be a list of strings');
  }
  for (const f of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(`Healthcheck.${f} must be an integer (nanoseconds)`);
    if (v !== 0 && v < MS) throw invalidParameter(`${f} in Healthcheck cannot be less than 1ms`);
  }
  const r = h.Retries;
  if (r !== undefined && r !== null && (typeof r !== 'number' || !Number.isInteger(r))) throw invalidParameter('Healthcheck.Retries must be an integer');
  if (typeof r === 'number' && r < 0) throw invalidParameter('Retries in Healthcheck cannot be negative');
  const test = h.Test as string[] | undefined;
  if (test !== undefined && test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0] as string)) {
    throw invalidParameter(`unknown Healthcheck type ${JSON.stringify(test[0])}: use NONE, CMD or CMD-SHELL`);
  }
}

/**
 * The container's healthcheck over the image's, field by field as dockerd
 * merges them: an empty Test and zero durations or retries inherit.
 */
export function mergeHealthcheck(own: unknown, image: HealthConfig | undefined): HealthConfig | undefined {
  if (own === undefined || own === null) return image;
  const mine = own as HealthConfig;
  if (image === undefined) return mine;
  const out: HealthConfig = { ...mine };
  if (mine.Test === undefined || mine.Test.length === 0) {
    if (image.Test !== undefined) out.Test = image.Test;
  }
  for (const f of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if ((mine[f] === undefined || mine[f] === 0) && image[f] !== undefined) out[f] = image[f];
  }
  return out;
}

/** The probes to run, or undefined when the container has none (no Test, or NONE). */
export function probePlan(raw: HealthcheckConfig | undefined, shell: readonly string[] | undefined): ProbePlan | undefined {
  const test = raw?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  let cmd: string[];
  if (test[0] === 'CMD') cmd = test.slice(1);
  else if (test[0] === 'CMD-SHELL') cmd = [...(shell !== undefined && shell.length > 0 ? shell : ['/bin/sh', '-c']), test.slice(1).join(' ')];
  else return undefined;
  if (cmd.length === 0) return undefined;
  const ms = (ns: number | undefined, fallback: number): number => (ns === undefined || ns <= 0 ? fallback : Math.max(1, Math.round(ns / MS)));
  return {
    cmd,
    intervalMs: ms(raw?.Interval, DEFAULTS.interval),
    timeoutMs: ms(raw?.Timeout, DEFAULTS.timeout),
    startPeriodMs: ms(raw?.StartPeriod, DEFAULTS.startPeriod),
    startIntervalMs: ms(raw?.StartInterval, DEFAULTS.startInterval),
    retries: raw?.Retries !== undefined && raw.Retries > 0 ? raw.Retries : DEFAULTS.retries,
  };
}

/** Go's time.Duration.String() for whole milliseconds: 30s, 1.5s, 100ms, 1m30s. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  return h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
}

/**
 * The health after one probe (dockerd's rules): success makes it healthy
 * and resets the streak; a failure inside the start period while still
 * starting is not counted; otherwise the streak grows and reaching
 * `retries` makes it unhealthy.
 */
export function nextHealth(current: HealthState, result: HealthLogEntry, plan: ProbePlan, inStartPeriod: boolean): HealthState {
  const Log = [...current.Log, result].slice(-MAX_LOG_ENTRIES);
  if (result.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  if (inStartPeriod && current.Status === 'starting') return { ...current, Log };
  const FailingStreak = current.FailingStreak + 1;
  return { Status: FailingStreak >= plan.retries ? 'unhealthy' : current.Status, FailingStreak, Log };
}

/** `docker ps` suffix of a running container's status. */
export function healthSuffix(h: HealthState | undefined): string {
  if (h === undefined) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}
