// POST /auth (docker login) and GET /images/search. The backend checks
// credentials against the registry; nothing is stored by berthd.
import { invalidParameter, notImplemented } from '../../errors/index.js';
import type { AuthConfig, LoginResult } from '../../distribution/index.js';
import type { Route } from '../types.js';

export interface RegistryBackend {
  login(auth: AuthConfig, signal: AbortSignal): Promise<LoginResult>;
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
      handler: () => {
        throw notImplemented('berth does not search registries: registry 2 has no search API; browse the registry\'s catalog or its web page instead');
      },
    },
  ];
}
