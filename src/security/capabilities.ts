// Capability sets: Docker's defaults, --cap-add/--cap-drop (ALL, with or
// without CAP_), and --privileged as every capability the running kernel has.
import { invalidParameter } from '../errors/index.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from '../oci/index.js';

/**
 * The capabilities a kernel whose /proc/sys/kernel/cap_last_cap reads
 * `lastCap` knows (ALL_CAPABILITIES is in capability-number order), less
 * those missing from berthd's own bounding set (`bounding`, CapBnd): asking
 * for either makes runc fail with "unable to apply caps: operation not permitted".
 */
export function kernelCapabilities(lastCap: number | undefined, bounding?: bigint): string[] {
  const known = lastCap === undefined || lastCap < 0 ? [...ALL_CAPABILITIES] : ALL_CAPABILITIES.slice(0, lastCap + 1);
  if (bounding === undefined) return known;
  return known.filter((_, i) => (bounding & (1n << BigInt(i))) !== 0n);
}

/** What the host lets a container have: lastCap and the daemon's bounding set. */
export interface CapabilityLimits {
  lastCap?: number;
  bounding?: bigint;
}

function normalize(c: string): string {
  const up = c.trim().toUpperCase();
  return up === 'ALL' || up.startsWith('CAP_') ? up : `CAP_${up}`;
}

const KNOWN = new Set(ALL_CAPABILITIES);

function checked(list: readonly string[] | null | undefined, field: string): string[] {
  return (list ?? []).map(normalize).map((c) => {
    if (c !== 'ALL' && !KNOWN.has(c)) throw invalidParameter(`invalid ${field}: unknown capability: "${c}"`);
    return c;
  });
}

export interface CapabilityRequest {
  Privileged?: boolean;
  CapAdd?: readonly string[] | null;
  CapDrop?: readonly string[] | null;
}

/** The bounding (= effective = permitted) set of a container's process. */
export function containerCapabilities(host: CapabilityRequest, limits: CapabilityLimits = {}): string[] {
  const all = kernelCapabilities(limits.lastCap, limits.bounding);
  const add = checked(host.CapAdd, 'CapAdd');
  const drop = checked(host.CapDrop, 'CapDrop');
  if (host.Privileged === true) return all;
  const available = new Set(all);
  let caps = add.includes('ALL') ? [...all] : [...DEFAULT_CAPABILITIES, ...add];
  if (drop.includes('ALL')) caps = add.filter((c) => c !== 'ALL');
  else caps = caps.filter((c) => !drop.includes(c));
  return [...new Set(caps)].filter((c) => available.has(c));
}
