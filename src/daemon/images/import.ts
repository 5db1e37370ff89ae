// `docker import`: a root filesystem tarball (plain or gzip) becomes a
// one-layer image with a fresh config.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidParameter, isBerthError } from '../../errors/index.js';
import { applyChanges } from './changes.js';
import { buildImportConfig, parsePlatform } from './config.js';
import { writeImageContent, type PreparedImage } from './content.js';
import { withLease, type ImageContext } from './context.js';
import { HashingStream, looksLikeTar, sha256Digest } from './digest.js';
import { MT } from './mediatypes.js';
import { assignNames, publishImageEvent } from './records.js';
import { fullString, referenceForTag } from './reference.js';
import { decompressed } from './streams.js';
import type { ImportOptions, ProgressMessage } from './types.js';
import { unpackLayers } from './unpack.js';

interface StagedLayer {
  file: string;
  digest: string;
  size: number;
}

async function stageLayer(input: Readable, dir: string): Promise<StagedLayer> {
  const { stream } = await decompressed(input, 'the import source');
  const file = join(dir, 'layer.tar');
  const hashing = new HashingStream();
  try {
    await pipeline(stream, hashing, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    if (isBerthError(err)) throw err;
    throw invalidParameter(`could not read the import source: ${(err as Error).message}`, err);
  }
  if (hashing.size === 0) throw invalidParameter('the import source is empty: send a tar archive of a root filesystem (plain or gzip)');
  if (!looksLikeTar(hashing.head())) throw invalidParameter('the import source is not a tar archive (plain or gzip) of a root filesystem');
  return { file, digest: hashing.digest(), size: hashing.size };
}

export async function importImage(ctx: ImageContext, input: Readable, opts: ImportOptions): Promise<{ id: string; messages: ProgressMessage[] }> {
  // Check everything the request says before reading its body.
  const name = opts.repo ? fullString(referenceForTag(opts.repo, opts.tag)) : undefined;
  const platform = opts.platform ? parsePlatform(opts.platform) : ctx.platform;
  const changes = opts.changes ?? [];
  applyChanges({}, changes);

  await mkdir(ctx.tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(ctx.tmpDir, 'import-'));
  try {
    const layer = await stageLayer(input, dir);
    const image = buildImportConfig({ diffId: layer.digest, changes, message: opts.message, source: opts.source ?? '-', platform, created: new Date() });
    const configData = Buffer.from(JSON.stringify(image));
    const configDesc = { mediaType: MT.ociConfig, digest: sha256Digest(configData), size: configData.length };
    const layerDesc = { mediaType: MT.ociLayer, digest: layer.digest, size: layer.size };
    const manifestData = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: configDesc, layers: [layerDesc] }));
    const manifestDesc = { mediaType: MT.ociManifest, digest: sha256Digest(manifestData), size: manifestData.length };
    const prepared: PreparedImage = {
      manifest: { descriptor: manifestDesc, data: manifestData },
      config: { descriptor: configDesc, data: configData, image },
      layers: [{ descriptor: layerDesc, diffId: layer.digest, open: () => createReadStream(layer.file) }],
    };
    const id = configDesc.digest;
    await withLease(ctx, async (client) => {
      await writeImageContent(client, prepared, ctx.snapshotter);
      await unpackLayers(client, ctx.snapshotter, prepared.layers, ctx.logger);
      ctx.catalog.remember(manifestDesc, { id, manifest: { descriptor: manifestDesc, config: configDesc, layers: [layerDesc] }, image });
      await ctx.names.run(() => assignNames(ctx, { id, target: manifestDesc, size: layer.size }, name ? [name] : []));
    });
    publishImageEvent(ctx.events, 'import', id, id, image);
    ctx.logger.info({ image: id, name }, 'image imported');
    return { id, messages: [{ status: id }] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
