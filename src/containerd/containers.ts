// Containers service: containerd's container records (metadata only, no processes).
import { status } from '@grpc/grpc-js';
import { fromWireContainer, toWireContainer } from './convert.js';
import { statusCode } from './errors.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient } from './types.js';
import type { WireContainer } from './wire.js';

const SVC = 'containerd.services.containers.v1.Containers';

interface ContainerAnswer {
  container: WireContainer | null;
}

export function containersApi(rpc: Rpc): ContainerdClient['containers'] {
  return {
    async create(c) {
      const res = await rpc.unary<ContainerAnswer>(SVC, 'Create', { container: toWireContainer(c) });
      return fromWireContainer(res.container);
    },

    async get(id) {
      const res = await rpc.unary<ContainerAnswer>(SVC, 'Get', { id });
      return fromWireContainer(res.container);
    },

    async list(filters = []) {
      // ListStream sends one container per message, so no answer outgrows the message size limit.
      try {
        const msgs = await rpc.collect<ContainerAnswer>(SVC, 'ListStream', { filters });
        return msgs.map((m) => fromWireContainer(m.container));
      } catch (err) {
        if (statusCode(err) !== status.UNIMPLEMENTED) throw err;
      }
      const res = await rpc.unary<{ containers: WireContainer[] }>(SVC, 'List', { filters });
      return res.containers.map((c) => fromWireContainer(c));
    },

    async update(c, fieldPaths) {
      const res = await rpc.unary<ContainerAnswer>(SVC, 'Update', {
        container: toWireContainer(c),
        updateMask: { paths: fieldPaths },
      });
      return fromWireContainer(res.container);
    },

    async delete(id) {
      await rpc.unary(SVC, 'Delete', { id });
    },
  };
}
