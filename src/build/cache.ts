// Build cache keys: a step's result is reused when the image it starts from
// and everything the step depends on are the same — the command as recorded
// in history (with the build args RUN sees, or the content hash COPY copies)
// and the resulting config.
import { createHash } from 'node:crypto';
import type { ImageConfig } from '../daemon/images/index.js';

export interface CacheKeyInput {
  /** the image the step starts from ('' for scratch) */
  parent: string;
  /** the history entry (`/bin/sh -c #(nop) COPY file:<hash> in /dst`…) */
  createdBy: string;
  /** the config the step's image has */
  config: ImageConfig;
  /** anything else the step's result depends on (RUN's user, network…) */
  extra?: readonly string[];
}

/** Objects with their keys sorted, so that equal configs give equal keys. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export function cacheKey(input: CacheKeyInput): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(['berth-build-v1', input.parent, input.createdBy, canonical(input.config), input.extra ?? []]));
  return h.digest('hex');
}
