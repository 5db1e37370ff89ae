// `docker build --cache-from`: as dockerd's classic builder does, an image
// named there can stand in for a build step when its history and layers
// start with those of the step's parent and its next history entry records
// the same command. Its layer is taken over as is (no RUN, no copy).
import type { Descriptor } from '../../containerd/index.js';
import type { HistoryEntry, OciImage } from './types.js';

export interface CacheSourceMatch {
  /** the history entry the step takes over */
  history: HistoryEntry;
  /** its layer (index into the source's layers), undefined for an empty-layer entry */
  layerIndex?: number;
  /** the entry is the source's last: the source image itself is the step's result */
  last: boolean;
}

const sameHistory = (a: HistoryEntry, b: HistoryEntry): boolean =>
  (a.created ?? '') === (b.created ?? '') &&
  (a.created_by ?? '') === (b.created_by ?? '') &&
  (a.author ?? '') === (b.author ?? '') &&
  (a.comment ?? '') === (b.comment ?? '') &&
  (a.empty_layer ?? false) === (b.empty_layer ?? false);

/** Whether `source` grew from `parent`: its history and layers start with the parent's (moby's isValidParent). */
function extendsParent(source: OciImage, parent: OciImage | undefined): boolean {
  const history = source.history ?? [];
  if (history.length === 0) return false;
  if (parent === undefined) return true;
  const ph = parent.history ?? [];
  const pl = parent.rootfs.diff_ids;
  if (ph.length === 0 && pl.length === 0) return true;
  if (ph.length >= history.length || pl.length > source.rootfs.diff_ids.length) return false;
  return ph.every((h, i) => sameHistory(h, history[i]!)) && pl.every((d, i) => d === source.rootfs.diff_ids[i]);
}

/**
 * The step of `source` that follows `parent` when it records `createdBy`
 * (moby compares the joined command with the history's created_by);
 * undefined when `source` cannot serve the step.
 */
export function matchCacheSource(source: OciImage, parent: OciImage | undefined, createdBy: string): CacheSourceMatch | undefined {
  if (!extendsParent(source, parent)) return undefined;
  const history = source.history ?? [];
  const at = parent?.history?.length ?? 0;
  const entry = history[at];
  if (entry === undefined || (entry.created_by ?? '') !== createdBy) return undefined;
  const match: CacheSourceMatch = { history: entry, last: at === history.length - 1 };
  if (!entry.empty_layer) {
    // The layer of a history entry: one per entry before it that has one.
    const index = history.slice(0, at).filter((h) => !h.empty_layer).length;
    if (index >= source.rootfs.diff_ids.length) return undefined;
    match.layerIndex = index;
  }
  return match;
}

/** The layer a match takes over, as the new image's manifest lists it. */
export function matchedLayer(match: CacheSourceMatch, source: { image: OciImage; layers: readonly Descriptor[] }): { descriptor: Descriptor; diffId: string } | undefined {
  if (match.layerIndex === undefined) return undefined;
  const descriptor = source.layers[match.layerIndex];
  const diffId = source.image.rootfs.diff_ids[match.layerIndex];
  return descriptor === undefined || diffId === undefined ? undefined : { descriptor, diffId };
}
