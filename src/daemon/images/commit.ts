// A new image on top of another: the difference of a container filesystem
// from its image (containerd's Diff service) becomes one more layer, with a
// new config and manifest in the content store and an image record. `docker
// commit` and every step of `docker build` go through here.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerdClient, Descriptor, Mount } from '../../containerd/index.js';
import { isKind } from '../../errors/index.js';
import { applyChanges } from './changes.js';
import type { ImageEntry } from './catalog.js';
import { writeImageContent, type PreparedImage } from './content.js';
import { withLease, type ImageContext } from './context.js';
import { chainIds, sha256Digest, topChainId } from './digest.js';
import { DANGLING_PREFIX, LABELS, MT } from './mediatypes.js';
import { assignNames, keepVisible, putOwnRecord } from './records.js';
import type { HistoryEntry, ImageConfig, OciImage, Platform } from './types.js';

const execFileAsync = promisify(execFile);

/** The digest of a tar with no entries (two zero blocks): what the Diff service writes for an unchanged filesystem. */
export const EMPTY_LAYER_DIGEST = sha256Digest(Buffer.alloc(1024));

/** Labels of build cache records (on the record, so a record lookup finds a step). */
export const BUILD_LABELS = {
  cacheKey: 'io.berth.build.cache-key',
  parent: 'io.berth.build.parent',
} as const;

const CACHE_SUFFIX = '#build-cache@';

/** The record that marks an image as the result of one build step. */
export function buildCacheRecordName(imageId: string, key: string): string {
  return `${DANGLING_PREFIX}${imageId}${CACHE_SUFFIX}${key}`;
}

export function isBuildCacheRecordName(name: string): boolean {
  return name.startsWith(DANGLING_PREFIX) && name.includes(CACHE_SUFFIX);
}

export interface CommitInput {
  /** the image the filesystem grew from; undefined for scratch */
  parent?: ImageEntry;
  /** the active snapshot to diff against the parent; undefined for a config-only image */
  rootfsKey?: string;
  /**
   * The snapshot is the caller's own and nothing uses it any more: commit it
   * as the new layer's snapshot instead of unpacking the blob again later.
   */
  consumeSnapshot?: boolean;
  /** mount points the runtime made in the snapshot, left out of the layer unless the image has them */
  runtimePaths?: readonly string[];
  config: ImageConfig;
  /** Dockerfile instructions applied to `config` (commit --change) */
  changes?: readonly string[];
  createdBy: string;
  comment?: string;
  author?: string;
  /** for scratch images */
  platform: Platform;
  /**
   * Full names to point at the image; [] keeps it as <none>; undefined makes
   * an intermediate build image, kept only by its cache record.
   */
  names?: string[];
  /** records the image as the result of a build step with this key */
  cacheKey?: string;
  /** a lease the caller holds for longer (a whole build): used instead of one per commit */
  lease?: string;
  /**
   * A step taken over from another image (build --cache-from): its history
   * entry and layer (already in the store) instead of a diff.
   */
  reuse?: { history: HistoryEntry; layer?: { descriptor: Descriptor; diffId: string } };
}

export interface CommitResult {
  id: string;
  /** whether the filesystem had changes (a layer was added) */
  layer: boolean;
}

/**
 * Mounts that show the same filesystem read-only, without mounting a live
 * upperdir a second time; `maskDir`, when given, lies on top (its whiteouts
 * hide what the runtime made).
 */
export function readOnlyMounts(mounts: readonly Mount[], maskDir?: string): Mount[] {
  return mounts.map((m) => {
    if (m.type !== 'overlay') return { ...m, options: [...m.options.filter((o) => o !== 'rw'), 'ro'] };
    const { upper, lowers, rest } = overlayDirs(m);
    const all = [maskDir ?? '', upper, ...lowers].filter((x) => x !== '').join(':');
    return { ...m, options: [...rest, 'ro', `lowerdir=${all}`] };
  });
}

function overlayDirs(m: Mount): { upper: string; lowers: string[]; rest: string[] } {
  let upper = '';
  let lowers: string[] = [];
  const rest: string[] = [];
  for (const o of m.options) {
    if (o.startsWith('upperdir=')) upper = o.slice('upperdir='.length);
    else if (o.startsWith('lowerdir=')) lowers = o.slice('lowerdir='.length).split(':');
    else if (!o.startsWith('workdir=') && o !== 'rw') rest.push(o);
  }
  return { upper, lowers, rest };
}

/**
 * The parent chain's filesystem, read-only, from an overlay snapshot's own
 * mounts (its lower directories are the chain's layers): what a view of the
 * chain would mount, without making and removing one (two metadata writes).
 * The snapshot holds the chain while it exists. Undefined for other mounts.
 */
