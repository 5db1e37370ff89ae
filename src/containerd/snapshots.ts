// Snapshots service: layer and container filesystems (berth uses overlayfs).
import { fromWireMount, fromWireSnapshotInfo } from './convert.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient } from './types.js';
import type { WireMount, WireSnapshotInfo } from './wire.js';

const SVC = 'containerd.services.snapshots.v1.Snapshots';

interface MountsAnswer {
  mounts: WireMount[];
}

export function snapshotsApi(rpc: Rpc): ContainerdClient['snapshots'] {
  return {
    async prepare(snapshotter, key, parent, labels = {}) {
      const res = await rpc.unary<MountsAnswer>(SVC, 'Prepare', { snapshotter, key, parent, labels }, 'long');
      return res.mounts.map(fromWireMount);
    },

    async view(snapshotter, key, parent, labels = {}) {
      const res = await rpc.unary<MountsAnswer>(SVC, 'View', { snapshotter, key, parent, labels }, 'long');
      return res.mounts.map(fromWireMount);
    },

    async mounts(snapshotter, key) {
      const res = await rpc.unary<MountsAnswer>(SVC, 'Mounts', { snapshotter, key });
      return res.mounts.map(fromWireMount);
    },

    async commit(snapshotter, name, key, labels = {}) {
      await rpc.unary(SVC, 'Commit', { snapshotter, name, key, labels }, 'long');
    },

    async remove(snapshotter, key) {
      await rpc.unary(SVC, 'Remove', { snapshotter, key }, 'long');
    },

    async stat(snapshotter, key) {
      const res = await rpc.unary<{ info: WireSnapshotInfo | null }>(SVC, 'Stat', { snapshotter, key });
      return fromWireSnapshotInfo(res.info);
    },

    async list(snapshotter, filters = []) {
      const msgs = await rpc.collect<{ info: WireSnapshotInfo[] }>(SVC, 'List', { snapshotter, filters });
      return msgs.flatMap((m) => m.info.map((i) => fromWireSnapshotInfo(i)));
    },
  };
}
