// Volume routes (/volumes/...): thin adapters over the volume service.
import { invalidParameter } from '../../errors/index.js';
import type { CreateVolumeOptions, VolumeView } from '../../volumes/index.js';
import { boolQuery, parseFilters } from '../query.js';
import type { Route } from '../types.js';
import { compareVersions } from '../version.js';

export interface VolumesBackend {
  create(opts: CreateVolumeOptions): Promise<VolumeView>;
  inspect(name: string): VolumeView;
  list(filters: Map<string, string[]>): { Volumes: VolumeView[]; Warnings: null };
  remove(name: string, force: boolean): Promise<void>;
  prune(filters: Map<string, string[]>, apiAtLeast142: boolean): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>;
}

function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw invalidParameter(`json: cannot unmarshal ${field}: expected an object of strings`);
  }
  return v as Record<string, string>;
}

function createOptions(body: unknown): CreateVolumeOptions {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('invalid volume create body: expected a JSON object');
  const b = body as Record<string, unknown>;
  const opts: CreateVolumeOptions = {};
  for (const f of ['Name', 'Driver'] as const) {
    const v = b[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field CreateOptions.${f} of type string`);
    opts[f] = v;
  }
  const driverOpts = stringMap(b.DriverOpts, 'DriverOpts');
  if (driverOpts !== undefined) opts.DriverOpts = driverOpts;
  const labels = stringMap(b.Labels, 'Labels');
  if (labels !== undefined) opts.Labels = labels;
  return opts;
}

export function volumeRoutes(svc: VolumesBackend): Route[] {
  const name = (params: Record<string, string>): string => params.name ?? '';
  return [
    { method: 'GET', path: '/volumes', handler: async (ctx) => ({ kind: 'json', body: svc.list(parseFilters(ctx.query.get('filters'))) }) },
    { method: 'POST', path: '/volumes/create', handler: async (ctx) => ({ kind: 'json', status: 201, body: await svc.create(createOptions(await ctx.json())) }) },
    {
      method: 'POST',
      path: '/volumes/prune',
      handler: async (ctx) => ({
        kind: 'json',
        body: await svc.prune(parseFilters(ctx.query.get('filters')), compareVersions(ctx.apiVersion, '1.42') >= 0),
      }),
    },
    { method: 'GET', path: '/volumes/:name', handler: async (ctx) => ({ kind: 'json', body: svc.inspect(name(ctx.params)) }) },
    {
      method: 'DELETE',
      path: '/volumes/:name',
      handler: async (ctx) => {
        await svc.remove(name(ctx.params), boolQuery(ctx.query, 'force'));
        return { kind: 'empty', status: 204 };
      },
    },
  ];
}
