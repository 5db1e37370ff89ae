// `docker save`: one tar that is both Docker's save format (manifest.json,
// repositories) and an OCI image layout (oci-layout, index.json,
// blobs/sha256), so that berth, dockerd and OCI tools can all load it.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import type { ContainerdClient, Descriptor } from '../../containerd/index.js';
import { invalidParameter } from '../../errors/index.js';
import type { ImageEntry } from './catalog.js';
import type { ImageContext } from './context.js';
import { hexOf } from './digest.js';
import { MT } from './mediatypes.js';
import { publishImageEvent } from './records.js';
import { familiarName, familiarString, parseNormalizedNamed, parseReference, repositoryName } from './reference.js';

interface SaveItem {
  entry: ImageEntry;
  /** full names to record; empty when saved by ID */
  names: string[];
}

const EPOCH = new Date(0);

function blobPath(digest: string): string {
  return `blobs/sha256/${hexOf(digest)}`;
}

/** Resolves the requested names the way dockerd does: a bare repository name means all its tags. */
async function resolveItems(ctx: ImageContext, refs: readonly string[]): Promise<SaveItem[]> {
  const entries = await ctx.catalog.all(true);
  const items = new Map<string, SaveItem>();
  const add = (entry: ImageEntry, name?: string): void => {
    let item = items.get(entry.id);
    if (!item) {
      item = { entry, names: [] };
      items.set(entry.id, item);
    }
    if (name !== undefined && !item.names.includes(name)) item.names.push(name);
  };
  for (const ref of refs) {
    let repoOnly: string | undefined;
    try {
      const parsed = parseNormalizedNamed(ref);
      if (parsed.tag === undefined && parsed.digest === undefined) repoOnly = repositoryName(parsed);
    } catch {
      // not a name: the lookup below explains the problem
    }
    const inRepo = repoOnly === undefined ? [] : entries.filter((e) => e.names.some((n) => n.startsWith(`${repoOnly}:`)));
    if (inRepo.length > 0) {
      for (const e of inRepo) for (const n of e.names) if (n.startsWith(`${repoOnly}:`)) add(e, n);
      continue;
    }
    const { entry, name } = await ctx.catalog.find(ref, entries);
    add(entry, name);
  }
  return [...items.values()];
}

async function writeEntry(p: Pack, name: string, size: number, source: Buffer | Readable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    if (Buffer.isBuffer(source)) {
      const sink = p.entry({ name, size, mode: 0o644, mtime: EPOCH }, source, (err) => (err ? reject(err) : resolve()));
      // The client may go away mid-archive: that ends the entry with an error, never an unhandled one.
      sink.on('error', reject);
      return;
    }
    const sink = p.entry({ name, size, mode: 0o644, mtime: EPOCH }, (err) => (err ? reject(err) : resolve()));
    sink.on('error', reject);
    void (async () => {
      try {
        for await (const chunk of source) {
          if (!sink.write(chunk as Buffer)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
        }
        sink.end(undefined);
      } catch (err) {
        sink.destroy(err as Error);
        reject(err as Error);
      }
    })();
  });
}

async function writeDir(p: Pack, name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    p.entry({ name, type: 'directory', mode: 0o755, mtime: EPOCH }, (err) => (err ? reject(err) : resolve()));
  });
}

function indexJson(items: SaveItem[]): Buffer {
  const manifests: Array<Descriptor & { annotations?: Record<string, string> }> = [];
  for (const { entry, names } of items) {
    const desc = { mediaType: entry.manifest.descriptor.mediaType, digest: entry.manifest.descriptor.digest, size: entry.manifest.descriptor.size };
    if (names.length === 0) manifests.push(desc);
    for (const n of names) {
      const ref = parseReference(n);
      const annotations: Record<string, string> = { 'io.containerd.image.name': n };
      if (ref.tag !== undefined) annotations['org.opencontainers.image.ref.name'] = ref.tag;
      manifests.push({ ...desc, annotations });
    }
  }
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
}

function dockerManifest(items: SaveItem[]): Buffer {
  return Buffer.from(
    JSON.stringify(
      items.map(({ entry, names }) => ({
        Config: blobPath(entry.manifest.config.digest),
        RepoTags: names.length ? names.map((n) => familiarString(parseReference(n))) : null,
        Layers: entry.manifest.layers.map((l) => blobPath(l.digest)),
      })),
    ),
  );
}

function repositories(items: SaveItem[]): Buffer | undefined {
  const repos: Record<string, Record<string, string>> = {};
  for (const { entry, names } of items) {
    const top = entry.manifest.layers.at(-1);
    if (!top) continue;
    for (const n of names) {
      const ref = parseReference(n);
      if (ref.tag === undefined) continue;
      (repos[familiarName(ref)] ??= {})[ref.tag] = hexOf(top.digest);
    }
  }
  return Object.keys(repos).length ? Buffer.from(JSON.stringify(repos)) : undefined;
}

async function writeArchive(client: ContainerdClient, p: Pack, items: SaveItem[]): Promise<void> {
  await writeEntry(p, 'oci-layout', 30, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  await writeDir(p, 'blobs/');
  await writeDir(p, 'blobs/sha256/');
  const written = new Set<string>();
  for (const { entry } of items) {
    const blobs = [...entry.manifest.layers, entry.manifest.config, entry.manifest.descriptor];
    for (const b of blobs) {
      if (written.has(b.digest)) continue;
      written.add(b.digest);
      const src = client.content.read(b.digest);
      try {
        await writeEntry(p, blobPath(b.digest), b.size, src);
      } finally {
        src.destroy();
      }
    }
  }
  const idx = indexJson(items);
  await writeEntry(p, 'index.json', idx.length, idx);
  const manifest = dockerManifest(items);
  await writeEntry(p, 'manifest.json', manifest.length, manifest);
  const repos = repositories(items);
  if (repos) await writeEntry(p, 'repositories', repos.length, repos);
}

/**
 * Checks every name first (404 before any byte is sent), then streams the
 * archive. A failure mid-stream ends the stream with an error.
 */
export async function saveImages(ctx: ImageContext, refs: readonly string[]): Promise<Readable> {
  if (refs.length === 0) throw invalidParameter('no image to save: name at least one image or image ID');
  const items = await resolveItems(ctx, refs);
  const p = pack();
  writeArchive(ctx.client, p, items).then(
    () => {
      p.finalize();
      // dockerd reports each image once the archive holds it all.
      for (const item of new Map(items.map((i) => [i.entry.id, i.entry])).values()) publishImageEvent(ctx.events, 'save', item.id, item.id, item.image);
    },
    (err: unknown) => {
      if (p.destroyed) ctx.logger.debug({ err }, 'image save ended early: the client went away');
      else {
        ctx.logger.error({ err }, 'image save failed mid-stream');
        p.destroy(err as Error);
      }
    },
  );
  return Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
}
