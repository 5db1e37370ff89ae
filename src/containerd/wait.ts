// Waits for a containerd socket to answer, e.g. one given with --containerd.
import { Connection, Rpc } from './connection.js';
import { waitForVersion, type VersionInfo } from './version.js';

/** Resolves with containerd's version once `address` answers; rejects (kind `unavailable`) after timeoutMs. */
export async function waitForContainerd(address: string, timeoutMs: number): Promise<VersionInfo> {
  const conn = new Connection(address);
  try {
    // Version needs no namespace; the header is only there because every call carries one.
    return await waitForVersion(new Rpc(conn, { namespace: 'default' }), timeoutMs);
  } finally {
    conn.close();
  }
}
