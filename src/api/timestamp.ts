// Timestamps in query parameters (events since/until, logs since/until): Unix
// seconds with an optional fraction of up to 9 digits, as the docker CLI sends
// them, or RFC 3339.
import { invalidParameter } from '../errors/index.js';

const UNIX = /^(\d+)(?:\.(\d{1,9}))?$/;
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch, as a Number (the same precision as EngineEvent.timeNano). */
export function parseTimestampNs(raw: string, name: string): number {
  const v = raw.trim();
  const unix = UNIX.exec(v);
  if (unix) {
    return Number(unix[1]) * 1e9 + Number((unix[2] ?? '').padEnd(9, '0'));
  }
  const rfc = RFC3339.exec(v);
  if (rfc) {
    const ms = Date.parse(`${rfc[1]?.replace(' ', 'T')}${rfc[3]?.toUpperCase()}`);
    if (!Number.isNaN(ms)) return ms * 1e6 + Number((rfc[2] ?? '').padEnd(9, '0'));
  }
  throw invalidParameter(
    `invalid value for ${name}: ${JSON.stringify(raw)} (use Unix seconds such as 1700000000.5 or RFC 3339 such as 2024-01-02T15:04:05Z)`,
  );
}

/** An optional timestamp query parameter; absent or empty → undefined. */
export function timestampQuery(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  return parseTimestampNs(raw, name);
}
