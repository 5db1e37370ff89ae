// POST /auth: checks credentials against a registry's /v2/ the way dockerd
// does (https first, plain http only for insecure registries), answering
// Basic or Bearer challenges. Nothing is kept after the answer.
import { STATUS_CODES } from 'node:http';
import { unauthorized } from '../errors/index.js';
import { Authorizer } from './auth.js';
import { requestToken } from './client.js';
import { isPlainHttpAnswer, transportError } from './errors.js';
import { HUB_API_HOST, type RegistryHosts } from './hosts.js';
import { send, type HttpResponse } from './http.js';
import type { AuthConfig } from './types.js';

export interface LoginResult {
  Status: string;
  IdentityToken: string;
}

/** host[:port] of a serveraddress (`https://h:5000/v1/`, `h:5000`); Hub's names map to its API host. */
export function loginHost(serveraddress: string | undefined): string {
  let s = (serveraddress ?? '').trim();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  s = s.split('/')[0] ?? '';
  if (s === '' || s === 'docker.io' || s === 'index.docker.io' || s === 'registry-1.docker.io') return HUB_API_HOST;
  return s;
}

export async function login(hosts: RegistryHosts, auth: AuthConfig, signal?: AbortSignal): Promise<LoginResult> {
  const host = loginHost(auth.serveraddress);
  const insecure = hosts.isInsecure(host);
  const schemes = insecure ? ['https', 'http'] : ['https'];
  let last: unknown;
  for (const scheme of schemes) {
    const url = new URL(`${scheme}://${host}/v2/`);
    try {
      return await attempt(hosts, url, auth, insecure, signal);
    } catch (err) {
      last = err;
      // Only a server that speaks plain http is worth the http attempt.
      if (!(err instanceof Error && /server gave HTTP response to HTTPS client/.test(err.message))) break;
    }
  }
  throw last;
}

async function attempt(hosts: RegistryHosts, url: URL, auth: AuthConfig, insecure: boolean, signal?: AbortSignal): Promise<LoginResult> {
  const authorizer = new Authorizer(auth, (req) => requestToken(hosts, req, signal));
  const get = async (authorization?: string): Promise<HttpResponse> => {
    try {
      const res = await send({
        method: 'GET',
        url,
        headers: { 'user-agent': 'berth', ...(authorization ? { authorization } : {}) },
        agent: (u) => hosts.agent(u.origin, insecure),
        signal,
        // dockerd gives the login ping 15 s.
        connectTimeoutMs: 15_000,
        idleTimeoutMs: 15_000,
      });
      res.body.resume();
      return res;
    } catch (err) {
      throw transportError('GET', url, err, !insecure && isPlainHttpAnswer(err));
    }
  };
  let res = await get();
  if (res.status === 401 && authorizer.onUnauthorized(res.headers['www-authenticate'], '', false)) {
    res = await get(await authorizer.header(''));
  }
  if (res.status === 200) return { Status: 'Login Succeeded', IdentityToken: authorizer.identityToken };
  throw unauthorized(`login attempt to ${url.href} failed with status: ${res.status} ${STATUS_CODES[res.status] ?? ''}`.trimEnd());
}
