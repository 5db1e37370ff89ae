// Wall-clock time with nanosecond resolution for log and event timestamps. Date.now()
// only has milliseconds, so the monotonic clock supplies the rest; the two are
// re-anchored whenever they drift apart (e.g. after an NTP step).

const NS_PER_MS = 1_000_000n;
const MAX_DRIFT_NS = 1_000_000_000n;

let anchorWallNs = BigInt(Date.now()) * NS_PER_MS;
let anchorMonoNs = process.hrtime.bigint();
let lastNs = 0n;

/** Current time in nanoseconds since the Unix epoch; never goes backwards. */
export function nowNs(): bigint {
  let t = anchorWallNs + (process.hrtime.bigint() - anchorMonoNs);
  const wall = BigInt(Date.now()) * NS_PER_MS;
  if (t - wall > MAX_DRIFT_NS || wall - t > MAX_DRIFT_NS) {
    anchorWallNs = wall;
    anchorMonoNs = process.hrtime.bigint();
    t = wall;
  }
  if (t < lastNs) t = lastNs;
  lastNs = t;
  return t;
}

/** Unix seconds (fractional, as the API passes since/until) to nanoseconds. */
export function secondsToNs(seconds: number): bigint {
  const whole = Math.floor(seconds);
  const frac = Math.round((seconds - whole) * 1e9);
  return BigInt(whole) * 1_000_000_000n + BigInt(frac);
}