export function parentMounts(mounts: readonly Mount[]): Mount[] | undefined {
  if (mounts.length !== 1 || mounts[0]!.type !== 'overlay') return undefined;
  const { lowers, rest } = overlayDirs(mounts[0]!);
  if (lowers.length === 0 || lowers.some((l) => l === '')) return undefined;
  // containerd's overlay view: one layer is bind-mounted, more are an overlay without an upper layer.
  if (lowers.length === 1) return [{ type: 'bind', source: lowers[0]!, options: ['ro', 'rbind'] }];
  return [{ type: 'overlay', source: 'overlay', options: [...rest.filter((o) => o !== 'ro'), 'ro', `lowerdir=${lowers.join(':')}`] }];
}

const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

/**
 * Of `paths` (mount points the runtime creates: /proc, /etc/hosts…), those
 * that the container's upper layer has and no image layer has: runtime
 * artefacts that must not become part of an image (moby keeps them in an
 * "init" layer for the same reason).
 */
async function runtimeArtefacts(mounts: readonly Mount[], paths: readonly string[]): Promise<{ upper: string; paths: string[] }> {
  const overlay = mounts.find((m) => m.type === 'overlay');
  if (!overlay) return { upper: '', paths: [] };
  const { upper, lowers } = overlayDirs(overlay);
  if (upper === '') return { upper, paths: [] };
  const out: string[] = [];
  for (const p of paths) {
    if (!(await exists(join(upper, p)))) continue;
    const inImage = await Promise.all(lowers.map((l) => exists(join(l, p))));
    if (!inImage.some(Boolean)) out.push(p);
  }
  return { upper, paths: out };
}

/**
 * A directory of overlay whiteouts (character devices 0:0) for `paths`,
 * made once per set of paths and kept (read-only use; the daemon's start-up
 * clean-up removes it): Node cannot mknod, and a process per commit costs.
 */
async function whiteoutDir(tmpRoot: string, paths: readonly string[]): Promise<string> {
  const dir = join(tmpRoot, `mask-${sha256Digest(paths.join('\0')).slice(7, 23)}`);
  if (await exists(dir)) return dir;
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(tmpRoot, 'mask-new-'));
  const script = paths.map((p) => `mkdir -p "$(dirname "$0/${p}")" && mknod "$0/${p}" c 0 0`).join(' && ');
  await execFileAsync('sh', ['-c', script, work]);
  // Made aside and renamed into place: a concurrent commit sees all of it or none.
  await rename(work, dir).catch(async () => rm(work, { recursive: true, force: true }));
  return dir;
}

/** Writes the layer blob of `key`'s changes over `parentChain`; undefined when nothing changed. */
async function diffLayer(
  client: ContainerdClient,
  ctx: Pick<ImageContext, 'snapshotter' | 'tmpDir'>,
  parentChain: string,
  key: string,
  hide: readonly string[],
  consume: boolean,
): Promise<Descriptor | undefined> {
  const right = await client.snapshots.mounts(ctx.snapshotter, key);
  const artefacts = await runtimeArtefacts(right, hide);
  let mask: string | undefined;
  if (artefacts.paths.length > 0 && consume) {
    // The snapshot becomes the layer's: the artefacts go from it for good.
    for (const p of artefacts.paths) await rm(join(artefacts.upper, p), { recursive: true, force: true });
  } else if (artefacts.paths.length > 0) mask = await whiteoutDir(ctx.tmpDir, artefacts.paths);
  const derived = parentChain === '' ? [] : parentMounts(right);
  const viewKey = derived === undefined ? `berth-diff-${randomBytes(6).toString('hex')}` : undefined;
  try {
    const left = derived ?? (await client.snapshots.view(ctx.snapshotter, viewKey!, parentChain));
    const desc = await client.diff.diff(left, readOnlyMounts(right, mask), { mediaType: MT.ociLayer, ref: `berth-commit-${randomBytes(8).toString('hex')}` });
    return desc.digest === EMPTY_LAYER_DIGEST ? undefined : { mediaType: MT.ociLayer, digest: desc.digest, size: desc.size };
  } finally {
    if (viewKey !== undefined) await client.snapshots.remove(ctx.snapshotter, viewKey).catch(() => undefined);
  }
}

