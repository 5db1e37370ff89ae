// The embedded name server at 127.0.0.11 for containers on user-defined
// networks, as on dockerd. Its sockets are bound inside each container's
// namespace by a short-lived helper (nsenter + python3, or node where there
// is no python3) that hands them to berthd over Node's IPC channel; berthd
// answers names of the container's networks and relays every other question
// to the upstream servers, from its own namespace.
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import * as packet from 'dns-packet';
import { internal } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createNetns, netnsFile } from './host.js';

export const RESOLVER_IP = '127.0.0.11';
const TTL = 600;
const UPSTREAM_TIMEOUT_MS = 4000;
const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

export interface Upstream {
  host: string;
  port: number;
}

/** What the resolver asks of the network service. */
export interface NameSource {
  /** addresses of a name on the container's networks; undefined when the name is not one of theirs */
  lookup(containerId: string, name: string): string[] | undefined;
  /** where other names go for this container */
  upstreams(containerId: string): Upstream[];
  /** the name of an address on the container's networks (PTR) */
  reverse?(containerId: string, ip: string): string | undefined;
}

/** "4.3.2.10.in-addr.arpa" → "10.2.3.4". */
export function ptrAddress(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(name);
  return m === null ? undefined : `${m[4]}.${m[3]}.${m[2]}.${m[1]}`;
}

/** The PTR answer for an address the container's networks own (pure); undefined: not ours. */
export function reverseAnswer(query: packet.DecodedPacket, reverse: (ip: string) => string | undefined): Buffer | undefined {
  const q = query.questions?.[0];
  if (q === undefined || q.type !== 'PTR') return undefined;
  const ip = ptrAddress(q.name);
  const name = ip === undefined ? undefined : reverse(ip);
  if (name === undefined) return undefined;
  return packet.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE | (query.flag_rd ? packet.RECURSION_DESIRED : 0),
    questions: [q],
    answers: [{ type: 'PTR', name: q.name, ttl: TTL, class: 'IN', data: name }],
  });
}

/** "1.2.3.4" or "1.2.3.4:5353" → upstream. */
export function parseUpstream(text: string): Upstream {
  const i = text.lastIndexOf(':');
  if (i > 0 && !text.includes('::')) return { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
  return { host: text, port: 53 };
}

/** nameserver lines of a resolv.conf. */
export function resolvConfServers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined)
    .slice(0, 3);
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The answer to a question about a name the container's networks own (pure):
 * A records (shuffled), and NOERROR without answers for other types of a
 * known name. undefined: not ours, to be forwarded.
 */
export function localAnswer(query: packet.DecodedPacket, lookup: (name: string) => string[] | undefined): Buffer | undefined {
  const q = query.questions?.[0];
  if (q === undefined || (query.questions?.length ?? 0) !== 1) return undefined;
  const name = q.name.replace(/\.$/, '').toLowerCase();
  const ips = lookup(name);
  if (ips === undefined) return undefined;
  const answers: packet.Answer[] = q.type === 'A' ? shuffle([...ips]).map((ip) => ({ type: 'A', name: q.name, ttl: TTL, class: 'IN', data: ip })) : [];
  return packet.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE | (query.flag_rd ? packet.RECURSION_DESIRED : 0),
    questions: [q],
    answers,
  });
}

/** An error answer (SERVFAIL, REFUSED) to a raw query. */
export function errorAnswer(raw: Buffer, rcode: number): Buffer | undefined {
  try {
    const q = packet.decode(raw);
    return packet.encode({ type: 'response', id: q.id ?? 0, flags: packet.RECURSION_AVAILABLE | (q.flag_rd ? packet.RECURSION_DESIRED : 0) | rcode, questions: q.questions ?? [] });
  } catch {
    return undefined;
  }
}

