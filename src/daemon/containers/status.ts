// Timestamps and the human status text of `docker ps` (`Up 3 seconds`,
// `Exited (0) 2 minutes ago`), computed the way dockerd does.
import { formatRfc3339Nano, nowNs, parseRfc3339Nano } from '../io/index.js';
import { ZERO_TIME, type ContainerStateFields } from './types.js';
import { healthSuffix } from '../health/index.js';

export function nowTimestamp(): string {
  return formatRfc3339Nano(nowNs(), false);
}

// `docker ps` turns every container's Created, StartedAt and FinishedAt into
// milliseconds on every call; the texts rarely change, so the results are
// kept (a bounded map, emptied when full).
const parsedMs = new Map<string, number>();
const PARSED_MS_MAX = 4096;

/** Milliseconds since the epoch of a stored timestamp; 0 for the zero time. */
export function timestampMs(ts: string): number {
  if (ts === ZERO_TIME || ts === '') return 0;
  let ms = parsedMs.get(ts);
  if (ms === undefined) {
    const ns = parseRfc3339Nano(ts);
    ms = ns === undefined ? 0 : Number(ns / 1_000_000n);
    if (parsedMs.size >= PARSED_MS_MAX) parsedMs.clear();
    parsedMs.set(ts, ms);
  }
  return ms;
}

export function isZeroTime(ts: string): boolean {
  return timestampMs(ts) === 0;
}

/** Go's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** The Status column of `docker ps`. */
export function statusText(s: ContainerStateFields, removing: boolean, nowMs: number = Date.now()): string {
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(Math.max(0, nowMs - timestampMs(s.FinishedAt)))} ago`;
  if (s.Running) {
    const up = humanDuration(Math.max(0, nowMs - timestampMs(s.StartedAt)));
    return s.Paused ? `Up ${up} (Paused)` : `Up ${up}${healthSuffix(s.Health)}`;
  }
  if (removing) return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (isZeroTime(s.StartedAt)) return 'Created';
  if (isZeroTime(s.FinishedAt)) return '';
  return `Exited (${s.ExitCode}) ${humanDuration(Math.max(0, nowMs - timestampMs(s.FinishedAt)))} ago`;
}