/** The new image config: the parent's, with the new config, layer and history entry. */
export function childImage(parent: OciImage | undefined, input: Pick<CommitInput, 'config' | 'createdBy' | 'comment' | 'author' | 'platform'>, diffId: string | undefined, created: Date): OciImage {
  const when = created.toISOString();
  const history: HistoryEntry = { created: when, created_by: input.createdBy };
  if (input.author) history.author = input.author;
  if (input.comment) history.comment = input.comment;
  if (diffId === undefined) history.empty_layer = true;
  const image: OciImage = {
    architecture: parent?.architecture ?? input.platform.architecture,
    os: parent?.os ?? input.platform.os,
    created: when,
    config: input.config,
    rootfs: { type: 'layers', diff_ids: [...(parent?.rootfs.diff_ids ?? []), ...(diffId ? [diffId] : [])] },
    history: [...(parent?.history ?? []), history],
  };
  const variant = parent ? parent.variant : input.platform.variant;
  if (variant) image.variant = variant;
  if (input.author) image.author = input.author;
  if (input.comment) image.comment = input.comment;
  return image;
}

export async function commitImage(ctx: ImageContext, input: CommitInput): Promise<CommitResult> {
  const config = input.changes?.length ? applyChanges(input.config, input.changes) : input.config;
  const parent = input.parent;
  const parentChain = parent ? topChainId(parent.image.rootfs.diff_ids) : '';
  const leased = <T>(fn: (client: ContainerdClient) => Promise<T>): Promise<T> =>
    input.lease === undefined ? withLease(ctx, fn) : fn(ctx.client.withLease(input.lease));
  return leased(async (client) => {
    const started = performance.now();
    const reused = input.reuse;
    const layer = reused !== undefined
      ? reused.layer?.descriptor
      : input.rootfsKey === undefined
        ? undefined
        : await diffLayer(client, ctx, parentChain, input.rootfsKey, input.runtimePaths ?? [], input.consumeSnapshot === true);
    const diffId = reused !== undefined ? reused.layer?.diffId : layer?.digest;
    const diffed = performance.now();
    const image = childImage(parent?.image, { ...input, config }, diffId, reused?.history.created ? new Date(reused.history.created) : new Date());
    if (reused !== undefined) image.history![image.history!.length - 1] = structuredClone(reused.history);
    const configData = Buffer.from(JSON.stringify(image));
    const configDesc = { mediaType: MT.ociConfig, digest: sha256Digest(configData), size: configData.length };
    const layers = [...(parent?.manifest.layers ?? []), ...(layer ? [layer] : [])];
    const manifestData = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: configDesc, layers }));
    const manifestDesc = { mediaType: MT.ociManifest, digest: sha256Digest(manifestData), size: manifestData.length };
    const diffIds = image.rootfs.diff_ids;
    const prepared: PreparedImage = {
      manifest: { descriptor: manifestDesc, data: manifestData },
      config: { descriptor: configDesc, data: configData, image },
      layers: layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! })),
    };
    if (layer && input.rootfsKey !== undefined && input.consumeSnapshot) {
      const chain = chainIds(diffIds).at(-1)!;
      try {
        await client.snapshots.commit(ctx.snapshotter, chain, input.rootfsKey, { [LABELS.snapshotRef]: chain });
      } catch (err) {
        // The same layer exists already (a concurrent build): ours is not needed.
        if (!isKind(err, 'conflict')) throw err;
        await client.snapshots.remove(ctx.snapshotter, input.rootfsKey).catch(() => undefined);
      }
    }
    await writeImageContent(client, prepared, ctx.snapshotter, { together: true });
    const id = configDesc.digest;
    const manifest = { descriptor: manifestDesc, config: configDesc, layers };
    ctx.catalog.remember(manifestDesc, { id, manifest, image });
    const size = layers.reduce((s, l) => s + l.size, 0);
    const named = { id, target: manifestDesc, size };
    if (input.cacheKey !== undefined) {
      await putOwnRecord(ctx, buildCacheRecordName(id, input.cacheKey), named, {
        [BUILD_LABELS.cacheKey]: input.cacheKey,
        [BUILD_LABELS.parent]: parent?.id ?? '',
      });
    }
    if (input.names !== undefined) await nameImage(ctx, { id, manifest }, input.names);
    ctx.logger.debug({ image: id, diffMs: Math.round(diffed - started), recordMs: Math.round(performance.now() - diffed), layerBytes: layer?.size ?? 0 }, 'image committed');
    return { id, layer: layer !== undefined };
  });
}

/** Points names at an image; without names, keeps it visible as <none>. */
export async function nameImage(ctx: ImageContext, entry: Pick<ImageEntry, 'id' | 'manifest'>, names: readonly string[]): Promise<void> {
  await ctx.names.run(async () => {
    if (names.length === 0) await keepVisible(ctx, entry);
    else await assignNames(ctx, { id: entry.id, target: entry.manifest.descriptor }, names);
  });
}