/** Relays a raw query over UDP to the first upstream that answers. */
function forward(raw: Buffer, upstreams: readonly Upstream[]): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    if (upstreams.length === 0) return resolve(undefined);
    const sock = createSocket('udp4');
    let done = false;
    const finish = (b: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    const timer = setTimeout(() => finish(undefined), UPSTREAM_TIMEOUT_MS);
    sock.on('message', (msg) => finish(msg));
    sock.on('error', () => finish(undefined));
    for (const u of upstreams) sock.send(raw, u.port, u.host);
  });
}

// Bound inside the namespace and handed over. python3 (a tenth of node's
// start-up cost, which counted on every start) speaks the IPC channel's
// protocol itself: JSON lines, a socket passed with SCM_RIGHTS alongside a
// NODE_HANDLE message, which berthd acknowledges; it exits after the second
// acknowledgement. SIOCGIFFLAGS/SIOCSIFFLAGS set IFF_UP on a new namespace's
// loopback.
const PYTHON = '/usr/bin/python3';
const PY_HELPER = `
import _socket as s, sys
def give(sock, msg):
    c.sendmsg([msg], [(s.SOL_SOCKET, s.SCM_RIGHTS, sock.fileno().to_bytes(4, sys.byteorder))])
    got = b''
    while not got.endswith(b'\\n'):
        d = c.recv(256)
        if not d: sys.exit(1)
        got += d
try:
    c = s.socket(fileno=int(sys.argv[1]))
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    if len(sys.argv) > 2:
        # A namespace unshare made for this helper: berthd may go on with it
        # now; its loopback goes up first, as "ip link set dev lo up" would.
        c.sendall(b'"ns"\\n')
        import fcntl
        r = bytearray(fcntl.ioctl(u.fileno(), 0x8913, b'lo'.ljust(40, b'\\0')))
        flags = int.from_bytes(r[16:18], sys.byteorder) | 1
        r[16:18] = flags.to_bytes(2, sys.byteorder)
        fcntl.ioctl(u.fileno(), 0x8914, bytes(r))
    u.bind(('${RESOLVER_IP}', 53))
    t = s.socket(s.AF_INET, s.SOCK_STREAM)
    t.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1)
    t.bind(('${RESOLVER_IP}', 53))
    t.listen(511)
    give(u, b'{"cmd":"NODE_HANDLE","type":"dgram.Socket","dgramType":"udp4","msg":"udp"}\\n')
    give(t, b'{"cmd":"NODE_HANDLE","type":"net.Server","msg":"tcp"}\\n')
except OSError as e:
    sys.stderr.write(e.strerror or str(e))
    sys.exit(1)
`;

// The same in node, for a host without python3; it exits when berthd says it
// has both sockets.
const HELPER = `
const dgram = require('node:dgram'); const net = require('node:net');
const fail = (e) => { process.stderr.write(String(e && e.message || e)); process.exit(1); };
const u = dgram.createSocket('udp4'); u.on('error', fail);
u.bind({ address: '${RESOLVER_IP}', port: 53, exclusive: false }, () => {
  const t = net.createServer(); t.on('error', fail);
  t.listen({ host: '${RESOLVER_IP}', port: 53, exclusive: false }, () => {
    process.on('message', () => process.exit(0));
    process.send('udp', u, {}, () => process.send('tcp', t));
  });
});`;

let python: boolean | undefined;
function hasPython(): boolean {
  python ??= existsSync(PYTHON);
  return python;
}

interface Bound {
  udp?: UdpSocket;
  tcp?: Server;
}

export class EmbeddedDns {
  private readonly bound = new Map<string, Bound>();

  constructor(
    private readonly names: NameSource,
    private readonly log: Logger,
  ) {}

