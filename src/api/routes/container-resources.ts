// GET /containers/{id}/stats and POST /containers/{id}/update: thin adapters
// over the stats service and the container service.
import type { Readable } from 'node:stream';
import type { UpdateResult } from '../../daemon/containers/index.js';
import type { StatsOptions } from '../../daemon/stats/index.js';
import { boolQuery } from '../query.js';
import type { Route } from '../types.js';

export interface ContainerResourcesBackend {
  stats(ref: string, opts: StatsOptions): Readable;
  update(ref: string, body: unknown): Promise<UpdateResult>;
}

export function containerResourceRoutes(backend: ContainerResourcesBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/containers/:id/stats',
      handler: async (ctx) => {
        const stream = boolQuery(ctx.query, 'stream', true);
        const opts: StatsOptions = { stream, oneShot: boolQuery(ctx.query, 'one-shot'), signal: ctx.signal };
        return { kind: 'stream', status: 200, contentType: 'application/json', body: backend.stats(ctx.params.id ?? '', opts) };
      },
    },
    {
      method: 'POST',
      path: '/containers/:id/update',
      handler: async (ctx) => ({ kind: 'json', body: await backend.update(ctx.params.id ?? '', await ctx.json()) }),
    },
  ];
}
