// Namespaces service: berth creates its namespaces up front so labels can be set on them.
import { statusCode } from './errors.js';
import { status } from '@grpc/grpc-js';
import type { Rpc } from './connection.js';

const SVC = 'containerd.services.namespaces.v1.Namespaces';

export async function ensureNamespace(rpc: Rpc, name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await rpc.unary(SVC, 'Create', { namespace: { name, labels } });
  } catch (err) {
    if (statusCode(err) !== status.ALREADY_EXISTS) throw err;
  }
}
