// Image names as containerd image records. An image without any name keeps a
// "dangling" record so that its content stays (and `docker images` shows it
// as <none>), as dockerd keeps untagged images.
import type { ContainerdClient, Descriptor, ImageRecord } from '../../containerd/index.js';
import type { EventBus } from '../../events/index.js';
import { isKind, unlessNotFound } from '../../errors/index.js';
import type { Catalog, ImageEntry } from './catalog.js';
import { danglingName, LABELS } from './mediatypes.js';
import { familiarOf } from './reference.js';
import type { OciImage } from './types.js';

export interface NamedImage {
  id: string;
  target: Descriptor;
  /** unpacked size, recorded on the image's records */
  size?: number;
  /** more labels for the records made or re-pointed */
  labels?: Record<string, string>;
}

/** dockerd's image event: the image's labels as attributes, then its name. */
export function publishImageEvent(events: EventBus, action: string, id: string, name: string, image: Pick<OciImage, 'config'> | undefined): void {
  events.publish('image', action, id, { ...(image?.config?.Labels ?? {}), name });
}

export interface RecordDeps {
  client: ContainerdClient;
  catalog: Catalog;
  events: EventBus;
}

function labelsFor(image: NamedImage, base: Record<string, string> = {}): Record<string, string> {
  const labels = { ...base, ...image.labels };
  if (image.size !== undefined) labels[LABELS.imageSize] = String(image.size);
  return labels;
}

function getRecord(client: ContainerdClient, name: string): Promise<ImageRecord | undefined> {
  return unlessNotFound(client.images.get(name));
}

/** Creates or re-points a record; true when something changed. */
async function putRecord(client: ContainerdClient, name: string, image: NamedImage, existing: ImageRecord | undefined): Promise<boolean> {
  if (existing && existing.target.digest === image.target.digest) return false;
  const record: ImageRecord = { name, target: image.target, labels: labelsFor(image, existing?.labels) };
  if (existing) await client.images.update(record, ['target', 'labels']);
  else {
    try {
      await client.images.create(record);
    } catch (err) {
      // Created meanwhile by someone else: point it at our image.
      if (!isKind(err, 'conflict')) throw err;
      await client.images.update(record, ['target', 'labels']);
    }
  }
  return true;
}

/** Keeps an image that lost its last name as a dangling record. */
async function keepDangling(deps: RecordDeps, entry: Pick<ImageEntry, 'id' | 'manifest'> & { size?: number }): Promise<void> {
  const name = danglingName(entry.id);
  if (await getRecord(deps.client, name)) return;
  await putRecord(deps.client, name, { id: entry.id, target: entry.manifest.descriptor, size: entry.size }, undefined);
}

/** Makes an image visible as <none> (a dangling record) unless it has one already. */
export function keepVisible(deps: RecordDeps, entry: Pick<ImageEntry, 'id' | 'manifest'>): Promise<void> {
  return deps.catalog.write(() => keepDangling(deps, entry));
}

/** Creates or re-points a record of berth's own (e.g. a build cache entry) without touching names. */
export function putOwnRecord(deps: RecordDeps, name: string, image: NamedImage, labels: Record<string, string>): Promise<void> {
  return deps.catalog.write(async () => {
    const record: ImageRecord = { name, target: image.target, labels: labelsFor(image, labels) };
    try {
      await deps.client.images.create(record);
    } catch (err) {
      if (!isKind(err, 'conflict')) throw err;
      await deps.client.images.update(record, ['target', 'labels']);
    }
  });
}

async function dropDangling(client: ContainerdClient, imageId: string): Promise<void> {
  await client.images.delete(danglingName(imageId)).catch((err: unknown) => {
    if (!isKind(err, 'not-found')) throw err;
  });
}

/**
 * Points each full name at the image. An image that loses its last name to
 * this becomes dangling. Without names, the image is kept as dangling unless
 * it already has a name. Emits `tag` for every name that changed; returns them.
 * Call under the name lock.
 */
export function assignNames(deps: RecordDeps, image: NamedImage, names: readonly string[]): Promise<string[]> {
  return deps.catalog.write(() => assign(deps, image, names));
}

async function assign(deps: RecordDeps, image: NamedImage, names: readonly string[]): Promise<string[]> {
  const changed: string[] = [];
  for (const name of names) {
    const existing = await getRecord(deps.client, name);
    const previous = existing ? await deps.catalog.resolve(existing.target) : undefined;
    if (!(await putRecord(deps.client, name, image, existing))) continue;
    changed.push(name);
    publishImageEvent(deps.events, 'tag', image.id, familiarOf(name), (await deps.catalog.resolve(image.target).catch(() => undefined))?.image);
    if (previous && previous.id !== image.id) {
      // The image that had this name may have no record left at all.
      const entries = await deps.catalog.all();
      const old = entries.find((e) => e.id === previous.id);
      if (!old) {
        const size = Number(existing?.labels[LABELS.imageSize]);
        await keepDangling(deps, { ...previous, size: Number.isFinite(size) && size > 0 ? size : undefined });
      } else if (old.names.length === 0 && !old.records.some((r) => r.name === danglingName(old.id))) {
        // Its build-cache records share the dangling prefix but do not show it as <none>: only its own dangling record does.
        await keepDangling(deps, old);
      }
    }
  }
  // Every name now points at the image: no need to list the records to know it has one.
  if (names.length > 0) {
    await dropDangling(deps.client, image.id);
    return changed;
  }
  const entries = await deps.catalog.all();
  const mine = entries.find((e) => e.id === image.id);
  if (mine && mine.names.length > 0) await dropDangling(deps.client, image.id);
  else if (!mine || mine.records.length === 0) await putRecord(deps.client, danglingName(image.id), image, undefined);
  return changed;
}

/** Removes one name; keeps the image as dangling when `keep` and it was the last name. */
export function removeName(deps: RecordDeps, entry: ImageEntry, name: string, keep: boolean): Promise<void> {
  return deps.catalog.write(async () => {
    await deps.client.images.delete(name);
    publishImageEvent(deps.events, 'untag', entry.id, entry.id, entry.image);
    if (keep && entry.names.every((n) => n === name)) await keepDangling(deps, entry);
  });
}

/** Deletes every record of the image; the last deletion is synchronous so that GC frees its content. */
export function deleteImage(deps: RecordDeps, entry: ImageEntry): Promise<void> {
  return deps.catalog.write(async () => {
    const names = entry.records.map((r) => r.name);
    for (const [i, name] of names.entries()) {
      await deps.client.images.delete(name, i === names.length - 1).catch((err: unknown) => {
        if (!isKind(err, 'not-found')) throw err;
      });
    }
    publishImageEvent(deps.events, 'delete', entry.id, entry.id, entry.image);
  });
}
