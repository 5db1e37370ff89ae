// Writing an image's blobs into containerd's content store with the labels
// its garbage collector follows: manifest → config and layers, config → the
// unpacked snapshot chain.
import type { Readable } from 'node:stream';
import type { ContainerdClient, Descriptor } from '../../containerd/index.js';
import { hexOf, topChainId } from './digest.js';
import { LABELS } from './mediatypes.js';
import type { OciImage } from './types.js';

export interface PreparedLayer {
  descriptor: Descriptor;
  diffId: string;
  /** a fresh stream of the blob's bytes; absent when the blob is already in the content store */
  open?(): Readable;
}

/** Everything needed to store one image. */
export interface PreparedImage {
  manifest: { descriptor: Descriptor; data: Buffer };
  config: { descriptor: Descriptor; data: Buffer; image: OciImage };
  layers: PreparedLayer[];
}

function ref(kind: string, digest: string): string {
  // One ingest ref per blob: concurrent writers of the same blob wait for each other.
  return `berth-${kind}-${hexOf(digest)}`;
}

export function manifestLabels(img: PreparedImage): Record<string, string> {
  const labels: Record<string, string> = { [LABELS.gcContentConfig]: img.config.descriptor.digest };
  img.layers.forEach((l, i) => {
    labels[LABELS.gcContentLayer(i)] = l.descriptor.digest;
  });
  return labels;
}

export function configLabels(img: PreparedImage, snapshotter: string): Record<string, string> {
  const chain = topChainId(img.config.image.rootfs.diff_ids);
  return chain ? { [LABELS.gcSnapshot(snapshotter)]: chain } : {};
}

/**
 * Writes layers, config and manifest (in that order, so that a referenced
 * blob always exists before its referrer, unless `together`). Call with a
 * leased client.
 */
export async function writeImageContent(client: ContainerdClient, img: PreparedImage, snapshotter: string, opts: { together?: boolean } = {}): Promise<void> {
  for (const layer of img.layers) {
    if (layer.open === undefined) continue;
    const src = layer.open();
    try {
      await client.content.write(ref('layer', layer.descriptor.digest), src, layer.descriptor, { [LABELS.uncompressed]: layer.diffId });
    } finally {
      src.destroy();
    }
  }
  const config = (): Promise<void> =>
    client.content.write(ref('config', img.config.descriptor.digest), img.config.data, img.config.descriptor, configLabels(img, snapshotter));
  const manifest = (): Promise<void> =>
    client.content.write(ref('manifest', img.manifest.descriptor.digest), img.manifest.data, img.manifest.descriptor, manifestLabels(img));
  // Under a lease that outlives the call, order does not matter: each commit's fsync can overlap the other's.
  if (opts.together) await Promise.all([config(), manifest()]);
  else {
    await config();
    await manifest();
  }
}
