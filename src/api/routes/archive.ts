// Container file routes: HEAD/GET/PUT /containers/{id}/archive (docker cp),
// GET /containers/{id}/export and /changes (docker diff).
import type { Readable } from 'node:stream';
import type { ArchiveRead, Change, PathStat, PutOptions } from '../../containerfs/index.js';
import { invalidParameter } from '../../errors/index.js';
import { boolQuery } from '../query.js';
import type { RequestContext, Route } from '../types.js';

export interface ContainerFilesBackend {
  statPath(ref: string, path: string): Promise<PathStat>;
  getArchive(ref: string, path: string): Promise<ArchiveRead>;
  putArchive(ref: string, path: string, body: Readable, opts: PutOptions): Promise<void>;
  export(ref: string): Promise<Readable>;
  changes(ref: string): Promise<Change[]>;
}

const STAT_HEADER = 'X-Docker-Container-Path-Stat';
const statHeader = (s: PathStat): Record<string, string> => ({ [STAT_HEADER]: Buffer.from(JSON.stringify(s)).toString('base64') });

function pathQuery(ctx: RequestContext): string {
  const p = ctx.query.get('path');
  if (p === null || p === '') throw invalidParameter('path cannot be empty');
  return p;
}

export function archiveRoutes(svc: ContainerFilesBackend): Route[] {
  const id = (ctx: RequestContext): string => ctx.params.id ?? '';
  return [
    {
      method: 'HEAD',
      path: '/containers/:id/archive',
      handler: async (ctx) => ({ kind: 'empty', status: 200, headers: statHeader(await svc.statPath(id(ctx), pathQuery(ctx))) }),
    },
    {
      method: 'GET',
      path: '/containers/:id/archive',
      handler: async (ctx) => {
        const r = await svc.getArchive(id(ctx), pathQuery(ctx));
        return { kind: 'stream', status: 200, contentType: 'application/x-tar', body: r.stream, headers: statHeader(r.stat) };
      },
    },
    {
      method: 'PUT',
      path: '/containers/:id/archive',
      handler: async (ctx) => {
        await svc.putArchive(id(ctx), pathQuery(ctx), ctx.req, {
          noOverwriteDirNonDir: boolQuery(ctx.query, 'noOverwriteDirNonDir'),
          copyUIDGID: boolQuery(ctx.query, 'copyUIDGID'),
        });
        return { kind: 'empty', status: 200 };
      },
    },
    {
      method: 'GET',
      path: '/containers/:id/export',
      handler: async (ctx) => ({ kind: 'stream', status: 200, contentType: 'application/x-tar', body: await svc.export(id(ctx)) }),
    },
    { method: 'GET', path: '/containers/:id/changes', handler: async (ctx) => ({ kind: 'json', body: await svc.changes(id(ctx)) }) },
  ];
}
