// DELETE /containers/{id}: kill first when forced, then delete the task, the
// containerd record, the rootfs snapshot and every file berth kept for it.
import { releaseShareableShm } from './namespaces.js';
import { rm } from 'node:fs/promises';
import { conflict, internal, invalidParameter, isKind } from '../../errors/index.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { SIGKILL } from './signals.js';
import { awaitExit, signalTask } from './stop.js';
import { cancelRestart } from './restart-policy.js';

/** How long a forced removal waits for the killed container to exit. */
const FORCE_KILL_WAIT_MS = 30_000;

export interface RemoveOptions {
  force?: boolean;
  /** remove the container's anonymous volumes too (rm -v, --rm) */
  volumes?: boolean;
  link?: boolean;
}

/** Awaits `p`, taking "not found" (already gone) as success. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
  }
}

async function killForRemoval(ctx: ServiceContext, c: Container): Promise<void> {
  const exited = c.nextExit();
  await signalTask(ctx, c, SIGKILL);
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    awaitExit(ctx, c, exited).then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), FORCE_KILL_WAIT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (!done) throw internal(`could not kill running container ${c.id}, cannot remove: it did not exit after SIGKILL`);
}

export async function removeContainer(ctx: ServiceContext, c: Container, opts: RemoveOptions = {}): Promise<void> {
  if (opts.link === true) throw invalidParameter(`Conflict, cannot remove the default link name of the container: berth has no links`);
  if (c.state.State.Restarting && !c.isRunning() && !c.removed && opts.force !== true) {
    // Waiting to be restarted by its policy (dockerd 20.10's text).
    throw conflict(`You cannot remove a restarting container ${c.id}. Stop the container before attempting removal or force remove`);
  }
  // A forced removal stops policy restarts first; one already under way when
  // it arrived is killed once it is running.
  if (opts.force === true) cancelRestart(c);
  if (opts.force === true && !c.isRunning() && !c.removed) await c.lock.run(async () => undefined);
  if (c.isRunning() && !c.removed) {
    if (opts.force !== true) {
      const what = c.isPaused() ? 'paused' : 'running';
      throw conflict(`cannot remove container "/${c.name}": container is ${what}: stop the container before removing or force remove`);
    }
    await killForRemoval(ctx, c);
  }
  await c.lock.run(async () => {
    if (c.removed) return;
    cancelRestart(c);
    if (c.isRunning()) throw conflict(`cannot remove container "/${c.name}": it was started again while being removed`);
    c.removing = true;
    try {
      await ignoreNotFound(ctx.client.tasks.delete(c.id));
      // Independent of each other once the task is gone.
      await Promise.all([ignoreNotFound(ctx.client.containers.delete(c.id)), ctx.deps.images.removeRootfs(c.id)]);
    } catch (err) {
      c.removing = false;
      throw err;
    }
    const io = c.io;
    c.io = undefined;
    await Promise.all([io?.close().catch(() => undefined), releaseShareableShm(c)]);
    await ctx.deps.network?.forget(c.id).catch((err: unknown) => ctx.log.warn({ err, container: c.id }, 'forgetting the network of container %s failed', c.id));
    await Promise.all([ctx.store.remove(c.id), rm(c.execDir, { recursive: true, force: true }).catch(() => undefined)]);
    ctx.registry.delete(c);
    c.removed = true;
    c.removing = false;
    for (const pending of c.pendingAttaches) {
      pending.conn.close();
      pending.done.resolve();
    }
    c.pendingAttaches.clear();
    ctx.hooks.removed?.(c.id);
    await ctx.deps.volumes
      ?.release(c.id, c.state.MountPoints ?? [], opts.volumes === true)
      .catch((err: unknown) => ctx.log.warn({ err, container: c.id }, 'removing the volumes of container %s failed', c.id));
    c.publish('destroy');
    c.signalRemoved();
  });
}
