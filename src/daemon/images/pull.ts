// `docker pull`: resolve the reference at the registry (errors until then
// are HTTP errors), then stream the blobs into containerd's content store
// under one lease, unpack layer by layer and name the image. What an
// interrupted pull wrote stays in its ingests (and under its lease until it
// expires), so the next pull resumes instead of starting over.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ContainerdClient, Descriptor } from '../../containerd/index.js';
import { forbidden, internal, invalidParameter, isKind, messageOf, notFound, unlessNotFound } from '../../errors/index.js';
import {
  chooseManifest,
  formatPlatform,
  isIndexMediaType,
  isSchema1MediaType,
  Limiter,
  RegistryError,
  Repository,
  SCHEMA1_REMOVED,
  type AuthConfig,
  type RegistryHosts,
  type Descriptor as RegistryDescriptor,
} from '../../distribution/index.js';
import { parseImageConfig, parsePlatform, platformMatches } from './config.js';
import type { ResolvedTarget } from './catalog.js';
import type { ImageContext } from './context.js';
import { topChainId } from './digest.js';
import { LABELS } from './mediatypes.js';
import { ProgressStream } from './progress.js';
import { assignNames, publishImageEvent } from './records.js';
import { familiarName, familiarString, fullString, parseNormalizedNamed, type Reference } from './reference.js';
import type { OciImage, Platform } from './types.js';
import { retryable, sleepCounting } from './retry.js';
import { snapshotExists, unpackLayers } from './unpack.js';
import { memory } from '../memory.js';

export interface PullOptions {
  /** os[/arch[/variant]]; the host's by default */
  platform?: string;
  auth?: AuthConfig;
  /** aborted when the client goes away */
  signal?: AbortSignal;
  /** a name without tag or digest: every tag (`docker pull -a`) */
  allTags?: boolean;
}

export interface PullDeps {
  hosts(): RegistryHosts;
  /** blob downloads in flight, shared by concurrent pulls */
  downloads: Map<string, Promise<void>>;
}

/** Pull leases outlive an interrupted pull long enough for a retry to reuse its blobs. */
const PULL_LEASE_MS = 8 * 3600 * 1000;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function asDescriptor(v: unknown, where: string): RegistryDescriptor {
  if (!isObject(v) || typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || typeof v.size !== 'number') {
    throw invalidParameter(`invalid manifest ${where}: a descriptor lacks mediaType, digest or size`);
  }
  return v as unknown as RegistryDescriptor;
}

function parseJson(data: Buffer, where: string): Record<string, unknown> {
  try {
    const v = JSON.parse(data.toString('utf8')) as unknown;
    if (isObject(v)) return v;
  } catch {
    // refused below
  }
  throw invalidParameter(`invalid manifest ${where}: not a JSON object`);
}

interface PullPlan {
  ref: Reference;
  /** tag or digest as the stream's first line names it */
  shownId: string;
  name: string;
  repo: Repository;
  top: { desc: RegistryDescriptor; data: Buffer };
  index?: { children: RegistryDescriptor[] };
  manifest: { desc: RegistryDescriptor; data: Buffer; config: RegistryDescriptor; layers: RegistryDescriptor[] };
  abort: AbortController;
  /** the name points at this image already and nothing is missing (manifest and top data are then left empty) */
  upToDate?: boolean;
}

/**
 * dockerd's wording and status for registry failures while resolving:
 * unknown names and refusals (DENIED) are 404s; other auth failures are
 * 500s naming the request, as dockerd's are (a 401 would make the CLI prompt
 * for a password).
 */
function resolveError(err: unknown, ref: Reference): unknown {
  if (!(err instanceof RegistryError)) return isKind(err, 'unauthorized') ? internal(messageOf(err), err) : err;
  const codes = err.entries.map((e) => e.code);
  const full = fullString(ref);
  if (codes[0] === 'DENIED') {
    return notFound(`pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${err.message}`);
  }
  if (err.kind === 'unauthorized') return internal(err.withRequest, err);
  if (codes.includes('MANIFEST_UNKNOWN') || (err.status === 404 && codes.length === 0)) {
    return notFound(`manifest for ${full} not found: ${err.entries.length ? err.message : 'manifest unknown: manifest unknown'}`);
  }
  if (codes.includes('NAME_UNKNOWN')) return notFound(`repository ${familiarName(ref)} not found: ${err.message}`);
  return err;
}

