// Summaries of repeated measurements and how they are printed.

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

export type Unit = 'ms' | 'MiB' | 'req/s';

/** The number and its suffix, scaled by `scaleOf` so a median and its range read alike. */
function parts(v: number, unit: Unit, scaleOf: number = v): [string, string] {
  if (unit === 'MiB') return [v.toFixed(1), 'MiB'];
  if (unit === 'req/s') return [v.toFixed(0), 'req/s'];
  if (scaleOf >= 10_000) return [(v / 1000).toFixed(2), 's'];
  if (scaleOf >= 100) return [v.toFixed(0), 'ms'];
  if (scaleOf >= 1) return [v.toFixed(1), 'ms'];
  return [v.toFixed(2), 'ms'];
}

export function formatValue(v: number, unit: Unit): string {
  const [n, u] = parts(v, unit);
  return `${n} ${u}`;
}

/** `412 ms [398–455]` */
export function formatSummary(s: Summary | undefined, unit: Unit): string {
  if (!s) return '—';
  const [med, u] = parts(s.median, unit);
  return `${med} ${u} [${parts(s.min, unit, s.median)[0]}–${parts(s.max, unit, s.median)[0]}]`;
}

export function ratio(a: Summary | undefined, b: Summary | undefined): number | undefined {
  if (!a || !b || b.median === 0) return undefined;
  return a.median / b.median;
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function msSince(start: bigint, end: bigint = process.hrtime.bigint()): number {
  return Number(end - start) / 1e6;
}
