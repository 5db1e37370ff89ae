// Managed-plugin routes (/plugins...). A thin adapter over the small backend
// declared here; PluginService implements it. Plugin names may hold "/" and
// ":", hence the rest captures.
import type { Readable } from 'node:stream';
import { invalidParameter, unavailable } from '../../errors/index.js';
import type { DisableOptions, EnableOptions, PluginListFilters, PluginObject, RemoveOptions } from '../../plugins/index.js';
import { boolQuery, checkFilterNames, intQuery, parseFilters } from '../query.js';
import type { Reply, RequestContext, Route } from '../types.js';

export interface PluginBackend {
  list(filters: PluginListFilters): PluginObject[] | Promise<PluginObject[]>;
  inspect(ref: string): PluginObject | Promise<PluginObject>;
  create(name: string, context: Readable): Promise<unknown>;
  enable(ref: string, opts: EnableOptions): Promise<void>;
  disable(ref: string, opts: DisableOptions): Promise<void>;
  remove(ref: string, opts: RemoveOptions): Promise<unknown>;
  set(ref: string, args: readonly string[]): Promise<void>;
}

const NO_REGISTRY =
  'no registry is reachable from berthd: plugins cannot be pulled, pushed or upgraded; build one locally with "docker plugin create NAME DIR" (DIR holds config.json and rootfs/)';

const empty = (status = 200): Reply => ({ kind: 'empty', status });

function nameParam(ctx: RequestContext): string {
  const name = ctx.params.name ?? '';
  if (name === '') throw invalidParameter('a plugin name or id is required in the path');
  return name;
}

async function listPlugins(backend: PluginBackend, ctx: RequestContext): Promise<Reply> {
  const filters = parseFilters(ctx.query.get('filters'));
  checkFilterNames(filters, ['enabled', 'capability']);
  const f: PluginListFilters = {};
  const enabled = filters.get('enabled');
  const capability = filters.get('capability');
  if (enabled !== undefined) f.enabled = enabled;
  if (capability !== undefined) f.capability = capability;
  return { kind: 'json', body: await backend.list(f) };
}

async function createPlugin(backend: PluginBackend, ctx: RequestContext): Promise<Reply> {
  const name = ctx.query.get('name') ?? '';
  try {
    if (name === '') throw invalidParameter('missing query parameter name: the plugin name, e.g. me/plugin:latest');
    await backend.create(name, ctx.req);
  } catch (err) {
    // Let the client finish sending its archive so that it reads our answer.
    ctx.req.resume();
    throw err;
  }
  return empty(204);
}

async function setPlugin(backend: PluginBackend, ctx: RequestContext): Promise<Reply> {
  const body = await ctx.json();
  if (body === undefined) throw invalidParameter('the request body must be a JSON array of "NAME=VALUE" strings');
  if (!Array.isArray(body) || !body.every((s): s is string => typeof s === 'string')) {
    throw invalidParameter('the request body must be a JSON array of "NAME=VALUE" strings, e.g. ["DEBUG=1"]');
  }
  await backend.set(nameParam(ctx), body);
  return empty(204);
}

export function pluginRoutes(backend: PluginBackend): Route[] {
  const noRegistry = async (): Promise<Reply> => {
    throw unavailable(NO_REGISTRY);
  };
  return [
    { method: 'GET', path: '/plugins', handler: (ctx) => listPlugins(backend, ctx) },
    { method: 'GET', path: '/plugins/privileges', handler: noRegistry },
    { method: 'POST', path: '/plugins/pull', handler: noRegistry },
    { method: 'POST', path: '/plugins/create', handler: (ctx) => createPlugin(backend, ctx) },
    { method: 'GET', path: '/plugins/:name*/json', handler: async (ctx) => ({ kind: 'json', body: await backend.inspect(nameParam(ctx)) }) },
    {
      method: 'POST',
      path: '/plugins/:name*/enable',
      handler: async (ctx) => {
        await backend.enable(nameParam(ctx), { timeout: intQuery(ctx.query, 'timeout', 0, { min: 0 }) });
        return empty();
      },
    },
    {
      method: 'POST',
      path: '/plugins/:name*/disable',
      handler: async (ctx) => {
        await backend.disable(nameParam(ctx), { force: boolQuery(ctx.query, 'force') });
        return empty();
      },
    },
    {
      method: 'DELETE',
      path: '/plugins/:name*',
      handler: async (ctx) => {
        await backend.remove(nameParam(ctx), { force: boolQuery(ctx.query, 'force') });
        return empty();
      },
    },
    { method: 'POST', path: '/plugins/:name*/set', handler: (ctx) => setPlugin(backend, ctx) },
    { method: 'POST', path: '/plugins/:name*/upgrade', handler: noRegistry },
    { method: 'POST', path: '/plugins/:name*/push', handler: noRegistry },
  ];
}
