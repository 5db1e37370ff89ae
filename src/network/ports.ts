// Published ports as plain data: the HostConfig's PortBindings, ExposedPorts
// and PublishAllPorts turned into a plan of host-port requests (pure), and
// the views dockerd gives of the ports a container got.
import { invalidParameter } from '../errors/index.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** One entry of HostConfig.PortBindings["80/tcp"]. */
export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** A container port with the host ports it may take (start..end; 0..0 is "any free port"). */
export interface PortRequest {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  hostStart: number;
  hostEnd: number;
}

/** A port a running container holds. */
export interface PublishedPort {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

function portNumber(text: string, spec: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw invalidParameter(`invalid port specification: ${JSON.stringify(spec)}`);
  const n = Number(text);
  if (n > 65535 || (!allowZero && n === 0)) throw invalidParameter(`invalid port specification: ${JSON.stringify(spec)}`);
  return n;
}

/** "START" or "START-END" → [start, end]. */
function portRange(text: string, spec: string, allowZero = false): [number, number] {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const n = portNumber(text, spec, allowZero);
    return [n, n];
  }
  const start = portNumber(text.slice(0, dash), spec, allowZero);
  const end = portNumber(text.slice(dash + 1), spec, allowZero);
  if (end < start) throw invalidParameter(`invalid port range: ${JSON.stringify(text)}: the end is below the start`);
  return [start, end];
}

/** "80", "80/tcp", "8000-8010/udp" → its range and protocol. */
export function parsePortKey(key: string): { start: number; end: number; protocol: Protocol } {
  const slash = key.indexOf('/');
  const portText = slash < 0 ? key : key.slice(0, slash);
  const proto = (slash < 0 ? 'tcp' : key.slice(slash + 1)).toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(proto)) throw invalidParameter(`invalid proto: ${proto}`);
  const [start, end] = portRange(portText, key);
  return { start, end, protocol: proto as Protocol };
}

/** A HostPort value: "" (any), "8080" or "8080-8090". */
export function parseHostPort(text: string | undefined): [number, number] {
  if (text === undefined || text === '') return [0, 0];
  return portRange(text, text, true);
}

function checkHostIp(ip: string): string {
  if (ip === '') return '';
  if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255)) {
    if (ip.includes(':')) throw invalidParameter(`invalid host IP ${ip}: berth publishes ports on IPv4 addresses only`);
    throw invalidParameter(`invalid host IP address: ${ip}`);
  }
  return ip;
}

/**
 * The host ports a container asks for. A container range maps one to one
 * onto a host range of the same length; a single container port with a
 * host range takes the first free port of that range (as dockerd does).
 * PublishAllPorts gives every exposed port without a binding a free port.
 */
export function planPorts(
  exposed: Record<string, unknown> | undefined,
  bindings: Record<string, PortBinding[] | null> | undefined,
  publishAll: boolean,
): PortRequest[] {
  const out: PortRequest[] = [];
  const bound = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { start, end, protocol } = parsePortKey(key);
    const entries = list === null || list.length === 0 ? [{}] : list;
    for (const b of entries) {
      if (b === null || typeof b !== 'object') throw invalidParameter(`invalid port binding for ${key}: expected {"HostIp","HostPort"}`);
      const hostIp = checkHostIp(b.HostIp ?? '');
      const [hs, he] = parseHostPort(b.HostPort);
      const count = end - start + 1;
      if (count > 1 && hs !== 0 && he - hs + 1 !== count) {
        throw invalidParameter(`invalid ranges specified for container and host Ports: ${key} and ${b.HostPort ?? ''}`);
      }
      for (let p = start; p <= end; p++) {
        bound.add(`${p}/${protocol}`);
        const off = p - start;
        if (count > 1 && hs !== 0) out.push({ containerPort: p, protocol, hostIp, hostStart: hs + off, hostEnd: hs + off });
        else out.push({ containerPort: p, protocol, hostIp, hostStart: hs, hostEnd: he });
      }
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const { start, end, protocol } = parsePortKey(key);
      for (let p = start; p <= end; p++) {
        if (bound.has(`${p}/${protocol}`)) continue;
        bound.add(`${p}/${protocol}`);
        out.push({ containerPort: p, protocol, hostIp: '', hostStart: 0, hostEnd: 0 });
      }
    }
  }
  return out;
}

/** Every container port a container mentions (exposed or bound), as "80/tcp" keys, in order. */
export function portKeys(exposed: Record<string, unknown> | undefined, bindings: Record<string, unknown> | undefined): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const key of [...Object.keys(exposed ?? {}), ...Object.keys(bindings ?? {})]) {
    const { start, end, protocol } = parsePortKey(key);
    for (let p = start; p <= end; p++) {
      const k = `${p}/${protocol}`;
      if (!seen.has(k)) keys.push(k);
      seen.add(k);
    }
  }
  return keys;
}

/** NetworkSettings.Ports: each known port, with its host bindings or null when not published. */
export function portsView(keys: readonly string[], published: readonly PublishedPort[]): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const view: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const k of keys) view[k] = null;
  for (const p of published) {
    const k = `${p.containerPort}/${p.protocol}`;
    const list = view[k] ?? [];
    list.push({ HostIp: p.hostIp === '' ? '0.0.0.0' : p.hostIp, HostPort: String(p.hostPort) });
    view[k] = list;
  }
  return view;
}

export interface ListPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** The Ports of a GET /containers/json entry. */
export function listPorts(keys: readonly string[], published: readonly PublishedPort[]): ListPort[] {
  const out: ListPort[] = [];
  const done = new Set<string>();
  for (const p of published) {
    done.add(`${p.containerPort}/${p.protocol}`);
    out.push({ IP: p.hostIp === '' ? '0.0.0.0' : p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
  }
  for (const k of keys) {
    if (done.has(k)) continue;
    const { start, protocol } = parsePortKey(k);
    out.push({ PrivatePort: start, Type: protocol });
  }
  return out;
}
