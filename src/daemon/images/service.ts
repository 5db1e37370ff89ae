// The image service: images in containerd's image store, as the Docker API
// and the containers service need them.
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import type { ContainerdClient, Mount } from '../../containerd/index.js';
import { isKind, unavailable } from '../../errors/index.js';
import type { EventBus } from '../../events/index.js';
import type { Logger } from '../../log/index.js';
import { Catalog, type ImageEntry } from './catalog.js';
import { hostPlatform } from './config.js';
import { withLease, type ImageContext } from './context.js';
import { topChainId } from './digest.js';
import { filterImages, pruneCandidates } from './filters.js';
import { importImage } from './import.js';
import { matchCacheSource, matchedLayer } from './cache-from.js';
import { BUILD_LABELS, buildCacheRecordName, commitImage, isBuildCacheRecordName, nameImage, type CommitInput, type CommitResult } from './commit.js';
import { loadImages } from './load.js';
import { Mutex } from './lock.js';
import { LABELS } from './mediatypes.js';
import { assignNames, publishImageEvent, putOwnRecord } from './records.js';
import { familiarOf, fullString, normalizeName, referenceForTag } from './reference.js';
import { distributionInspect, pullAllTags, pullImage, type DistributionInspect, type PullDeps, type PullOptions } from './pull.js';
import { pushImage, type PushOptions } from './push.js';
import type { RegistryHosts } from '../../distribution/index.js';
import { removeImage } from './remove.js';
import { saveImages } from './save.js';
import type {
  DeleteItem,
  HistoryItem,
  ImageInspect,
  ImageSummary,
  ImageUsageCheck,
  ImportOptions,
  ListOptions,
  LoadOptions,
  Platform,
  ProgressMessage,
  RemoveOptions,
  ResolvedImage,
} from './types.js';
import { snapshotExists, unpackLayers } from './unpack.js';
import { historyOf, inspectOf, summaryOf } from './views.js';
import { memory } from '../memory.js';

export interface ImageServiceOptions {
  client: ContainerdClient;
  events: EventBus;
  logger: Logger;
  /** containerd snapshotter for layers and container filesystems */
  snapshotter?: string;
  /** where uploads are staged (e.g. <data-root>/tmp); the OS temp dir by default */
  tmpDir?: string;
  /** the containers using an image; can be set later with setUsageCheck */
  isInUse?: ImageUsageCheck;
  /** the platform images are loaded for; the host's by default */
  platform?: Platform;
  /**
   * The client's containerd namespace: with it, image records are kept in
   * memory between changes (watched through containerd's events); without
   * it every lookup lists them.
   */
  namespace?: string;
  /** registry hosts of the current configuration (pull, push, login); none: no registry access */
  registry?: () => RegistryHosts;
}

/** A build step that a --cache-from image may serve. */
export interface CacheFromStep {
  /** the image the step starts from; undefined for scratch */
  parent?: string;
  createdBy: string;
  config: CommitInput['config'];
  cacheKey: string;
  lease?: string;
}

/** What ImageService.commit takes: CommitInput with the parent and names as users write them. */
export type CommitOptions = Omit<CommitInput, 'parent' | 'names' | 'platform'> & { parent?: string; tags?: string[] };

/** The image a build step started from, from its build record. */
function parentOf(entry: ImageEntry): string | undefined {
  return entry.records.map((r) => r.labels[BUILD_LABELS.parent]).find((p) => p !== undefined && p !== '');
}

/** An image only a build cache record keeps (a step of a build, not its result). */
function isIntermediate(entry: ImageEntry): boolean {
  return entry.names.length === 0 && entry.records.length > 0 && entry.records.every((r) => isBuildCacheRecordName(r.name));
}

export interface PruneResult {
  ImagesDeleted: DeleteItem[] | null;
  SpaceReclaimed: number;
}

