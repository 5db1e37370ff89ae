// IPv4 address arithmetic and subnet choice for networks (pure). Addresses
// are unsigned 32-bit numbers; a subnet is its base address and prefix.
import { invalidParameter } from '../errors/index.js';

export interface Subnet {
  base: number;
  prefix: number;
}

export interface AddressPool {
  base: string;
  size: number;
}

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return (((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.1.2.0/24" → subnet; the host bits must be zero unless `loose` (then they are cleared). */
export function parseCidr(text: string, loose = false): Subnet {
  const slash = text.indexOf('/');
  const ip = parseIPv4(slash < 0 ? text : text.slice(0, slash));
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    if (text.includes(':')) throw invalidParameter(`invalid subnet ${text}: berth networks are IPv4 only`);
    throw invalidParameter(`invalid CIDR address: ${text}`);
  }
  const prefix = Number(prefixText);
  const base = (ip & mask(prefix)) >>> 0;
  if (!loose && base !== ip) throw invalidParameter(`invalid subnet ${text}: it has host bits set (did you mean ${formatCidr({ base, prefix })}?)`);
  return { base, prefix };
}

export function formatCidr(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefix}`;
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefix)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

export function broadcast(s: Subnet): number {
  return (s.base | (~mask(s.prefix) >>> 0)) >>> 0;
}

/** The first usable address: dockerd's default gateway. */
export function firstHost(s: Subnet): number {
  return s.prefix >= 31 ? s.base : s.base + 1;
}

/** Whether an address can be handed to a container in this subnet. */
export function usableIn(s: Subnet, ip: number): boolean {
  if (!contains(s, ip)) return false;
  if (s.prefix >= 31) return true;
  return ip !== s.base && ip !== broadcast(s);
}

/**
 * The first subnet of the pools (in order, each split into subnets of its
 * size) that overlaps nothing taken: other networks and the host's routes.
 */
export function chooseSubnet(pools: readonly AddressPool[], taken: readonly Subnet[]): Subnet | undefined {
  for (const pool of pools) {
    const base = parseCidr(pool.base, true);
    if (pool.size < base.prefix || pool.size > 30) continue;
    const count = 2 ** (pool.size - base.prefix);
    const step = 2 ** (32 - pool.size);
    for (let i = 0; i < count; i++) {
      const cand: Subnet = { base: (base.base + i * step) >>> 0, prefix: pool.size };
      if (!taken.some((t) => overlaps(t, cand))) return cand;
    }
  }
  return undefined;
}

/** `ip -4 route` destinations (the default route excluded): subnets the host already reaches. */
export function routeSubnets(ipRouteOutput: string): Subnet[] {
  const out: Subnet[] = [];
  for (const line of ipRouteOutput.split('\n')) {
    const dst = line.trim().split(/\s+/)[0] ?? '';
    if (dst === '' || dst === 'default') continue;
    try {
      out.push(parseCidr(dst.includes('/') ? dst : `${dst}/32`, true));
    } catch {
      // not an IPv4 destination (e.g. "blackhole", "unreachable")
    }
  }
  return out;
}
