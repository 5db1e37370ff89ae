// The daemon's view of containerd's image records: each record resolved to
// its manifest and config (cached by digest, since content never changes),
// grouped by image ID (the config digest), and looked up the way dockerd
// looks up a name or an ID.
import type { ContainerdClient, Descriptor, ImageRecord } from '../../containerd/index.js';
import { invalidParameter, isKind, notFound, unlessNotFound } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { RecordCache } from './record-cache.js';
import { parseImageConfig, platformMatches } from './config.js';
import { hexOf } from './digest.js';
import { isDanglingName, isIndexType, isManifestType, LABELS } from './mediatypes.js';
import { familiarString, fullString, parseNormalizedNamed, repositoryName, withDefaultTag } from './reference.js';
import type { OciImage, Platform } from './types.js';

export interface ResolvedTarget {
  id: string;
  manifest: { descriptor: Descriptor; config: Descriptor; layers: Descriptor[] };
  image: OciImage;
}

export interface ImageEntry extends ResolvedTarget {
  /** every record of this image, dangling ones included */
  records: ImageRecord[];
  /** full names (docker.io/library/busybox:latest), sorted */
  names: string[];
  /** unpacked size in bytes */
  size: number;
}

export interface Lookup {
  entry: ImageEntry;
  /** the full name matched, or undefined when found by ID */
  name?: string;
}

const CACHE_MAX = 2048;
const HEX_PREFIX_RE = /^(?:sha256:)?[a-f0-9]{1,64}$/;
const FULL_ID_RE = /^(?:sha256:)?[a-f0-9]{64}$/;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function asDescriptor(v: unknown): Descriptor | undefined {
  if (!isObject(v) || typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || typeof v.size !== 'number') return undefined;
  const d: Descriptor = { mediaType: v.mediaType, digest: v.digest, size: v.size };
  if (isObject(v.platform)) (d as Descriptor & { platform?: unknown }).platform = v.platform;
  return d;
}

export class Catalog {
  private readonly cache = new Map<string, Promise<ResolvedTarget | undefined>>();
  readonly records: RecordCache;

  constructor(
    private readonly client: ContainerdClient,
    private readonly platform: Platform,
    private readonly logger: Logger,
  ) {
    this.records = new RecordCache(client, logger);
  }

  /**
   * The target of the record with that full name: from the kept list while
   * there is one (as every lookup by name is), else asked of containerd.
   */
  async targetOf(name: string): Promise<Descriptor | undefined> {
    if (this.records.caching) return (await this.records.list()).find((r) => r.name === name)?.target;
    return unlessNotFound(this.client.images.get(name).then((r) => r.target));
  }

  /** Runs a write to image records (see RecordCache.write). */
  write<T>(op: () => Promise<T>): Promise<T> {
    return this.records.write(op);
  }

  /** Resolves a record's target (manifest, or index → host platform manifest); undefined if unusable. */
  resolve(target: Descriptor): Promise<ResolvedTarget | undefined> {
    let p = this.cache.get(target.digest);
    if (!p) {
      p = this.load(target, 0).catch((err: unknown) => {
        this.cache.delete(target.digest);
        if (isKind(err, 'not-found')) return undefined;
        throw err;
      });
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(target.digest, p);
    }
    return p;
  }

  /** Remembers what the service just wrote, saving a read. */
  remember(target: Descriptor, resolved: ResolvedTarget): void {
    this.cache.set(target.digest, Promise.resolve(resolved));
  }

  private async readJson(digest: string): Promise<unknown> {
    const data = await this.client.content.readAll(digest);
    return JSON.parse(data.toString('utf8'));
  }

  private async load(target: Descriptor, depth: number): Promise<ResolvedTarget | undefined> {
    if (depth > 4) return undefined;
    if (isIndexType(target.mediaType)) {
      const idx = await this.readJson(target.digest);
      if (!isObject(idx) || !Array.isArray(idx.manifests)) return undefined;
      for (const raw of idx.manifests) {
        const d = asDescriptor(raw) as (Descriptor & { platform?: Partial<Platform> }) | undefined;
        if (!d) continue;
        if (!(isIndexType(d.mediaType) && !d.platform) && !platformMatches(this.platform, d.platform)) continue;
        try {
          const found = await this.load(d, depth + 1);
          if (found) return found;
        } catch (err) {
          // A platform whose blobs were not fetched is simply absent.
          if (!isKind(err, 'not-found')) throw err;
        }
      }
      return undefined;
    }
    if (!isManifestType(target.mediaType)) return undefined;
    const m = await this.readJson(target.digest);
    if (!isObject(m) || !Array.isArray(m.layers)) return undefined;
    const config = asDescriptor(m.config);
    const layers = m.layers.map(asDescriptor);
    if (!config || layers.some((l) => l === undefined)) return undefined;
    const image = parseImageConfig(await this.client.content.readAll(config.digest), config.digest);
    return { id: config.digest, manifest: { descriptor: target, config, layers: layers as Descriptor[] }, image };
  }