/** How long a freshly prepared container rootfs is protected before its container record must reference it. */
const ROOTFS_LEASE_MS = 30 * 60 * 1000;

/**
 * Bytes of the content blobs (manifest, config, layers) that only removed
 * images referenced: what leaves the content store. Layers another image
 * shares stay and are not counted.
 */
export function freedBlobBytes(entries: readonly ImageEntry[], removed: ReadonlySet<string>): number {
  const kept = new Set<string>();
  const gone = new Map<string, number>();
  for (const e of entries) {
    const blobs = [e.manifest.descriptor, e.manifest.config, ...e.manifest.layers];
    for (const b of blobs) {
      if (removed.has(e.id)) gone.set(b.digest, b.size);
      else kept.add(b.digest);
    }
  }
  let total = 0;
  for (const [digest, size] of gone) if (!kept.has(digest)) total += size;
  return total;
}

export class ImageService {
  private readonly ctx: ImageContext;
  /** chain IDs known to be unpacked: saves a Stat on every container create */
  private readonly unpacked = new Set<string>();
  /** the registry hosts of the current configuration snapshot */
  private readonly registry: (() => RegistryHosts) | undefined;
  /** blob downloads in flight, shared by concurrent pulls */
  private readonly downloads = new Map<string, Promise<void>>();

  constructor(opts: ImageServiceOptions) {
    const platform = opts.platform ?? hostPlatform();
    const logger = opts.logger;
    this.ctx = {
      client: opts.client,
      catalog: new Catalog(opts.client, platform, logger),
      events: opts.events,
      logger,
      snapshotter: opts.snapshotter ?? 'overlayfs',
      platform,
      tmpDir: opts.tmpDir ?? tmpdir(),
      names: new Mutex(),
      isInUse: opts.isInUse ?? (() => []),
    };
    if (opts.namespace !== undefined) this.ctx.catalog.records.watch(opts.namespace);
    this.registry = opts.registry;
  }

  /** Stops watching containerd's image events. */
  close(): void {
    this.ctx.catalog.records.close();
  }

  get snapshotter(): string {
    return this.ctx.snapshotter;
  }

  /** Wires the containers service in once it exists. */
  setUsageCheck(check: ImageUsageCheck): void {
    this.ctx.isInUse = check;
  }

  /** `docker import`: returns the new image ID and dockerd's progress lines. */
  import(input: Readable, opts: ImportOptions = {}): Promise<{ id: string; messages: ProgressMessage[] }> {
    return importImage(this.ctx, input, opts).finally(memory.noteActivity);
  }

  /** `docker load`: returns dockerd's `Loaded image: …` lines. */
  load(input: Readable, opts: LoadOptions = {}): Promise<ProgressMessage[]> {
    return loadImages(this.ctx, input, opts).finally(memory.noteActivity);
  }

  /** `docker save`: 404 for an unknown name before anything streams. */
  async save(names: readonly string[]): Promise<Readable> {
    const archive = await saveImages(this.ctx, names);
    archive.once('close', memory.noteActivity);
    return archive;
  }