  private async answer(containerId: string, raw: Buffer): Promise<Buffer | undefined> {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(raw);
    } catch {
      return undefined;
    }
    const reverse = this.names.reverse;
    const local =
      reverseAnswer(query, (ip) => reverse?.call(this.names, containerId, ip)) ??
      (query.questions?.[0]?.type === 'PTR' ? undefined : localAnswer(query, (name) => this.names.lookup(containerId, name)));
    if (local !== undefined) return local;
    const ups = this.names.upstreams(containerId);
    if (ups.length === 0) return errorAnswer(raw, RCODE_REFUSED);
    return (await forward(raw, ups)) ?? errorAnswer(raw, RCODE_SERVFAIL);
  }

  /** Binds 127.0.0.11:53 (UDP and TCP) in the container's namespace and serves it. */
  async open(containerId: string, netns: string): Promise<void> {
    this.close(containerId);
    const python = hasPython();
    // The channel is the child's fd 3 (stdio's fourth).
    await this.serve(containerId, ['nsenter', `--net=${netns}`, ...(python ? [PYTHON, '-I', '-S', '-c', PY_HELPER, '3'] : [process.execPath, '-e', HELPER])], python);
  }

  /**
   * Makes the container's namespace (bound on netns, loopback up) and serves
   * names in it, with one process where python3 is there: unshare starts the
   * helper inside the new namespace. `made` settles once the namespace
   * exists (the plugins may run), `serving` once the sockets are berthd's.
   */
  openNew(containerId: string, netns: string): { made: Promise<void>; serving: Promise<void> } {
    this.close(containerId);
    if (!hasPython()) {
      const made = createNetns(netns);
      return { made, serving: made.then(() => this.open(containerId, netns)) };
    }
    let made!: () => void;
    const ns = new Promise<void>((resolve) => (made = resolve));
    const serving = netnsFile(netns).then(() => this.serve(containerId, ['unshare', `--net=${netns}`, PYTHON, '-I', '-S', '-c', PY_HELPER, '3', 'lo'], true, made));
    return { made: Promise.race([ns, serving]), serving };
  }

  /** Runs a helper (command and arguments) that binds the sockets and hands them over; onNamespace: its first message, sent once it runs in the namespace. */
  private async serve(containerId: string, command: readonly string[], python: boolean, onNamespace?: () => void): Promise<void> {
    const bound: Bound = {};
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.on('message', (m: unknown, handle: unknown) => {
        if (m === 'ns') onNamespace?.();
        if (m === 'udp') bound.udp = handle as UdpSocket;
        if (m === 'tcp') bound.tcp = handle as Server;
        if (bound.udp !== undefined && bound.tcp !== undefined) {
          if (!python) child.send('done');
          resolve();
        }
      });
      child.on('error', (e) => reject(internal(`cannot start the name server of container ${containerId}: ${e.message}`, e)));
      child.on('exit', (code) => {
        if (bound.udp === undefined || bound.tcp === undefined) {
          reject(internal(`cannot bind ${RESOLVER_IP}:53 in the namespace of container ${containerId}: ${err.trim() || `helper exit ${code}`}`));
        }
      });
    }).catch((e: unknown) => {
      bound.udp?.close();
      bound.tcp?.close();
      throw e;
    });
    const udp = bound.udp!;
    udp.on('message', (msg, rinfo) => {
      void this.answer(containerId, msg).then((reply) => {
        if (reply !== undefined) udp.send(reply, rinfo.port, rinfo.address, () => undefined);
      });
    });
    udp.on('error', (e) => this.log.debug({ err: e.message, container: containerId }, 'resolver UDP socket error'));
    bound.tcp!.on('connection', (s: Socket) => this.serveTcp(containerId, s));
    this.bound.set(containerId, bound);
  }

  private serveTcp(containerId: string, s: Socket): void {
    let buf = Buffer.alloc(0);
    s.setTimeout(10_000, () => s.destroy());
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.answer(containerId, Buffer.from(msg)).then((reply) => {
          if (reply === undefined || s.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(reply.length);
          s.write(Buffer.concat([head, reply]));
        });
      }
    });
  }

  has(containerId: string): boolean {
    return this.bound.has(containerId);
  }

  close(containerId: string): void {
    const b = this.bound.get(containerId);
    if (b === undefined) return;
    this.bound.delete(containerId);
    b.udp?.close();
    b.tcp?.close();
  }

  closeAll(): void {
    for (const id of [...this.bound.keys()]) this.close(id);
  }
}
