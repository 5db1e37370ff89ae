// Where a repository's registry is reached and how: endpoints (docker.io's
// mirrors first), which hosts are insecure (loopback always), and one
// keep-alive agent per endpoint with the TLS material of certs.d. Built once
// per configuration snapshot.
import { readdirSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { invalidParameter } from '../errors/index.js';
import type { RegistryConfigView, RegistrySettings } from './types.js';

export const HUB_DOMAIN = 'docker.io';
export const HUB_API_HOST = 'registry-1.docker.io';
const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];

export interface Endpoint {
  /** scheme and host of the registry API, e.g. https://127.0.0.1:5000 */
  origin: string;
  /** path prefix before /v2/ (mirrors may live under a path) */
  prefix: string;
  host: string;
  mirror: boolean;
  insecure: boolean;
}

/** `http://h/` stripped to `h` (dockerd warns and accepts it); other schemes are refused. */
export function normalizeInsecureEntry(entry: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(entry);
  if (!m) return entry;
  if (!/^https?$/i.test(m[1]!)) throw invalidParameter(`insecure registry ${entry} should not contain '://'`);
  return m[2]!.replace(/\/+$/, '');
}

/** A mirror URL as dockerd keeps it: http(s), no user, query or fragment, with a trailing slash. */
export function normalizeMirror(mirror: string): string {
  let u: URL;
  try {
    u = new URL(mirror);
  } catch {
    throw invalidParameter(`invalid mirror: ${JSON.stringify(mirror)} is not a valid URI`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidParameter(`invalid mirror: unsupported scheme ${JSON.stringify(u.protocol.slice(0, -1))} in ${JSON.stringify(mirror)}`);
  if (u.username || u.password) throw invalidParameter(`invalid mirror: username/password not allowed in URI ${JSON.stringify(mirror)}`);
  if (u.search || u.hash) throw invalidParameter(`invalid mirror: query or fragment not allowed in URI ${JSON.stringify(mirror)}`);
  const s = u.toString();
  return s.endsWith('/') ? s : `${s}/`;
}

function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i > 0 && hostPort.indexOf(':') === i ? hostPort.slice(0, i) : hostPort;
}

function addCidr(list: BlockList, cidr: string): boolean {
  const [addr, bits] = cidr.split('/');
  const family = isIP(addr ?? '');
  if (!family || bits === undefined || !/^\d+$/.test(bits)) return false;
  list.addSubnet(addr!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  return true;
}

interface TlsFiles {
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
}

/** certs.d of one host: CA roots (added to the system's) and a client certificate pair. */
export function readCertsDir(dir: string): TlsFiles {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return {};
  }
  const out: TlsFiles = {};
  const cas = names.filter((n) => n.endsWith('.crt')).map((n) => readFileSync(join(dir, n), 'utf8'));
  if (cas.length > 0) out.ca = [...rootCertificates, ...cas];
  for (const key of names.filter((n) => n.endsWith('.key'))) {
    const cert = `${key.slice(0, -'.key'.length)}.cert`;
    if (!names.includes(cert)) throw invalidParameter(`missing client certificate ${cert} for key ${key}`);
    out.cert = readFileSync(join(dir, cert));
    out.key = readFileSync(join(dir, key));
  }
  for (const cert of names.filter((n) => n.endsWith('.cert'))) {
    const key = `${cert.slice(0, -'.cert'.length)}.key`;
    if (!names.includes(key)) throw invalidParameter(`missing key ${key} for client certificate ${cert}`);
  }
  return out;
}

export class RegistryHosts {
  readonly settings: RegistrySettings;
  private readonly cidrs = new BlockList();
  private readonly cidrList: string[] = [];
  private readonly names = new Set<string>();
  private readonly mirrors: string[];
  private readonly agents = new Map<string, HttpAgent>();
  /** hosts that answered plain http where https was tried (insecure ones only) */
  private readonly plainHttp = new Set<string>();

  constructor(settings: RegistrySettings) {
    this.settings = settings;
    for (const cidr of LOOPBACK_CIDRS) {
      addCidr(this.cidrs, cidr);
      this.cidrList.push(cidr);
    }
    for (const raw of settings.insecure) {
      const entry = normalizeInsecureEntry(raw);
      if (entry.includes('/') && addCidr(this.cidrs, entry)) {
        if (!this.cidrList.includes(entry)) this.cidrList.push(entry);
      } else this.names.add(entry.toLowerCase());
    }
    this.mirrors = settings.mirrors.map(normalizeMirror);
  }

  /** Whether TLS may be skipped for host[:port]. */
  isInsecure(hostPort: string): boolean {
    const hp = hostPort.toLowerCase();
    if (this.names.has(hp)) return true;
    const host = hostOnly(hp);
    if (this.names.has(host)) return true;
    if (host === 'localhost') return true;
    const family = isIP(host);
    return family !== 0 && this.cidrs.check(host, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** API endpoints of a registry domain, in the order to try them. */
  endpoints(domain: string, opts: { mirrors?: boolean } = {}): Endpoint[] {
    const out: Endpoint[] = [];
    if (domain === HUB_DOMAIN && opts.mirrors !== false) {
      for (const m of this.mirrors) {
        const u = new URL(m);
        out.push({ origin: u.origin, prefix: u.pathname.replace(/\/+$/, ''), host: u.host, mirror: true, insecure: u.protocol === 'http:' || this.isInsecure(u.host) });
      }
    }
    const host = domain === HUB_DOMAIN ? HUB_API_HOST : domain;
    const insecure = this.isInsecure(host);
    const scheme = insecure && this.plainHttp.has(host) ? 'http' : 'https';
    out.push({ origin: `${scheme}://${host}`, prefix: '', host, mirror: false, insecure });
    return out;
  }

  /** Remembers that an insecure host speaks plain http. */
  notePlainHttp(host: string): void {
    this.plainHttp.add(host);
  }

  /** The keep-alive agent of an origin, with certs.d TLS material. */
  agent(origin: string, insecure: boolean): HttpAgent {
    let a = this.agents.get(origin);
    if (a) return a;
    const u = new URL(origin);
    if (u.protocol === 'http:') a = new HttpAgent({ keepAlive: true, maxSockets: 16 });
    else {
      const tls = readCertsDir(join(this.settings.certsDir, u.host));
      a = new HttpsAgent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: !insecure, ...tls });
    }
    this.agents.set(origin, a);
    return a;
  }

  /** Closes idle connections (the snapshot was replaced); requests in flight finish on theirs. */
  close(): void {
    for (const a of this.agents.values()) {
      for (const list of Object.values(a.freeSockets)) for (const sock of list ?? []) sock.destroy();
    }
  }

  /** `docker info`'s RegistryConfig. */
  view(): RegistryConfigView {
    const index: RegistryConfigView['IndexConfigs'] = {
      [HUB_DOMAIN]: { Name: HUB_DOMAIN, Mirrors: [...this.mirrors], Secure: true, Official: true },
    };
    for (const n of [...this.names].sort()) index[n] = { Name: n, Mirrors: [], Secure: false, Official: false };
    return {
      AllowNondistributableArtifactsCIDRs: null,
      AllowNondistributableArtifactsHostnames: null,
      InsecureRegistryCIDRs: [...this.cidrList],
      IndexConfigs: index,
      Mirrors: [...this.mirrors],
    };
  }
}