function readLocal(client: ContainerdClient, digest: string): Promise<Buffer | undefined> {
  return unlessNotFound(client.content.readAll(digest));
}

async function present(client: ContainerdClient, digest: string): Promise<boolean> {
  try {
    await client.content.info(digest);
    return true;
  } catch (err) {
    if (isKind(err, 'not-found')) return false;
    throw err;
  }
}

/**
 * Leases a blob already in the store for this pull (and labels it as the pull
 * would) in one step: containerd answers a write of a stored digest with
 * "already exists" and adds the blob to the writer's lease. A blob that is
 * missing, or that a garbage collection (after an rmi) took since, fails the
 * empty write instead, and is downloaded; a check first, lease after, would
 * let the collection win in between.
 */
async function leaseIfPresent(client: ContainerdClient, desc: RegistryDescriptor, labels: Promise<Record<string, string>>): Promise<boolean> {
  if (!(await present(client, desc.digest))) return false;
  const l = await labels;
  try {
    await client.content.write(`layer-${desc.digest}`, Buffer.alloc(0), desc as Descriptor, l);
    return true;
  } catch {
    return false;
  }
}

async function manifestBytes(ctx: ImageContext, repo: Repository, desc: RegistryDescriptor): Promise<Buffer> {
  return (await readLocal(ctx.client, desc.digest)) ?? repo.manifest(desc);
}

async function plan(ctx: ImageContext, deps: PullDeps, refText: string, opts: PullOptions): Promise<PullPlan> {
  let ref = parseNormalizedNamed(refText);
  if (ref.tag === undefined && ref.digest === undefined) ref = { ...ref, tag: 'latest' };
  if (ref.domain === 'docker.io' && ref.path === 'library/scratch') throw forbidden("'scratch' is a reserved name");
  const want: Platform = opts.platform ? parsePlatform(opts.platform) : ctx.platform;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const repo = new Repository({ hosts: deps.hosts(), domain: ref.domain, path: ref.path, auth: opts.auth ?? {}, signal: abort.signal });
  const reference = ref.digest ?? ref.tag!;
  // The registry's answer is the longer wait: its request goes out (its
  // microtasks and ticks run) before the local checks start, which then
  // overlap it.
  const resolving = repo.resolve(reference);
  resolving.catch(() => undefined);
  // With --platform the local record may stand for another platform: check the long way.
  const local = opts.platform === undefined ? new Promise(setImmediate).then(() => completeLocal(ctx, fullString(ref))).catch(() => undefined) : Promise.resolve(undefined);
  let top: RegistryDescriptor;
  try {
    top = await resolving;
  } catch (err) {
    throw resolveError(err, ref);
  }
  if (isSchema1MediaType(top.mediaType)) throw invalidParameter(SCHEMA1_REMOVED);
  const shown = ref.digest ?? ref.tag!;
  const here = await local;
  const current = here?.digest === top.digest ? here.resolved : undefined;
  if (current) {
    const m = current.manifest;
    const none = Buffer.alloc(0);
    return { ref, shownId: shown, name: fullString(ref), repo, top: { desc: top, data: none }, manifest: { desc: m.descriptor, data: none, config: m.config, layers: m.layers }, abort, upToDate: true };
  }
  const topData = await manifestBytes(ctx, repo, top);
  let manifest = { desc: top, data: topData };
  let index: PullPlan['index'];
  if (isIndexMediaType(top.mediaType)) {
    const idx = parseJson(topData, top.digest);
    if (!Array.isArray(idx.manifests)) throw invalidParameter(`invalid index ${top.digest}: no manifests`);
    const children = idx.manifests.map((m) => asDescriptor(m, top.digest));
    const chosen = chooseManifest(children, want, opts.platform !== undefined);
    if (!chosen) throw notFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
    if (isIndexMediaType(chosen.mediaType)) throw invalidParameter(`index ${top.digest} nests another index for ${formatPlatform(want)}; berth does not follow nested indexes`);
    manifest = { desc: chosen, data: await manifestBytes(ctx, repo, chosen) };
    index = { children };
  }
  const m = parseJson(manifest.data, manifest.desc.digest);
  if (m.schemaVersion === 1) throw invalidParameter(SCHEMA1_REMOVED);
  if (!Array.isArray(m.layers)) throw invalidParameter(`invalid manifest ${manifest.desc.digest}: no layers`);
  const config = asDescriptor(m.config, manifest.desc.digest);
  const layers = m.layers.map((l) => asDescriptor(l, manifest.desc.digest));
  const shownId = ref.digest ?? ref.tag!;
  return { ref, shownId, name: fullString(ref), repo, top: { desc: top, data: topData }, index, manifest: { ...manifest, config, layers }, abort };
}

