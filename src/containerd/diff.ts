// Diff service: unpacks a layer blob from the content store onto snapshot mounts,
// and writes the difference of two mount sets as a new layer blob.
import { fromWireDescriptor, toWireDescriptor, toWireMount } from './convert.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient } from './types.js';
import type { WireDescriptor } from './wire.js';

const SVC = 'containerd.services.diff.v1.Diff';

export function diffApi(rpc: Rpc): ContainerdClient['diff'] {
  return {
    async apply(layer, mounts) {
      const res = await rpc.unary<{ applied: WireDescriptor | null }>(
        SVC,
        'Apply',
        { diff: toWireDescriptor(layer), mounts: mounts.map(toWireMount) },
        // Unpacking a large layer takes as long as the disk needs.
        'none',
      );
      return fromWireDescriptor(res.applied);
    },

    async diff(left, right, opts = {}) {
      const res = await rpc.unary<{ diff: WireDescriptor | null }>(
        SVC,
        'Diff',
        { left: left.map(toWireMount), right: right.map(toWireMount), mediaType: opts.mediaType ?? '', ref: opts.ref ?? '', labels: opts.labels ?? {} },
        // Walking a large filesystem takes as long as the disk needs.
        'none',
      );
      return fromWireDescriptor(res.diff);
    },
  };
}
