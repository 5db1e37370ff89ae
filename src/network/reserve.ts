// Host ports held by berthd while a container publishes them. The kernel's
// DNAT (portmap) carries the traffic; the listening socket only reserves the
// port, so that another program (or container) cannot take it, and picks a
// free port when none was asked for.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { conflict, internal } from '../errors/index.js';
import type { PortRequest, Protocol, PublishedPort } from './ports.js';

type Holder = { close(): void };

function bindTcp(host: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer((s) => s.destroy());
    server.once('error', reject);
    server.listen({ host, port, exclusive: true, backlog: 1 }, () => {
      const addr = server.address();
      resolve({ holder: { close: () => server.close() }, port: typeof addr === 'object' && addr !== null ? addr.port : port });
    });
  });
}

function bindUdp(host: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const sock: UdpSocket = createSocket({ type: 'udp4', reuseAddr: false });
    sock.once('error', reject);
    sock.bind({ address: host, port, exclusive: true }, () => {
      resolve({ holder: { close: () => sock.close() }, port: sock.address().port });
    });
  });
}

function bind(protocol: Protocol, host: string, port: number): Promise<{ holder: Holder; port: number }> {
  // sctp cannot be held from Node: the DNAT alone serves it.
  if (protocol === 'sctp') return Promise.resolve({ holder: { close: () => undefined }, port });
  return protocol === 'udp' ? bindUdp(host, port) : bindTcp(host, port);
}

const inUse = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'EADDRINUSE';

export class PortReservations {
  private readonly held = new Map<string, Holder[]>();

  /**
   * Takes every requested port for a container, or none: the first one taken
   * by something else fails with dockerd's "port is already allocated".
   * `prefer` are the ports the container held before (kept across restarts when free).
   */
  async reserve(owner: string, requests: readonly PortRequest[], prefer: readonly PublishedPort[] = []): Promise<PublishedPort[]> {
    const holders: Holder[] = [];
    const out: PublishedPort[] = [];
    try {
      for (const r of requests) {
        const host = r.hostIp === '' ? '0.0.0.0' : r.hostIp;
        const shown = r.hostIp === '' ? '0.0.0.0' : r.hostIp;
        let got: { holder: Holder; port: number } | undefined;
        if (r.hostStart === 0) {
          const before = prefer.find((p) => p.containerPort === r.containerPort && p.protocol === r.protocol && p.hostIp === r.hostIp);
          if (before !== undefined) got = await bind(r.protocol, host, before.hostPort).catch(() => undefined);
          got ??= await bind(r.protocol, host, 0);
        } else {
          for (let p = r.hostStart; p <= r.hostEnd && got === undefined; p++) {
            try {
              got = await bind(r.protocol, host, p);
            } catch (err) {
              if (!inUse(err)) throw internal(`cannot bind ${shown}:${p}/${r.protocol}: ${(err as Error).message}`, err);
              if (p === r.hostEnd) {
                const which = r.hostStart === r.hostEnd ? String(p) : `${r.hostStart}-${r.hostEnd}`;
                throw conflict(`driver failed programming external connectivity on endpoint: Bind for ${shown}:${which} failed: port is already allocated`);
              }
            }
          }
        }
        if (got === undefined) throw internal(`no free host port for ${r.containerPort}/${r.protocol}`);
        holders.push(got.holder);
        out.push({ containerPort: r.containerPort, protocol: r.protocol, hostIp: r.hostIp, hostPort: got.port });
      }
    } catch (err) {
      for (const h of holders) h.close();
      throw err;
    }
    this.release(owner);
    this.held.set(owner, holders);
    return out;
  }

  /** Holds ports a live container already has (after a berthd restart); a port lost meanwhile is logged by the caller. */
  async rehold(owner: string, ports: readonly PublishedPort[]): Promise<number> {
    const holders: Holder[] = [];
    let lost = 0;
    for (const p of ports) {
      const got = await bind(p.protocol, p.hostIp === '' ? '0.0.0.0' : p.hostIp, p.hostPort).catch(() => undefined);
      if (got === undefined) lost++;
      else holders.push(got.holder);
    }
    this.release(owner);
    this.held.set(owner, holders);
    return lost;
  }

  release(owner: string): void {
    for (const h of this.held.get(owner) ?? []) h.close();
    this.held.delete(owner);
  }

  releaseAll(): void {
    for (const owner of [...this.held.keys()]) this.release(owner);
  }
}
