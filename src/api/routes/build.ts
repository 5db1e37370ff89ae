// POST /commit, POST /build and POST /build/prune: thin adapters over
// src/build. The build stream is produced by the builder; this file only
// reads the query.
import type { ContainerCommitOptions } from '../../build/index.js';
import { invalidParameter } from '../../errors/index.js';
import { boolQuery } from '../query.js';
import type { Route } from '../types.js';

export interface CommitBackend {
  commit(container: string, opts: ContainerCommitOptions): Promise<{ Id: string }>;
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
