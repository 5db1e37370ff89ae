// A socket that answers the docker CLI with answers recorded from a daemon,
// doing no work per request: what a command costs the CLI alone, talking to
// an infinitely fast daemon. A figure below it is out of any daemon's reach.
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { DaemonUnderTest } from './daemon.js';

export interface Replay {
  socket: string;
  /** the environment of a docker CLI aimed at the replay */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

const VERSION_PREFIX = /^\/v\d+\.\d+(?=\/)/;

/** The body of `GET path` on a daemon, to replay. */
export async function recordAnswer(daemon: DaemonUnderTest, path: string): Promise<Buffer> {
  const r = await daemon.api('GET', path);
  if (r.status !== 200) throw new Error(`recording GET ${path}: HTTP ${r.status} ${r.body.trim()}`);
  return Buffer.from(r.body);
}

function response(status: string, apiVersion: string, contentType: string, body: Buffer, withBody = true): Buffer {
  const head = `HTTP/1.1 ${status}\r\nApi-Version: ${apiVersion}\r\nOstype: linux\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return withBody ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
}

/**
 * Serves `answers` (API path without version prefix → JSON body) and
 * `/_ping` on `socket`. Requests carry no body (the CLI's GET and HEAD).
 */
export async function startReplay(socket: string, apiVersion: string, answers: ReadonlyMap<string, Buffer>, baseEnv: NodeJS.ProcessEnv): Promise<Replay> {
  const ok = Buffer.from('OK');
  const ready = new Map<string, Buffer>([
    ['HEAD /_ping', response('200 OK', apiVersion, 'text/plain; charset=utf-8', ok, false)],
    ['GET /_ping', response('200 OK', apiVersion, 'text/plain; charset=utf-8', ok)],
  ]);
  for (const [path, body] of answers) ready.set(`GET ${path}`, response('200 OK', apiVersion, 'application/json', body));
  const missing = response('404 Not Found', apiVersion, 'application/json', Buffer.from('{"message":"not recorded"}\n'));

  const sockets = new Set<Socket>();
  const server = createServer((conn) => {
    sockets.add(conn);
    conn.on('close', () => sockets.delete(conn));
    conn.on('error', () => conn.destroy());
    let pending = '';
    conn.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const [method = '', target = ''] = pending.slice(0, pending.indexOf('\r\n')).split(' ');
        pending = pending.slice(end + 4);
        const path = target.split('?')[0]!.replace(VERSION_PREFIX, '');
        conn.write(ready.get(`${method} ${path}`) ?? missing);
      }
    });
  });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  return {
    socket,
    env: { ...baseEnv, DOCKER_HOST: `unix://${socket}` },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
