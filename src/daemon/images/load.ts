// `docker load`: archives in Docker's save format or OCI layouts. Everything
// is read and checked before anything is stored, so a bad archive changes
// nothing.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalidParameter } from '../../errors/index.js';
import { readArchive, type ArchiveImage } from './archive.js';
import { writeImageContent, type PreparedImage } from './content.js';
import { withLease, type ImageContext } from './context.js';
import { HashingStream } from './digest.js';
import { assignNames, publishImageEvent } from './records.js';
import { familiarOf } from './reference.js';
import { StagedArchive, type StagedFile } from './staging.js';
import type { LoadOptions, ProgressMessage } from './types.js';
import { unpackLayers } from './unpack.js';

interface Uncompressed {
  digest: string;
  size: number;
}

/** Digest and size of a layer's uncompressed tar. */
async function uncompressed(staged: StagedArchive, f: StagedFile): Promise<Uncompressed | undefined> {
  if (f.compression === 'none') return { digest: f.digest, size: f.size };
  if (f.compression !== 'gzip') return undefined;
  const hashing = new HashingStream();
  try {
    await pipeline(staged.open(f), createGunzip(), hashing, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) void chunk;
    });
  } catch (err) {
    throw invalidParameter(`layer ${f.path} is not valid gzip: ${(err as Error).message}`, err);
  }
  return { digest: hashing.digest(), size: hashing.size };
}

/** Checks every layer against the config's diff IDs; returns the image's unpacked size. */
async function verify(staged: StagedArchive, image: ArchiveImage, seen: Map<string, Uncompressed | undefined>): Promise<number> {
  let total = 0;
  for (const layer of image.layers) {
    let u = seen.get(layer.file.digest);
    if (!seen.has(layer.file.digest)) {
      u = await uncompressed(staged, layer.file);
      seen.set(layer.file.digest, u);
    }
    if (u && u.digest !== layer.diffId) {
      throw invalidParameter(`layer ${layer.file.path} does not match the image config: its content is ${u.digest}, the config says ${layer.diffId}`);
    }
    total += u?.size ?? layer.file.size;
  }
  return total;
}

function prepared(staged: StagedArchive, image: ArchiveImage): PreparedImage {
  return {
    manifest: image.manifest,
    config: image.config,
    layers: image.layers.map((l) => ({ descriptor: l.descriptor, diffId: l.diffId, open: () => staged.open(l.file) })),
  };
}

export async function loadImages(ctx: ImageContext, input: Readable, _opts: LoadOptions): Promise<ProgressMessage[]> {
  const staged = await StagedArchive.extract(input, ctx.tmpDir);
  try {
    const images = await readArchive(staged, ctx.platform);
    const seen = new Map<string, Uncompressed | undefined>();
    const sizes: number[] = [];
    for (const image of images) sizes.push(await verify(staged, image, seen));

    const messages: ProgressMessage[] = [];
    await withLease(ctx, async (client) => {
      for (const [i, image] of images.entries()) {
        const id = image.config.descriptor.digest;
        const prep = prepared(staged, image);
        await writeImageContent(client, prep, ctx.snapshotter);
        await unpackLayers(client, ctx.snapshotter, prep.layers, ctx.logger);
        ctx.catalog.remember(image.manifest.descriptor, {
          id,
          manifest: { descriptor: image.manifest.descriptor, config: image.config.descriptor, layers: image.layers.map((l) => l.descriptor) },
          image: image.config.image,
        });
        await ctx.names.run(() => assignNames(ctx, { id, target: image.manifest.descriptor, size: sizes[i] }, image.names));
        publishImageEvent(ctx.events, 'load', id, id, image.config.image);
        if (image.names.length === 0) messages.push({ stream: `Loaded image ID: ${id}\n` });
        for (const name of image.names) messages.push({ stream: `Loaded image: ${familiarOf(name)}\n` });
      }
    });
    ctx.logger.info({ images: images.map((im) => im.config.descriptor.digest) }, 'images loaded');
    return messages;
  } finally {
    await staged.cleanup();
  }
}
