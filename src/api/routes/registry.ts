// POST /auth (docker login) and GET /images/search. The backend checks
// credentials against the registry, and searches a registry's catalog;
// nothing is stored by berthd.
import { invalidParameter } from '../../errors/index.js';
import { decodeRegistryAuth, searchLimit, type AuthConfig, type LoginResult, type SearchOptions, type SearchResult } from '../../distribution/index.js';
import { parseFilters } from '../query.js';
import type { Route } from '../types.js';

export interface RegistryBackend {
  login(auth: AuthConfig, signal: AbortSignal): Promise<LoginResult>;
  search(term: string, opts: SearchOptions): Promise<SearchResult[]>;
}

function authConfigOf(body: unknown): AuthConfig {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('the body of POST /auth must be a JSON object (AuthConfig)');
  const out: AuthConfig = {};
  for (const k of ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
    const v = (body as Record<string, unknown>)[k];
    if (v !== undefined && v !== null && typeof v !== 'string') throw invalidParameter(`AuthConfig.${k} must be a string`);
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

export function registryRoutes(backend: RegistryBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/auth',
      handler: async (ctx) => ({ kind: 'json', body: await backend.login(authConfigOf(await ctx.json()), ctx.signal) }),
    },
    {
      method: 'GET',
      path: '/images/search',
      handler: async (ctx) => {
        const raw = ctx.headers['x-registry-auth'];
        const opts: SearchOptions = {
          limit: searchLimit(ctx.query.get('limit')),
          filters: parseFilters(ctx.query.get('filters')),
          auth: decodeRegistryAuth(Array.isArray(raw) ? raw[0] : raw),
          signal: ctx.signal,
        };
        return { kind: 'json', body: await backend.search(ctx.query.get('term') ?? '', opts) };
      },
    },
  ];
}
