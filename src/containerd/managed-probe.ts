// Is containerd answering on a socket? Used while starting, restarting and adopting it.
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Connection, Rpc } from './connection.js';
import { fetchVersion } from './version.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether anything accepts connections on the socket: a stale socket file refuses at once. */
export function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves when the socket answers Version; rejects after timeoutMs or as soon as gaveUp() says so. */
export async function probeContainerd(socket: string, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let conn: Connection | undefined;
  let lastError = 'the socket was never created';
  try {
    while (Date.now() < deadline) {
      if (gaveUp()) throw new Error('containerd went away while berthd waited for it');
      // Connecting before the socket exists would only put the channel into reconnect backoff.
      if (!existsSync(socket)) {
        await sleep(20);
        continue;
      }
      conn ??= new Connection(socket);
      try {
        await fetchVersion(new Rpc(conn, { namespace: 'default' }), Math.max(1, Math.min(1_000, deadline - Date.now())));
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await sleep(50);
    }
    throw new Error(`no answer on ${socket} within ${timeoutMs} ms (${lastError})`);
  } finally {
    conn?.close();
  }
}
