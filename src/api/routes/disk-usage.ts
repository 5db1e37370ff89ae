// GET /system/df, and empty answers for the prunes docker system prune
// sends to subsystems berth does not have (user networks, build cache): they
// step aside when a real route for the same path is registered.
import type { DiskUsage, UsageType } from '../../diskusage/index.js';
import { usageTypes } from '../../diskusage/index.js';
import { invalidParameter } from '../../errors/index.js';
import type { Route } from '../types.js';

export interface DiskUsageBackend {
  diskUsage(types: ReadonlySet<UsageType>): Promise<DiskUsage>;
}

export function diskUsageRoutes(backend: DiskUsageBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/system/df',
      handler: async (ctx) => {
        const types = usageTypes(ctx.query.getAll('type'));
        if (typeof types === 'string') throw invalidParameter(`invalid type: ${types}`);
        return { kind: 'json', body: await backend.diskUsage(types) };
      },
    },
  ];
}

const FALLBACKS: Route[] = [
  { method: 'POST', path: '/networks/prune', handler: async () => ({ kind: 'json', body: { NetworksDeleted: null } }) },
  { method: 'POST', path: '/build/prune', handler: async () => ({ kind: 'json', body: { CachesDeleted: null, SpaceReclaimed: 0 } }) },
];

/** The fallback prunes whose path no route in `routes` serves yet. */
export function pruneFallbacks(routes: readonly Route[]): Route[] {
  return FALLBACKS.filter((f) => !routes.some((r) => r.method === f.method && r.path === f.path));
}