  async list(opts: ListOptions = {}): Promise<ImageSummary[]> {
    const entries = await this.ctx.catalog.all();
    const filtered = await filterImages(entries, opts.filters ?? new Map(), async (ref) => (await this.ctx.catalog.find(ref, entries)).entry);
    return filtered
      .filter(({ entry }) => opts.all || !isIntermediate(entry))
      .map(({ entry, names }) => summaryOf(entry, names))
      .sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0));
  }

  private async entry(ref: string): Promise<ImageEntry> {
    return (await this.ctx.catalog.find(ref)).entry;
  }

  /** Unpacked size in bytes (a container's SizeRootFs is its SizeRw plus this). */
  async unpackedSize(ref: string): Promise<number> {
    return (await this.entry(ref)).size;
  }

  async inspect(ref: string): Promise<ImageInspect> {
    const entry = await this.entry(ref);
    const view = inspectOf(entry, this.ctx.snapshotter);
    // A built image knows the image of the step before it, as dockerd's builder records it.
    const parent = parentOf(entry);
    if (parent !== undefined && view.Parent === '') view.Parent = parent;
    return view;
  }

  async history(ref: string): Promise<HistoryItem[]> {
    const entries = await this.ctx.catalog.all();
    const { entry } = await this.ctx.catalog.find(ref, entries);
    const items = historyOf(entry);
    // Built images name their parent step: each row gets the ID of the image it made, as with dockerd's builder.
    const byId = new Map(entries.map((e) => [e.id, e]));
    let current: ImageEntry | undefined = entry;
    for (let row = 0; current !== undefined && row < items.length; row++) {
      items[row]!.Id = current.id;
      const parent = parentOf(current);
      current = parent === undefined ? undefined : byId.get(parent);
    }
    return items;
  }

  /** `docker tag`: points repo[:tag] at the image. */
  async tag(ref: string, repo: string, tag?: string): Promise<void> {
    const name = fullString(referenceForTag(repo, tag));
    await this.ctx.names.run(async () => {
      const entry = await this.entry(ref);
      const target = entry.records[0]?.target ?? entry.manifest.descriptor;
      const changed = await assignNames(this.ctx, { id: entry.id, target, size: entry.size }, [name]);
      // dockerd reports a tag even when the name already pointed there.
      if (changed.length === 0) publishImageEvent(this.ctx.events, 'tag', entry.id, familiarOf(name), entry.image);
    });
  }

  /** `docker rmi`. */
  remove(ref: string, opts: RemoveOptions = {}): Promise<DeleteItem[]> {
    return this.ctx.names.run(() => removeImage(this.ctx, ref, opts));
  }

  /** POST /images/prune: dangling images (all unused ones with dangling=false) that no container uses. */
  async prune(filters: Map<string, string[]> = new Map()): Promise<PruneResult> {
    const deleted: DeleteItem[] = [];
    let reclaimed = 0;
    await this.ctx.names.run(async () => {
      const entries = await this.ctx.catalog.all();
      const removed = new Set<string>();
      for (const entry of pruneCandidates(entries, filters, Date.now())) {
        if ((await this.ctx.isInUse(entry.id)).length > 0) continue;
        const items = await removeImage(this.ctx, entry.id, { force: true });
        deleted.push(...items);
        removed.add(entry.id);
      }
      reclaimed = freedBlobBytes(entries, removed);
    });
    this.ctx.events.publish('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /**
   * A new image from a container filesystem (its snapshot diffed against the
   * parent image) or from a config alone: `docker commit` and build steps.
   * `parent` is an image ID or name; `tags` are names as users write them.
   */
  async commit(opts: CommitOptions): Promise<CommitResult> {
    const { parent, tags, ...rest } = opts;
    const input: CommitInput = { ...rest, platform: this.ctx.platform };
    if (parent !== undefined && parent !== '') input.parent = await this.entry(parent);
    if (tags !== undefined) input.names = tags.map((t) => fullString(normalizeName(t)));
    return commitImage(this.ctx, input).finally(memory.noteActivity);
  }

  /** A lease for work that spans many commits (a build); content and snapshots made under it stay until release. */
  async lease(): Promise<{ id: string; release(): Promise<void> }> {
    const expire = new Date(Date.now() + ROOTFS_LEASE_MS).toISOString();
    const { id } = await this.ctx.client.leases.create(undefined, { [LABELS.gcExpire]: expire });
    return { id, release: () => this.ctx.client.leases.delete(id).catch(() => undefined) };
  }

  /** Points names (as users write them) at an image; none keeps it visible as <none>. */
  async name(ref: string, tags: readonly string[]): Promise<void> {
    const names = tags.map((t) => fullString(normalizeName(t)));
    await nameImage(this.ctx, await this.entry(ref), names);
  }

  /** Checks names as users write them (400 for a bad one) and returns their full forms. */
  normalizeTags(tags: readonly string[]): string[] {
    return tags.map((t) => fullString(normalizeName(t)));
  }

  /** The image a build step with this cache key made, if it is still there. */
  async findBuildCache(key: string): Promise<string | undefined> {
    return this.ctx.catalog.labelled(BUILD_LABELS.cacheKey, key);
  }

  /**
   * A build step served by one of the `--cache-from` images, by dockerd's
   * classic rules: the source's history and layers extend the parent and its
   * next entry records the step's command. A source's last entry gives the
   * source itself; an earlier one a new image with that entry and layer.
   * Unknown sources are skipped, as dockerd does. The result is recorded
   * under the step's cache key, so the next build hits it locally.
   */
  async cacheFromStep(sources: readonly string[], step: CacheFromStep): Promise<{ id: string; source: string } | undefined> {
    const entries = await this.ctx.catalog.all();
    const parent = step.parent ? (await this.ctx.catalog.find(step.parent, entries)).entry : undefined;
    for (const ref of sources) {
      let source: ImageEntry;
      try {
        source = (await this.ctx.catalog.find(ref, entries)).entry;
      } catch (err) {
        if (isKind(err, 'not-found') || isKind(err, 'invalid-parameter')) continue;
        throw err;
      }
      const match = matchCacheSource(source.image, parent?.image, step.createdBy);
      if (match === undefined) continue;
      // Its layers become the step's: they must be unpacked for the next step's snapshot.
      await this.resolveForContainer(source.id);
      if (match.last) {
        const named = { id: source.id, target: source.manifest.descriptor, size: source.size };
        await putOwnRecord(this.ctx, buildCacheRecordName(source.id, step.cacheKey), named, {
          [BUILD_LABELS.cacheKey]: step.cacheKey,
          [BUILD_LABELS.parent]: parent?.id ?? '',
        });
        return { id: source.id, source: source.id };
      }
      const layer = matchedLayer(match, { image: source.image, layers: source.manifest.layers });
      const input: CommitInput = {
        config: step.config,
        createdBy: step.createdBy,
        platform: this.ctx.platform,
        cacheKey: step.cacheKey,
        reuse: { history: match.history, ...(layer ? { layer } : {}) },
      };
      if (parent !== undefined) input.parent = parent;
      if (step.lease !== undefined) input.lease = step.lease;
      const made = await commitImage(this.ctx, input);
      return { id: made.id, source: source.id };
    }
    return undefined;
  }

  /** `docker builder prune`: intermediate build images go, cache marks on others are dropped. */
  async pruneBuildCache(): Promise<{ ids: string[]; reclaimed: number }> {
    const ids: string[] = [];
    let reclaimed = 0;
    await this.ctx.names.run(async () => {
      for (const entry of await this.ctx.catalog.all(true)) {
        const marks = entry.records.filter((r) => isBuildCacheRecordName(r.name));
        if (marks.length === 0) continue;
        if (isIntermediate(entry) && (await this.ctx.isInUse(entry.id)).length === 0) {
          await removeImage(this.ctx, entry.id, { force: true });
          reclaimed += entry.size;
        } else {
          await this.ctx.catalog.write(async () => {
            for (const r of marks) await this.ctx.client.images.delete(r.name).catch(() => undefined);
          });
        }
        ids.push(entry.id);
      }
    });
    return { ids, reclaimed };
  }

  /** A read-only view of an image's filesystem (COPY --from); remove it with removeRootfs. */
  async viewRootfs(key: string, ref: string): Promise<Mount[]> {
    const { chainId } = await this.resolveForContainer(ref);
    if (chainId === '') return [];
    const expire = new Date(Date.now() + ROOTFS_LEASE_MS).toISOString();
    const lease = await this.ctx.client.leases.create(undefined, { [LABELS.gcExpire]: expire });
    return this.ctx.client.withLease(lease.id).snapshots.view(this.ctx.snapshotter, key, chainId);
  }

  /**
   * `docker pull`: resolves at the registry (failures reject, for an HTTP
   * error), then answers the progress stream of the download. Without a tag
   * or digest and with `allTags`, pulls every tag.
   */
  async pull(ref: string, opts: PullOptions = {}): Promise<Readable> {
    if (opts.allTags && !/[:@]/.test(ref.slice(ref.lastIndexOf('/') + 1))) return pullAllTags(this.ctx, this.pullDeps(), ref, opts);
    return pullImage(this.ctx, this.pullDeps(), ref, opts);
  }

  /** GET /distribution/{name}/json: the registry's descriptor and platforms for a name. */
  distributionInspect(ref: string, opts: Pick<PullOptions, 'auth' | 'signal'> = {}): Promise<DistributionInspect> {
    return distributionInspect(this.pullDeps(), ref, opts);
  }

  /** `docker push`: 404 before anything streams when the tag is not here. */
  async push(name: string, opts: PushOptions = {}): Promise<Readable> {
    return pushImage(this.ctx, this.pullDeps().hosts(), name, opts);
  }

  private pullDeps(): PullDeps {
    const hosts = this.registry;
    if (!hosts) throw unavailable('this image service has no registry configuration');
    return { hosts, downloads: this.downloads };
  }

  /**
   * What a new container needs from its image; 404 `No such image: REF`.
   * Makes sure the image's layers are unpacked.
   */
  async resolveForContainer(ref: string): Promise<ResolvedImage> {
    const { entry, name } = await this.ctx.catalog.find(ref);
    const chainId = topChainId(entry.image.rootfs.diff_ids);
    if (chainId && !this.unpacked.has(chainId)) {
      if (!(await snapshotExists(this.ctx.client, this.ctx.snapshotter, chainId))) {
        const diffIds = entry.image.rootfs.diff_ids;
        const layers = entry.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! }));
        await withLease(this.ctx, (client) => unpackLayers(client, this.ctx.snapshotter, layers, this.ctx.logger));
      }
      this.unpacked.add(chainId);
    }
    const img = entry.image;
    const platform: Platform = { os: img.os, architecture: img.architecture };
    if (img.variant) platform.variant = img.variant;
    return { id: entry.id, name: name ? familiarOf(name) : entry.id, config: structuredClone(img.config ?? {}), chainId, platform };
  }

  /**
   * Creates the writable rootfs snapshot `key` on top of the image's chain.
   * A lease that expires keeps it from garbage collection until the caller's
   * containerd container record references it (a crash in between leaks
   * nothing for long). Remove it with removeRootfs.
   */
  async prepareRootfs(key: string, chainId: string): Promise<Mount[]> {
    const expire = new Date(Date.now() + ROOTFS_LEASE_MS).toISOString();
    const lease = await this.ctx.client.leases.create(undefined, { [LABELS.gcExpire]: expire });
    try {
      return await this.ctx.client.withLease(lease.id).snapshots.prepare(this.ctx.snapshotter, key, chainId);
    } catch (err) {
      await this.ctx.client.leases.delete(lease.id).catch(() => undefined);
      if (isKind(err, 'not-found') && chainId) this.unpacked.delete(chainId);
      throw err;
    }
  }

  /** The mounts of an existing container rootfs. */
  rootfsMounts(key: string): Promise<Mount[]> {
    return this.ctx.client.snapshots.mounts(this.ctx.snapshotter, key);
  }

  /** Removes a container rootfs; a missing one is fine. */
  async removeRootfs(key: string): Promise<void> {
    try {
      await this.ctx.client.snapshots.remove(this.ctx.snapshotter, key);
    } catch (err) {
      if (!isKind(err, 'not-found')) throw err;
    }
  }
}
