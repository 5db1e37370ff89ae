// `docker push`: every blob HEADed first (present ones are skipped),
// mounted from another repository of the same registry when the content
// store knows one, otherwise uploaded (layers chunked, retried and resumed);
// then child manifests by digest and the top manifest or index by tag.
import { Transform, type Readable } from 'node:stream';
import type { ContainerdClient, Descriptor } from '../../containerd/index.js';
import { isKind, messageOf, notFound } from '../../errors/index.js';
import { isIndexMediaType, Limiter, Repository, type AuthConfig, type RegistryHosts } from '../../distribution/index.js';
import type { ImageContext } from './context.js';
import { hexOf } from './digest.js';
import { ProgressStream } from './progress.js';
import { familiarName, fullString, parseNormalizedNamed, repositoryName, type Reference } from './reference.js';
import { retryable, sleepCounting } from './retry.js';
import { memory } from '../memory.js';
import { publishImageEvent } from './records.js';

export interface PushOptions {
  /** one tag; all local tags of the repository without it */
  tag?: string;
  auth?: AuthConfig;
  signal?: AbortSignal;
}

const SOURCE_PREFIX = 'containerd.io/distribution.source.';

interface Target {
  tag: string;
  top: Descriptor;
  /** manifests to push, children before the top one */
  manifests: { desc: Descriptor; data: Buffer; blobs: Descriptor[]; layers: Descriptor[] }[];
}

const shortHex = (digest: string): string => hexOf(digest).slice(0, 12);

function sourceHost(hostPort: string): string {
  return hostPort.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

async function readManifest(client: ContainerdClient, desc: Descriptor): Promise<Target['manifests'][number]> {
  const data = await client.content.readAll(desc.digest);
  const m = JSON.parse(data.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
  const layers = (m.layers ?? []).filter((l) => !l.mediaType.includes('foreign'));
  return { desc, data, layers, blobs: [...layers, ...(m.config ? [m.config] : [])] };
}

/** What to send for one local name: a manifest, or an index whose children are all here. */
async function targetOf(ctx: ImageContext, name: string, tag: string): Promise<Target> {
  const record = await ctx.client.images.get(name);
  const top = record.target;
  if (!isIndexMediaType(top.mediaType)) return { tag, top, manifests: [await readManifest(ctx.client, top)] };
  const data = await ctx.client.content.readAll(top.digest);
  const idx = JSON.parse(data.toString('utf8')) as { manifests?: Descriptor[] };
  const manifests: Target['manifests'] = [];
  try {
    for (const child of idx.manifests ?? []) manifests.push(await readManifest(ctx.client, child));
    for (const m of manifests) for (const b of m.blobs) await ctx.client.content.info(b.digest);
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
    // Only one platform was pulled: push that one, as dockerd does.
    const entry = (await ctx.catalog.find(name)).entry;
    return { tag, top: entry.manifest.descriptor, manifests: [await readManifest(ctx.client, entry.manifest.descriptor)] };
  }
  manifests.push({ desc: top, data, blobs: [], layers: [] });
  return { tag, top, manifests };
}

/** The repository on this registry a blob came from, to mount it instead of uploading. */
async function mountSource(client: ContainerdClient, digest: string, host: string, self: string): Promise<string | undefined> {
  let labels: Record<string, string>;
  try {
    labels = (await client.content.info(digest)).labels;
  } catch {
    return undefined;
  }
  const repos = (labels[SOURCE_PREFIX + sourceHost(host)] ?? '').split(',').filter((r) => r && r !== self);
  // The longest shared path prefix is the likeliest to be readable with the same credentials.
  const common = (r: string): number => {
    const a = r.split('/');
    const b = self.split('/');
    let n = 0;
    while (n < a.length && n < b.length && a[n] === b[n]) n++;
    return n;
  };
  return repos.sort((x, y) => common(y) - common(x))[0];
}

async function addSource(client: ContainerdClient, digest: string, host: string, repo: string): Promise<void> {
  const key = SOURCE_PREFIX + sourceHost(host);
  try {
    const info = await client.content.info(digest);
    const repos = new Set((info.labels[key] ?? '').split(',').filter(Boolean));
    if (repos.has(repo)) return;
    repos.add(repo);
    await client.content.update({ ...info, labels: { ...info.labels, [key]: [...repos].sort().join(',') } }, [`labels.${key}`]);
  } catch {
    // a label is a hint for later mounts only
  }
}

function counting(total: number, onBytes: (n: number) => void): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      onBytes(Math.min(n, total));
      cb(null, chunk);
    },
  });
}

/** Bytes of a layer per PATCH: a failed chunk costs at most this much again. */
const UPLOAD_CHUNK = 16 * 1024 * 1024;
/** dockerd's attempts per layer upload. */
const UPLOAD_ATTEMPTS = 5;

interface Upload {
  location: URL;
  offset: number;
}

/**
 * Sends a blob into an open upload. Layers go chunked, as dockerd sends them
 * (PATCH pieces with Content-Range, always to the newest Location, then a
 * PUT with the digest); the config goes in one monolithic PUT. A failure is
 * retried from where the registry says the upload stands, or in a new upload
 * when it dropped the old one.
 */
