// `docker rmi`: untag by name, delete by ID, with dockerd's conflict rules and
// wording (a running container's image cannot be deleted even with force; a
// stopped container's image, or one with several names, needs force).
import { conflict } from '../../errors/index.js';
import type { ImageEntry } from './catalog.js';
import type { ImageContext } from './context.js';
import { shortId } from './digest.js';
import { deleteImage, removeName } from './records.js';
import { familiarOf } from './reference.js';
import type { DeleteItem, ImageUser, RemoveOptions } from './types.js';

interface Conflict {
  message: string;
  hard: boolean;
  /** the conflict comes from a container using the image */
  used: boolean;
}

function conflictError(entry: ImageEntry, c: Conflict): Error {
  return conflict(`conflict: unable to delete ${shortId(entry.id)} (${c.hard ? 'cannot be forced' : 'must be forced'}) - ${c.message}`);
}

/** dockerd's checks in order: running container (hard), other names, stopped container. */
function findConflict(entry: ImageEntry, users: ImageUser[], opts: { soft: boolean; references: boolean }): Conflict | undefined {
  const running = users.find((u) => u.running);
  if (running) return { message: `image is being used by running container ${shortId(running.id)}`, hard: true, used: true };
  if (!opts.soft) return undefined;
  if (opts.references && entry.names.length > 0) return { message: 'image is referenced in multiple repositories', hard: false, used: false };
  const stopped = users.find((u) => !u.running);
  if (stopped) return { message: `image is being used by stopped container ${shortId(stopped.id)}`, hard: false, used: true };
  return undefined;
}

/** Call under the name lock. */
export async function removeImage(ctx: ImageContext, ref: string, opts: RemoveOptions): Promise<DeleteItem[]> {
  const force = opts.force === true;
  const entries = await ctx.catalog.all(true);
  const { entry, name } = await ctx.catalog.find(ref, entries);
  const users = await ctx.isInUse(entry.id);
  const items: DeleteItem[] = [];

  if (name !== undefined) {
    // By name: untag first; the image goes only with its last name.
    if (!force && entry.names.length === 1 && users.length > 0) {
      throw conflict(
        `conflict: unable to remove repository reference ${JSON.stringify(ref)} (must force) - container ${shortId(users[0]!.id)} is using its referenced image ${shortId(entry.id)}`,
      );
    }
    const last = entry.names.length === 1;
    // With force, only a running container keeps the image (as a dangling one).
    const keep = last && findConflict(entry, users, { soft: !force, references: false }) !== undefined;
    await removeName(ctx, entry, name, keep);
    items.push({ Untagged: familiarOf(name) });
    if (!last || keep) return items;
    await deleteImage(ctx, entry);
    items.push({ Deleted: entry.id });
    return items;
  }

  // By ID: one name (or none) goes with the image; several need force.
  const single = entry.names.length <= 1;
  const found = findConflict(entry, users, { soft: !force, references: !single });
  if (found) throw conflictError(entry, found);
  for (const n of entry.names) {
    await removeName(ctx, entry, n, false);
    items.push({ Untagged: familiarOf(n) });
  }
  await deleteImage(ctx, entry);
  items.push({ Deleted: entry.id });
  return items;
}