const shortHex = (digest: string): string => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

function sourceLabel(repo: Repository): Record<string, string> {
  const host = repo.host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return { [`containerd.io/distribution.source.${host}`]: repo.path };
}

interface Downloader {
  client: ContainerdClient;
  repo: Repository;
  out: ProgressStream;
  limiter: Limiter;
  attempts: number;
  signal: AbortSignal;
  /** the pull's lease, being made */
  leased: Promise<unknown>;
}

/** One layer into the content store: resumable, verified at commit, retried. */
async function downloadLayer(d: Downloader, layer: RegistryDescriptor, labels: Promise<Record<string, string>>): Promise<void> {
  const id = shortHex(layer.digest);
  const start = Math.floor(Date.now() / 1000);
  let verifying = false;
  for (let attempt = 1; ; attempt++) {
    try {
      await d.client.content.ingest(
        `layer-${layer.digest}`,
        { digest: layer.digest, size: layer.size },
        labels,
        (offset) => d.repo.openBlob(layer, offset),
        {
          ready: d.leased,
          progress: (offset) => {
            d.out.bytes(id, 'Downloading', offset, layer.size, start);
            if (offset >= layer.size && !verifying) {
              verifying = true;
              d.out.update(id, 'Verifying Checksum');
            }
          },
        },
      );
      return;
    } catch (err) {
      verifying = false;
      if (isKind(err, 'conflict') && /digest|size/.test(messageOf(err))) {
        throw invalidParameter(`filesystem layer verification failed for digest ${layer.digest}`, err);
      }
      if (d.signal.aborted || attempt >= d.attempts || !retryable(err)) throw err;
      await sleepCounting(d.out, id, Math.min(attempt, 5), d.signal);
    }
  }
}

/**
 * What the name points at, when everything it needs is here (manifest,
 * config, layer blobs, unpacked chain): a pull of that digest writes
 * nothing. Asked while the registry resolves the reference.
 */
async function completeLocal(ctx: ImageContext, name: string): Promise<{ digest: string; resolved: ResolvedTarget } | undefined> {
  const target = await ctx.catalog.targetOf(name).catch(() => undefined);
  if (!target) return undefined;
  const resolved = await ctx.catalog.resolve(target).catch(() => undefined);
  if (!resolved) return undefined;
  const chain = topChainId(resolved.image.rootfs.diff_ids);
  const wanted = new Set(resolved.manifest.layers.map((l) => l.digest));
  const complete = await ctx.catalog.records.checkComplete(target.digest, async () => {
    // One listing for all the layers (filters are alternatives), beside the snapshot's stat.
    const [stored, unpacked] = await Promise.all([
      wanted.size === 0 ? Promise.resolve([]) : ctx.client.content.list([...wanted].map((d) => `digest==${d}`)),
      chain ? snapshotExists(ctx.client, ctx.snapshotter, chain) : Promise.resolve(true),
    ]);
    const have = new Set(stored.map((i) => i.digest));
    return unpacked && [...wanted].every((d) => have.has(d));
  });
  return complete ? { digest: target.digest, resolved } : undefined;
}