async function sendBlob(ctx: ImageContext, repo: Repository, blob: Descriptor, first: URL, layer: boolean, out: ProgressStream, signal: AbortSignal): Promise<void> {
  const id = shortHex(blob.digest);
  const start = Math.floor(Date.now() / 1000);
  const shown = (n: number): void => {
    if (layer) out.bytes(id, 'Pushing', Math.min(n, blob.size), blob.size, start);
  };
  const piece = (offset: number, size: number): Readable => {
    const src = ctx.client.content.read(blob.digest, { offset, size });
    const body = src.pipe(counting(size, (n) => shown(offset + n)));
    src.on('error', (err) => body.destroy(err));
    return body;
  };
  let up: Upload = { location: first, offset: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      if (!layer) {
        await repo.putBlob(up.location, blob.digest, { stream: piece(0, blob.size), size: blob.size });
        return;
      }
      while (up.offset < blob.size) {
        const size = Math.min(UPLOAD_CHUNK, blob.size - up.offset);
        up = { location: await repo.patchBlob(up.location, up.offset, size, piece(up.offset, size)), offset: up.offset + size };
      }
      await repo.putBlob(up.location, blob.digest);
      return;
    } catch (err) {
      if (signal.aborted || attempt >= UPLOAD_ATTEMPTS || !retryable(err)) throw err;
      await sleepCounting(out, id, Math.min(attempt, 5), signal);
      const at = layer ? await repo.uploadOffset(up.location).catch(() => undefined) : undefined;
      if (at && at.offset <= blob.size) up = at;
      else {
        const fresh = await repo.startUpload();
        if (fresh.mounted) return;
        up = { location: fresh.location, offset: 0 };
      }
    }
  }
}

async function pushBlob(ctx: ImageContext, repo: Repository, host: string, blob: Descriptor, shown: boolean, out: ProgressStream, signal: AbortSignal): Promise<void> {
  const id = shortHex(blob.digest);
  if (await repo.blobExists(blob.digest)) {
    if (shown) out.update(id, 'Layer already exists');
    return;
  }
  const from = await mountSource(ctx.client, blob.digest, host, repo.path);
  const started = await repo.startUpload(from ? blob.digest : undefined, from);
  if (started.mounted) {
    if (shown) out.update(id, `Mounted from ${from}`);
    await addSource(ctx.client, blob.digest, host, repo.path);
    return;
  }
  await sendBlob(ctx, repo, blob, started.location, shown, out, signal);
  if (shown) out.update(id, 'Pushed');
  await addSource(ctx.client, blob.digest, host, repo.path);
}

async function pushTarget(ctx: ImageContext, repo: Repository, host: string, t: Target, limiter: Limiter, out: ProgressStream, signal: AbortSignal): Promise<void> {
  const layers = new Set(t.manifests.flatMap((m) => m.layers.map((l) => l.digest)));
  const blobs = new Map<string, Descriptor>();
  for (const m of t.manifests) for (const b of m.blobs) blobs.set(b.digest, b);
  for (const d of layers) out.update(shortHex(d), 'Preparing');
  await Promise.all([...blobs.values()].map((b) => limiter.run(() => pushBlob(ctx, repo, host, b, layers.has(b.digest), out, signal))));
  for (const m of t.manifests) {
    const isTop = m.desc.digest === t.top.digest;
    await repo.putManifest(isTop ? t.tag : m.desc.digest, m.desc.mediaType, m.data);
  }
  out.message(`${t.tag}: digest: ${t.top.digest} size: ${t.top.size}`);
  out.aux({ Tag: t.tag, Digest: t.top.digest, Size: t.top.size });
}

/** Local tags of the repository, or the one asked for; 404 before anything streams. */
async function localTags(ctx: ImageContext, ref: Reference, tag: string | undefined): Promise<{ name: string; tag: string }[]> {
  const repoName = repositoryName(ref);
  if (tag) {
    const name = fullString({ ...ref, tag });
    try {
      await ctx.client.images.get(name);
    } catch (err) {
      if (isKind(err, 'not-found')) throw notFound(`tag does not exist: ${familiarName(ref)}:${tag}`);
      throw err;
    }
    return [{ name, tag }];
  }
  const entries = await ctx.catalog.all(true);
  const names = entries.flatMap((e) => e.names).filter((n) => n.startsWith(`${repoName}:`));
  if (names.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  return names.sort().map((name) => ({ name, tag: name.slice(repoName.length + 1) }));
}

export async function pushImage(ctx: ImageContext, hosts: RegistryHosts, name: string, opts: PushOptions): Promise<Readable> {
  const ref = parseNormalizedNamed(name);
  const tag = opts.tag || ref.tag;
  const tags = await localTags(ctx, { domain: ref.domain, path: ref.path }, tag);
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const repo = new Repository({ hosts, domain: ref.domain, path: ref.path, auth: opts.auth ?? {}, signal: abort.signal, push: true });
  const out = new ProgressStream();
  // A client gone stops the upload (and its retries).
  out.once('close', () => {
    if (!out.writableFinished) abort.abort();
  });
  const limiter = new Limiter(hosts.settings.maxConcurrentUploads);
  void (async () => {
    out.message(`The push refers to repository [${repositoryName(ref)}]`);
    for (const t of tags) {
      const target = await targetOf(ctx, t.name, t.tag);
      await pushTarget(ctx, repo, repo.host, target, limiter, out, abort.signal);
      const pushed = `${familiarName(ref)}:${t.tag}`;
      publishImageEvent(ctx.events, 'push', pushed, pushed, (await ctx.catalog.resolve(target.top).catch(() => undefined))?.image);
    }
  })()
    .then(
      () => out.finish(),
      (err: unknown) => {
        ctx.logger.warn({ image: repositoryName(ref), err: messageOf(err) }, 'push failed');
        out.fail(err);
      },
    )
    .finally(memory.noteActivity);
  return out;
}
