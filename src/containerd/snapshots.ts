// Snapshots service: layer and container filesystems (berth uses overlayfs).
import { messageOf } from '../errors/index.js';
import { fromWireMount, fromWireSnapshotInfo } from './convert.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient } from './types.js';
import type { WireMount, WireSnapshotInfo } from './wire.js';

const SVC = 'containerd.services.snapshots.v1.Snapshots';

interface MountsAnswer {
  mounts: WireMount[];
}

/**
 * containerd killed while making a snapshot can leave the snapshot's folder
 * behind with its transaction rolled back, so the next snapshot gets the same
 * ID and its rename onto that folder fails; the failing call removes the
 * folder, so one more try succeeds.
 */
export function isLeftoverSnapshotFolder(err: unknown): boolean {
  const message = messageOf(err);
  return message.includes('failed to rename') && message.includes('file exists');
}

export function snapshotsApi(rpc: Rpc): ContainerdClient['snapshots'] {
  const create = async (method: 'Prepare' | 'View', req: { snapshotter: string; key: string; parent: string; labels: Record<string, string> }) => {
    const call = () => rpc.unary<MountsAnswer>(SVC, method, req, 'long');
    const res = await call().catch((err: unknown) => {
      if (isLeftoverSnapshotFolder(err)) return call();
      throw err;
    });
    return res.mounts.map(fromWireMount);
  };
  return {
    prepare: (snapshotter, key, parent, labels = {}) => create('Prepare', { snapshotter, key, parent, labels }),

    view: (snapshotter, key, parent, labels = {}) => create('View', { snapshotter, key, parent, labels }),

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
