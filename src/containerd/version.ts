// Version service: the liveness probe and `berthd --version`.
import { unavailable } from '../errors/index.js';
import type { Rpc } from './connection.js';

export interface VersionInfo {
  version: string;
  revision: string;
}

export async function fetchVersion(rpc: Rpc, timeoutMs?: number): Promise<VersionInfo> {
  const res = await rpc.unary<VersionInfo>('containerd.services.version.v1.Version', 'Version', {}, timeoutMs ?? 'short');
  return { version: res.version, revision: res.revision };
}

/** Polls Version until it answers or timeoutMs passes; the last error explains why not. */
export async function waitForVersion(rpc: Rpc, timeoutMs: number): Promise<VersionInfo> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      return await fetchVersion(rpc, Math.min(left, 2000));
    } catch (err) {
      lastError = err;
    }
    const pause = Math.min(100, deadline - Date.now());
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  const why = lastError instanceof Error ? lastError.message : 'no answer';
  throw unavailable(`containerd at ${rpc.conn.address} did not answer within ${timeoutMs} ms: ${why}`, lastError);
}