  /**
   * The image of the first record with label `key` = `value` whose content
   * can be read: one lookup without resolving every record, as a build's
   * cache probe of each step needs.
   */
  async labelled(key: string, value: string): Promise<string | undefined> {
    for (const record of await this.records.list()) {
      if (record.labels[key] !== value) continue;
      try {
        const t = await this.resolve(record.target);
        if (t) return t.id;
      } catch (err) {
        this.logger.warn({ err, image: record.name }, 'skipping an image record whose content cannot be read');
      }
    }
    return undefined;
  }

  /** All images, grouped by ID; `fresh` asks containerd rather than the kept list. */
  async all(fresh = false): Promise<ImageEntry[]> {
    const records = await this.records.list(fresh);
    const byId = new Map<string, ImageEntry>();
    const resolved = await Promise.all(
      records.map(async (r) => {
        try {
          return await this.resolve(r.target);
        } catch (err) {
          this.logger.warn({ err, image: r.name }, 'skipping an image record whose content cannot be read');
          return undefined;
        }
      }),
    );
    records.forEach((record, i) => {
      const t = resolved[i];
      if (!t) return;
      let entry = byId.get(t.id);
      if (!entry) {
        const labelled = Number(record.labels[LABELS.imageSize]);
        const size = Number.isFinite(labelled) && labelled > 0 ? labelled : t.manifest.layers.reduce((s, l) => s + l.size, 0);
        entry = { ...t, records: [], names: [], size };
        byId.set(t.id, entry);
      }
      entry.records.push(record);
      if (!isDanglingName(record.name)) entry.names.push(record.name);
    });
    for (const e of byId.values()) e.names.sort();
    return [...byId.values()];
  }

  /**
   * Finds an image by name (`busybox`, `docker.io/library/busybox:latest`),
   * full ID, ID without `sha256:`, or an unambiguous ID prefix, as dockerd does.
   */
  async find(ref: string, entries?: ImageEntry[]): Promise<Lookup> {
    if (entries !== undefined) return this.lookup(ref, entries);
    const kept = this.records.caching;
    try {
      return this.lookup(ref, await this.all());
    } catch (err) {
      // A name made a moment ago by someone else may not have reached the kept list yet.
      if (!kept || !isKind(err, 'not-found')) throw err;
      return this.lookup(ref, await this.all(true));
    }
  }

  private lookup(ref: string, all: ImageEntry[]): Lookup {
    if (FULL_ID_RE.test(ref)) {
      const id = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
      const entry = all.find((e) => e.id === id);
      if (entry) return { entry };
      throw notFound(`No such image: ${ref}`);
    }
    if (ref === '') throw invalidParameter('image name must not be empty');
    const parsed = withDefaultTag(parseNormalizedNamed(ref));
    const name = fullString(parsed);
    const byName = all.find((e) => e.names.includes(name));
    if (byName) return { entry: byName, name };
    if (parsed.digest !== undefined) {
      // repo@digest: an image of that repository whose manifest has that digest.
      const repo = repositoryName(parsed);
      const entry = all.find((e) => e.manifest.descriptor.digest === parsed.digest && e.names.some((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`)));
      if (entry) return { entry, name };
    }
    if (HEX_PREFIX_RE.test(ref)) {
      const hex = hexOf(ref);
      const matches = all.filter((e) => hexOf(e.id).startsWith(hex));
      if (matches.length === 1) return { entry: matches[0]! };
      if (matches.length > 1) throw notFound(`No such image: ${ref} (the ID prefix matches ${matches.length} images; give more of it)`);
    }
    throw notFound(`No such image: ${familiarString(parsed)}`);
  }
}
