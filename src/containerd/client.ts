// The ContainerdClient: a scope (namespace, lease) over a shared connection,
// with one adapter per containerd service.
import { Connection, Rpc, type Scope } from './connection.js';
import { containersApi } from './containers.js';
import { contentApi } from './content.js';
import { diffApi } from './diff.js';
import { eventsApi } from './events.js';
import { imagesApi } from './images.js';
import { leasesApi } from './leases.js';
import { ensureNamespace } from './namespaces.js';
import { snapshotsApi } from './snapshots.js';
import { tasksApi } from './tasks.js';
import { fetchVersion, waitForVersion } from './version.js';
import type { ContainerdClient } from './types.js';

class Client implements ContainerdClient {
  readonly namespace: string;
  readonly containers: ContainerdClient['containers'];
  readonly tasks: ContainerdClient['tasks'];
  readonly content: ContainerdClient['content'];
  readonly images: ContainerdClient['images'];
  readonly snapshots: ContainerdClient['snapshots'];
  readonly diff: ContainerdClient['diff'];
  readonly leases: ContainerdClient['leases'];
  readonly events: ContainerdClient['events'];
  private readonly rpc: Rpc;

  constructor(
    private readonly conn: Connection,
    private readonly scope: Scope,
  ) {
    this.namespace = scope.namespace;
    this.rpc = new Rpc(conn, scope);
    this.containers = containersApi(this.rpc);
    this.tasks = tasksApi(this.rpc);
    this.content = contentApi(this.rpc);
    this.images = imagesApi(this.rpc);
    this.snapshots = snapshotsApi(this.rpc);
    this.diff = diffApi(this.rpc);
    this.leases = leasesApi(this.rpc);
    this.events = eventsApi(this.rpc);
  }

  withNamespace(namespace: string): ContainerdClient {
    // A lease belongs to one namespace, so it does not carry over.
    return new Client(this.conn, { namespace });
  }

  withLease(leaseId: string): ContainerdClient {
    return new Client(this.conn, { ...this.scope, lease: leaseId });
  }

  /** Closes the connection shared with every client derived from this one. */
  close(): void {
    this.conn.close();
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await waitForVersion(this.rpc, timeoutMs);
  }

  version(): Promise<{ version: string; revision: string }> {
    return fetchVersion(this.rpc);
  }

  ensureNamespace(name: string, labels?: Record<string, string>): Promise<void> {
    return ensureNamespace(this.rpc, name, labels);
  }
}

/**
 * A client for the containerd at `address` (a socket path or `unix://` URL),
 * acting in `namespace`. The connection is made lazily and re-made after
 * containerd restarts; calls made while it is down reject with kind `unavailable`.
 */
export function connectContainerd(address: string, namespace: string): ContainerdClient {
  return new Client(new Connection(address), { namespace });
}
