// POST /commit, POST /build and POST /build/prune: thin adapters over
// src/build. The build stream is produced by the builder; this file only
// reads the query.
import type { Readable } from 'node:stream';
import { parseBuildQuery, type BuildOptions, type ContainerCommitOptions } from '../../build/index.js';
import { invalidParameter } from '../../errors/index.js';
import { boolQuery } from '../query.js';
import type { Route } from '../types.js';

export interface CommitBackend {
  commit(container: string, opts: ContainerCommitOptions): Promise<{ Id: string }>;
}

export interface BuildBackend {
  /** Reads the context and checks the Dockerfile (HTTP errors), then streams the build. */
  build(input: Readable, opts: BuildOptions, signal: AbortSignal): Promise<{ body: Readable }>;
  pruneCache(): Promise<{ ids: string[]; reclaimed: number }>;
}

export function buildRoutes(svc: BuildBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/build',
      handler: async (ctx) => {
        const opts = parseBuildQuery(ctx.query);
        const { body } = await svc.build(ctx.req, opts, ctx.signal);
        return { kind: 'stream', contentType: 'application/json', body };
      },
    },
    {
      method: 'POST',
      path: '/build/prune',
      handler: async () => {
        const { ids, reclaimed } = await svc.pruneCache();
        return { kind: 'json', body: { CachesDeleted: ids.length ? ids : null, SpaceReclaimed: reclaimed } };
      },
    },
  ];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function commitRoutes(svc: CommitBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/commit',
      handler: async (ctx) => {
        const q = ctx.query;
        const container = q.get('container') ?? '';
        if (container === '') throw invalidParameter('the container query parameter is required: the container to commit');
        const opts: ContainerCommitOptions = { pause: boolQuery(q, 'pause', true), changes: q.getAll('changes') };
        for (const key of ['repo', 'tag', 'comment', 'author'] as const) {
          const v = q.get(key);
          if (v) opts[key] = v;
        }
        const body = await ctx.json();
        if (body !== undefined && body !== null) {
          if (!isObject(body)) throw invalidParameter('the commit body must be a JSON object (a container config)');
          opts.config = body;
        }
        return { kind: 'json', status: 201, body: await svc.commit(container, opts) };
      },
    },
  ];
}
