// What the image operations share: the containerd client, the catalog, the
// name lock, events, and where to stage uploads.
import type { ContainerdClient } from '../../containerd/index.js';
import { isKind } from '../../errors/index.js';
import type { EventBus } from '../../events/index.js';
import type { Logger } from '../../log/index.js';
import type { Catalog } from './catalog.js';
import type { Mutex } from './lock.js';
import type { ImageUsageCheck, Platform } from './types.js';

export interface ImageContext {
  client: ContainerdClient;
  catalog: Catalog;
  events: EventBus;
  logger: Logger;
  snapshotter: string;
  platform: Platform;
  /** directory for staging uploads */
  tmpDir: string;
  names: Mutex;
  isInUse: ImageUsageCheck;
}

/**
 * Runs `fn` with a client whose writes are held by a fresh lease, so that
 * GC never collects content or snapshots that are not referenced yet.
 */
export async function withLease<T>(ctx: ImageContext, fn: (client: ContainerdClient) => Promise<T>): Promise<T> {
  const lease = await ctx.client.leases.create();
  try {
    return await fn(ctx.client.withLease(lease.id));
  } finally {
    await ctx.client.leases.delete(lease.id).catch((err: unknown) => {
      if (!isKind(err, 'not-found')) ctx.logger.warn({ err, lease: lease.id }, 'could not delete an image lease');
    });
  }
}
