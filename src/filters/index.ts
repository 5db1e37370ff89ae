// The value matching shared by the `filters` of the Engine API's list,
// prune and events endpoints (dockerd's api/types/filters): labels, `until`
// times and port ranges. Pure functions, no I/O.
import { invalidParameter } from '../errors/index.js';

/**
 * One `label` filter value against a label set: `key` needs the key,
 * `key=value` the key with that value (dockerd's MatchKVList).
 */
export function labelMatches(labels: Readonly<Record<string, string>> | null | undefined, wanted: string): boolean {
  const l = labels ?? {};
  const i = wanted.indexOf('=');
  const key = i < 0 ? wanted : wanted.slice(0, i);
  if (!Object.prototype.hasOwnProperty.call(l, key)) return false;
  return i < 0 || l[key] === wanted.slice(i + 1);
}

/** Every `label` value matches and no `label!` value does, as prune filters combine them. */
export function labelsSelect(
  labels: Readonly<Record<string, string>> | null | undefined,
  wanted: readonly string[],
  unwanted: readonly string[] = [],
): boolean {
  return wanted.every((w) => labelMatches(labels, w)) && !unwanted.some((u) => labelMatches(labels, u));
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * An `until` value as dockerd takes it (its GetTimestamp): unix seconds
 * (with a fraction), an RFC 3339 time or date, or a Go duration before now
 * (`10m`, `1h30m`). Answers epoch milliseconds.
 */
export function untilMs(v: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    return now - ms;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidParameter(`invalid filter 'until=${v}': use a timestamp or a duration such as 10m`);
  return t;
}

/** A `publish`/`expose` value: `port[/proto]` or `start-end[/proto]`, tcp when no protocol is named. */
export interface PortFilter {
  start: number;
  end: number;
  proto: string;
}

export function parsePortFilter(key: string, value: string): PortFilter {
  if (value.includes(':')) throw invalidParameter(`filter for '${key}' should not contain ':': ${value}`);
  const slash = value.indexOf('/');
  const port = slash < 0 ? value : value.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : value.slice(slash + 1).toLowerCase() || 'tcp';
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  const start = m === null ? NaN : Number(m[1]);
  const end = m === null ? NaN : Number(m[2] ?? m[1]);
  if (!(start >= 0 && end <= 65535 && start <= end)) {
    throw invalidParameter(`error while looking up for ${key} ${value}: invalid port range ${JSON.stringify(port)}`);
  }
  return { start, end, proto };
}

export function portFilterMatches(f: PortFilter, port: number, proto: string): boolean {
  return port >= f.start && port <= f.end && proto.toLowerCase() === f.proto;
}

/** A `port/proto` key, as ExposedPorts and Ports maps spell them ("80" alone is tcp). */
export function splitPortKey(key: string): { port: number; proto: string } {
  const slash = key.indexOf('/');
  return { port: Number(slash < 0 ? key : key.slice(0, slash)), proto: slash < 0 ? 'tcp' : key.slice(slash + 1) };
}
