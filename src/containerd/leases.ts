// Leases service: keep content and snapshots from garbage collection while berth assembles them.
import { randomBytes } from 'node:crypto';
import type { Rpc } from './connection.js';
import type { ContainerdClient } from './types.js';

const SVC = 'containerd.services.leases.v1.Leases';

export function leasesApi(rpc: Rpc): ContainerdClient['leases'] {
  return {
    async create(id, labels = {}) {
      // containerd requires an id; pick a unique one when the caller has none.
      const leaseId = id ?? `berth-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
      const res = await rpc.unary<{ lease: { id: string } | null }>(SVC, 'Create', { id: leaseId, labels });
      return { id: res.lease?.id ?? leaseId };
    },

    async delete(id, sync = false) {
      await rpc.unary(SVC, 'Delete', { id, sync }, sync ? 'long' : 'short');
    },
  };
}
