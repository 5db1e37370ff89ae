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

/** A JSON answer, or a hijacked stream that ends at once (exec and attach starts). */
export type ReplayAnswer = { status?: string; body: Buffer } | 'upgrade';

const VERSION_PREFIX = /^\/v\d+\.\d+(?=\/)/;
const HEAD_END = Buffer.from('\r\n\r\n');

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
 * Serves `answers` (keyed `METHOD /path`, without the version prefix or the
 * query) and `/_ping` on `socket`.
 */
export async function startReplay(
  socket: string,
  apiVersion: string,
  answers: ReadonlyMap<string, ReplayAnswer>,
  baseEnv: NodeJS.ProcessEnv,
): Promise<Replay> {
  const ok = Buffer.from('OK');
  const ready = new Map<string, Buffer | 'upgrade'>([
    ['HEAD /_ping', response('200 OK', apiVersion, 'text/plain; charset=utf-8', ok, false)],
    ['GET /_ping', response('200 OK', apiVersion, 'text/plain; charset=utf-8', ok)],
  ]);
  for (const [key, answer] of answers) {
    ready.set(key, answer === 'upgrade' ? 'upgrade' : response(answer.status ?? '200 OK', apiVersion, 'application/json', answer.body));
  }
  const upgraded = Buffer.from('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  const missing = response('404 Not Found', apiVersion, 'application/json', Buffer.from('{"message":"not recorded"}\n'));

  const sockets = new Set<Socket>();
  const server = createServer((conn) => {
    sockets.add(conn);
    conn.on('close', () => sockets.delete(conn));
    conn.on('error', () => conn.destroy());
    let pending = Buffer.alloc(0);
    let bodyLeft = 0;
    conn.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (bodyLeft > 0) {
          const skip = Math.min(bodyLeft, pending.length);
          pending = pending.subarray(skip);
          bodyLeft -= skip;
          if (bodyLeft > 0) return;
        }
        const end = pending.indexOf(HEAD_END);
        if (end === -1) return;
        const head = pending.subarray(0, end).toString('latin1');
        pending = pending.subarray(end + HEAD_END.length);
        bodyLeft = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
        const [method = '', target = ''] = head.slice(0, head.indexOf('\r\n')).split(' ');
        const path = target.split('?')[0]!.replace(VERSION_PREFIX, '');
        const answer = ready.get(`${method} ${path}`) ?? missing;
        if (answer === 'upgrade') {
          // The process "ran" and printed nothing: the stream ends at once.
          conn.end(upgraded);
          return;
        }
        conn.write(answer);
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