async function runPull(ctx: ImageContext, deps: PullDeps, p: PullPlan, out: ProgressStream): Promise<void> {
  if (p.upToDate) {
    out.message(`Pulling from ${p.ref.path}`, p.shownId);
    for (const l of new Set(p.manifest.layers.map((x) => x.digest))) out.update(shortHex(l), 'Already exists');
    out.message(`Digest: ${p.top.desc.digest}`);
    out.message(`Status: Image is up to date for ${familiarString(p.ref)}`);
    return;
  }
  const settings = deps.hosts().settings;
  const expire = new Date(Date.now() + PULL_LEASE_MS).toISOString();
  const leaseId = `berth-pull-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  // Nothing is written to containerd before the lease exists, but downloads start while it is made.
  const leased = ctx.client.leases.create(leaseId, { [LABELS.gcExpire]: expire });
  leased.catch(() => p.abort.abort());
  const client = ctx.client.withLease(leaseId);
  let keepLease = true;
  let named = false;
  let configFailed = false;
  try {
    const { manifest, repo } = p;
    out.message(`Pulling from ${p.ref.path}`, p.shownId);
    // The layers start downloading while the config comes: only their commits need its diff IDs (their labels).
    const configP = (async () => {
      const data = (await readLocal(client, manifest.config.digest)) ?? (await repo.smallBlob(manifest.config));
      const parsed: OciImage = parseImageConfig(data, manifest.config.digest);
      if (parsed.rootfs.diff_ids.length !== manifest.layers.length) {
        throw invalidParameter(`image ${manifest.desc.digest}: the manifest has ${manifest.layers.length} layers but the config ${parsed.rootfs.diff_ids.length}`);
      }
      return { data, image: parsed };
    })();
    configP.catch(() => {
      configFailed = true;
      p.abort.abort();
    });
    const layerLabels = manifest.layers.map((_, i) => {
      const labels = Promise.all([configP, leased]).then(([c]) => ({ [LABELS.uncompressed]: c.image.rootfs.diff_ids[i]!, ...sourceLabel(repo) }));
      // Each is awaited by its layer's commit, if that comes; the config's failure is reported once, below.
      labels.catch(() => undefined);
      return labels;
    });
    const limiter = new Limiter(settings.maxConcurrentDownloads);
    const d: Downloader = { client, repo, out, limiter, attempts: Math.max(1, settings.maxDownloadAttempts), signal: p.abort.signal, leased };
    const downloads: Promise<boolean>[] = [];
    const seen = new Map<string, Promise<boolean>>();
    // Which layers are here already, asked for all at once (the first occurrence of each digest only: one writer per ref).
    const firstAt = new Map<string, number>();
    manifest.layers.forEach((l, i) => firstAt.has(l.digest) || firstAt.set(l.digest, i));
    const here = await Promise.all(
      manifest.layers.map((l, i) => (firstAt.get(l.digest) === i ? leaseIfPresent(client, l, layerLabels[i]!) : Promise.resolve(false))),
    );
    for (const [i, layer] of manifest.layers.entries()) {
      let job = seen.get(layer.digest);
      if (!job) {
        const id = shortHex(layer.digest);
        if (here[i]) {
          out.update(id, 'Already exists');
          job = Promise.resolve(false);
        } else {
          out.update(id, 'Pulling fs layer');
          job = (async () => {
            let shared = deps.downloads.get(layer.digest);
            if (!shared) {
              if (limiter.full) out.update(id, 'Waiting');
              shared = limiter.run(() => downloadLayer(d, layer, layerLabels[i]!)).finally(() => deps.downloads.delete(layer.digest));
              deps.downloads.set(layer.digest, shared);
            }
            await shared;
            out.update(id, 'Download complete');
            return true;
          })();
        }
        job.catch(() => p.abort.abort());
        seen.set(layer.digest, job);
      }
      downloads.push(job);
    }
    const { data: configData, image } = await configP;
    await leased;
    const diffIds = image.rootfs.diff_ids;
    const chain = topChainId(diffIds);
    const source = sourceLabel(repo);
    const mLabels: Record<string, string> = { [LABELS.gcContentConfig]: manifest.config.digest, ...source };
    manifest.layers.forEach((l, i) => (mLabels[LABELS.gcContentLayer(i)] = l.digest));
    // All under the pull's lease, so their order does not matter to the collector: written side by side, while the layers come.
    const writes = [
      client.content.write(`config-${manifest.config.digest}`, configData, manifest.config, { ...(chain ? { [LABELS.gcSnapshot(ctx.snapshotter)]: chain } : {}), ...source }),
      client.content.write(`manifest-${manifest.desc.digest}`, manifest.data, manifest.desc, mLabels),
    ];
    if (p.index) {
      const iLabels: Record<string, string> = { ...source };
      p.index.children.forEach((c, i) => (iLabels[LABELS.gcContentManifest(i)] = c.digest));
      writes.push(client.content.write(`index-${p.top.desc.digest}`, p.top.data, p.top.desc, iLabels));
    }
    const content = Promise.all(writes);
    // Awaited after the layers; a failure meanwhile is the layers' to report.
    content.catch(() => undefined);
    // Unpack in order as the downloads complete.
    for (const [i, layer] of manifest.layers.entries()) {
      const fetched = await downloads[i]!;
      const id = shortHex(layer.digest);
      if (fetched) out.bytes(id, 'Extracting', 0, layer.size, Math.floor(Date.now() / 1000));
      await unpackLayers(
        client,
        ctx.snapshotter,
        manifest.layers.slice(0, i + 1).map((descriptor, j) => ({ descriptor: descriptor as Descriptor, diffId: diffIds[j]! })),
        ctx.logger,
        // The layers below were unpacked (or found) by the turns before.
        i,
      );
      if (fetched) out.update(id, 'Pull complete');
    }
    await content;
    // The image store reads an index for the host's platform: another platform's image is named by its manifest.
    const foreign = p.index !== undefined && !platformMatches(ctx.platform, manifest.desc.platform);
    const top = (foreign ? manifest.desc : p.top.desc) as Descriptor;
    const size = manifest.layers.reduce((s, l) => s + l.size, 0);
    const resolved = { id: manifest.config.digest, manifest: { descriptor: manifest.desc as Descriptor, config: manifest.config as Descriptor, layers: manifest.layers as Descriptor[] }, image };
    ctx.catalog.remember(top, resolved);
    // The name changes unless it pointed at this image already.
    const changed = await ctx.names.run(() => assignNames(ctx, { id: manifest.config.digest, target: top, size, labels: { [LABELS.fromRegistry]: 'true' } }, [p.name]));
    publishImageEvent(ctx.events, 'pull', familiarString(p.ref), familiarString(p.ref), image);
    named = true;
    keepLease = false;
    out.message(`Digest: ${top.digest}`);
    out.message(!changed.includes(p.name) ? `Status: Image is up to date for ${familiarString(p.ref)}` : `Status: Downloaded newer image for ${familiarString(p.ref)}`);
    ctx.logger.info({ image: p.name, digest: top.digest }, 'image pulled');
  } catch (err) {
    // Refusals are final: only interrupted pulls keep their lease for a retry.
    if (!retryable(err) && (!p.abort.signal.aborted || configFailed)) keepLease = false;
    throw err;
  } finally {
    if (!keepLease) {
      const released = leased.then(() => ctx.client.leases.delete(leaseId)).catch(() => undefined);
      // Once the image is named its record holds the content: the client need not wait for the lease to go.
      if (!named) await released;
    }
  }
}

/**
 * Resolves first (a failure is the request's HTTP error), then answers the
 * progress stream while the pull runs.
 */
export async function pullImage(ctx: ImageContext, deps: PullDeps, refText: string, opts: PullOptions): Promise<Readable> {
  const p = await plan(ctx, deps, refText, opts);
  const out = new ProgressStream();
  out.once('close', () => {
    if (!out.writableFinished) p.abort.abort();
  });
  void runPull(ctx, deps, p, out)
    .then(
      () => out.finish(),
      (err: unknown) => {
        ctx.logger.warn({ image: p.name, err: messageOf(err) }, 'pull failed');
        out.fail(err);
      },
    )
    .finally(memory.noteActivity);
  return out;
}

/** `docker pull -a`: every tag of the repository, one after the other, in one stream. */
export async function pullAllTags(ctx: ImageContext, deps: PullDeps, repoText: string, opts: PullOptions): Promise<Readable> {
  const ref = parseNormalizedNamed(repoText);
  const repo = new Repository({ hosts: deps.hosts(), domain: ref.domain, path: ref.path, auth: opts.auth ?? {}, signal: opts.signal });
  let tags: string[];
  try {
    tags = await repo.tags();
  } catch (err) {
    throw resolveError(err, { ...ref, tag: 'latest' });
  }
  if (tags.length === 0) throw notFound(`repository ${familiarName(ref)} has no tags`);
  const out = new ProgressStream();
  void (async () => {
    for (const tag of tags.sort()) {
      const one = await pullImage(ctx, deps, fullString({ ...ref, tag }), opts);
      for await (const chunk of one) out.write(chunk as Buffer);
    }
  })().then(
    () => out.finish(),
    (err: unknown) => out.fail(err),
  );
  return out;
}

/** GET /distribution/{name}/json: what the registry holds under a name, without pulling it. */
export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Array<{ architecture: string; os: string; 'os.version'?: string; 'os.features'?: string[]; variant?: string }>;
}

type InspectPlatform = DistributionInspect['Platforms'][number];

function platformOf(v: Record<string, unknown>): InspectPlatform {
  const text = (k: string): string => (typeof v[k] === 'string' ? (v[k] as string) : '');
  const p: InspectPlatform = { architecture: text('architecture'), os: text('os') };
  if (text('os.version') !== '') p['os.version'] = text('os.version');
  const features = v['os.features'];
  if (Array.isArray(features) && features.length > 0) p['os.features'] = features.filter((f): f is string => typeof f === 'string');
  if (text('variant') !== '') p.variant = text('variant');
  return p;
}

/**
 * dockerd's distribution inspect: the descriptor the name (tag `latest` when
 * none) resolves to, and the platforms it serves: each entry of an index,
 * or the platform of a single manifest's config.
 */
export async function distributionInspect(deps: PullDeps, refText: string, opts: Pick<PullOptions, 'auth' | 'signal'>): Promise<DistributionInspect> {
  let ref = parseNormalizedNamed(refText);
  if (ref.tag === undefined && ref.digest === undefined) ref = { ...ref, tag: 'latest' };
  const repo = new Repository({ hosts: deps.hosts(), domain: ref.domain, path: ref.path, auth: opts.auth ?? {}, signal: opts.signal });
  let top: RegistryDescriptor;
  let data: Buffer;
  try {
    top = await repo.resolve(ref.digest ?? ref.tag!);
    if (isSchema1MediaType(top.mediaType)) throw invalidParameter(SCHEMA1_REMOVED);
    data = await repo.manifest(top);
  } catch (err) {
    throw resolveError(err, ref);
  }
  const manifest = parseJson(data, top.digest);
  let platforms: InspectPlatform[];
  if (isIndexMediaType(top.mediaType)) {
    if (!Array.isArray(manifest.manifests)) throw invalidParameter(`invalid index ${top.digest}: no manifests`);
    platforms = manifest.manifests.map((m) => platformOf(isObject(m) && isObject(m.platform) ? m.platform : {}));
  } else {
    const config = parseJson(await repo.smallBlob(asDescriptor(manifest.config, top.digest)), top.digest);
    platforms = [platformOf(config)];
  }
  return { Descriptor: { mediaType: top.mediaType, digest: top.digest, size: data.length }, Platforms: platforms };
}
