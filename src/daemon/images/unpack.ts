// Unpacking layers into committed snapshots named by chain ID, the way
// containerd's own unpacker does, so that images sharing layers share them.
import { randomBytes } from 'node:crypto';
import type { ContainerdClient, Descriptor } from '../../containerd/index.js';
import { internal, isKind } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { chainIds } from './digest.js';
import { LABELS } from './mediatypes.js';

export interface UnpackLayer {
  descriptor: Descriptor;
  diffId: string;
}

export async function snapshotExists(client: ContainerdClient, snapshotter: string, key: string): Promise<boolean> {
  try {
    await client.snapshots.stat(snapshotter, key);
    return true;
  } catch (err) {
    if (isKind(err, 'not-found')) return false;
    throw err;
  }
}

/**
 * Makes sure a committed snapshot exists for every chain ID of the image.
 * Call with a leased client so that nothing is collected half-way.
 * `knownUnpacked`: how many of the lowest layers the caller has just seen
 * unpacked (they are not asked for again). Returns the top chain ID ('' without layers).
 */
export async function unpackLayers(client: ContainerdClient, snapshotter: string, layers: readonly UnpackLayer[], logger: Logger, knownUnpacked = 0): Promise<string> {
  const chains = chainIds(layers.map((l) => l.diffId));
  // Find the highest layer already there; everything below it exists too.
  let start = chains.length;
  while (start > knownUnpacked && !(await snapshotExists(client, snapshotter, chains[start - 1]!))) start--;
  for (let i = start; i < layers.length; i++) {
    const layer = layers[i]!;
    const chain = chains[i]!;
    const parent = i === 0 ? '' : chains[i - 1]!;
    const key = `extract-${randomBytes(6).toString('hex')}-${chain}`;
    const mounts = await client.snapshots.prepare(snapshotter, key, parent);
    let committed = false;
    try {
      const applied = await client.diff.apply(layer.descriptor, mounts);
      if (applied.digest && applied.digest !== layer.diffId) {
        throw internal(`layer ${layer.descriptor.digest} unpacked to ${applied.digest}, but the image config says ${layer.diffId}`);
      }
      try {
        await client.snapshots.commit(snapshotter, chain, key, { [LABELS.snapshotRef]: chain });
        committed = true;
      } catch (err) {
        // Another unpack of the same layer won the race: its snapshot is as good as ours.
        if (!isKind(err, 'conflict')) throw err;
        logger.debug({ chain }, 'layer snapshot committed concurrently');
      }
    } finally {
      if (!committed) await client.snapshots.remove(snapshotter, key).catch(() => undefined);
    }
  }
  return chains.at(-1) ?? '';
}
