// RFC 3339 timestamps with nanoseconds, as Go formats and parses them.

const NS_PER_S = 1_000_000_000n;
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Format nanoseconds since the epoch in UTC. `fixed` keeps all nine fraction
 * digits (Docker's RFC3339NanoFixed, used for `logs --timestamps`); otherwise
 * trailing zeros are trimmed like Go's RFC3339Nano (used in json-file logs).
 */
export function formatRfc3339Nano(ns: bigint, fixed: boolean): string {
  let sec = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    frac += NS_PER_S;
    sec -= 1n;
  }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  let digits = frac.toString().padStart(9, '0');
  if (!fixed) digits = digits.replace(/0+$/, '');
  return digits === '' ? `${base}Z` : `${base}.${digits}Z`;
}

// Log lines come in runs: lines of one read of the output share a timestamp,
// and runs share a second. The last timestamp and the whole-second part of
// the last one parsed are kept, so most parses compare a string or only add
// the fraction.
let lastText = '';
let lastNs = 0n;
let lastSecondText = '';
let lastSecondNs = 0n;

/** Parse an RFC 3339 timestamp into nanoseconds since the epoch; undefined when malformed. */
export function parseRfc3339Nano(text: string): bigint | undefined {
  if (text === lastText) return lastNs;
  const ns = parseUncached(text);
  if (ns !== undefined) {
    lastText = text;
    lastNs = ns;
  }
  return ns;
}

function parseUncached(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const base = m[1] as string;
  const fraction = m[2];
  const zone = m[3] as string;
  const secondText = `${base}${zone}`;
  if (secondText !== lastSecondText) {
    const ms = Date.parse(secondText);
    if (Number.isNaN(ms)) return undefined;
    lastSecondNs = BigInt(ms / 1000) * NS_PER_S;
    lastSecondText = secondText;
  }
  return fraction === undefined ? lastSecondNs : lastSecondNs + BigInt(fraction.padEnd(9, '0'));
}
