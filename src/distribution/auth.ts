// Registry authentication: WWW-Authenticate challenges (Basic, Bearer),
// tokens fetched from the realm and cached per host and scope, and the
// X-Registry-Auth header of the Engine API. Credentials live in memory for
// one operation only.
import type { AuthConfig } from './types.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (one or several challenges). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of Array.isArray(header) ? header : header ? [header] : []) {
    const re = /\s*([A-Za-z][\w-]*)(?:\s+((?:[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*))?/y;
    let m: RegExpExecArray | null;
    re.lastIndex = 0;
    while (re.lastIndex < h.length && (m = re.exec(h)) !== null && m[0] !== '') {
      const params: Record<string, string> = {};
      const pre = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
      let p: RegExpExecArray | null;
      while ((p = pre.exec(m[2] ?? '')) !== null) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
      out.push({ scheme: m[1]!.toLowerCase(), params });
      while (h[re.lastIndex] === ',' || h[re.lastIndex] === ' ') re.lastIndex++;
    }
  }
  return out;
}

/** Decodes X-Registry-Auth (base64url JSON); anything unreadable means anonymous, as dockerd does. */
export function decodeRegistryAuth(header: string | undefined): AuthConfig {
  if (!header) return {};
  try {
    const v = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: AuthConfig = {};
    for (const k of ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'string' && x !== '') out[k] = x;
    }
    return out;
  } catch {
    return {};
  }
}

/** user and password of an AuthConfig (from `auth` when only that is given). */
export function basicCredentials(a: AuthConfig): { username: string; password: string } | undefined {
  if (a.username && a.password) return { username: a.username, password: a.password };
  if (a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  return undefined;
}

export function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

interface CachedToken {
  token: string;
  expires: number;
}

/**
 * A token request to a challenge's realm: a GET with the query in `realm`
 * (and Basic credentials in `headers` when known), or, with `form`, the
 * OAuth2 POST that trades a refresh token (docker's identity token).
 */
export interface TokenRequest {
  realm: URL;
  headers: Record<string, string>;
  form?: Record<string, string>;
}

export interface TokenAnswer {
  token: string;
  expiresIn: number;
  refreshToken?: string;
}

export type TokenFetcher = (req: TokenRequest) => Promise<TokenAnswer>;

/** The client id registries see in token requests, as dockerd sends it. */
const CLIENT_ID = 'docker';

/**
 * One authorizer per operation and registry host: remembers the host's
 * challenge and the tokens it got, per scope.
 */
export class Authorizer {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  /** the identity token given, or the refresh token a token server handed out since */
  private refresh: string | undefined;

  constructor(
    private readonly auth: AuthConfig,
    private readonly fetchToken: TokenFetcher,
  ) {
    this.refresh = auth.identitytoken;
  }

  get hasCredentials(): boolean {
    return basicCredentials(this.auth) !== undefined || !!this.auth.identitytoken || !!this.auth.registrytoken;
  }

  /** What `docker login` stores instead of the password (empty: keep the password). */
  get identityToken(): string {
    return this.refresh ?? '';
  }

  /**
   * The Authorization header for a request needing `scope` (space-separated
   * scopes; empty for the login ping), if the host asked for one.
   */
  async header(scope: string): Promise<string | undefined> {
    if (this.auth.registrytoken) return `Bearer ${this.auth.registrytoken}`;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = basicCredentials(this.auth);
      return c ? basicHeader(c) : undefined;
    }
    if (ch.scheme !== 'bearer') return undefined;
    const key = scope;
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const realm = new URL(ch.params.realm ?? '');
    const scopes = scope.split(' ').filter(Boolean);
    let t: TokenAnswer;
    if (this.refresh) {
      // An identity token is only good for the OAuth2 exchange (dockerd sends no GET then).
      const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: this.refresh, client_id: CLIENT_ID };
      if (ch.params.service) form.service = ch.params.service;
      if (scopes.length > 0) form.scope = scopes.join(' ');
      t = await this.fetchToken({ realm, headers: {}, form });
    } else {
      if (ch.params.service) realm.searchParams.set('service', ch.params.service);
      for (const s of scopes) realm.searchParams.append('scope', s);
      // The login asks for a refresh token to keep instead of the password.
      if (scopes.length === 0) realm.searchParams.set('offline_token', 'true');
      const headers: Record<string, string> = {};
      const c = basicCredentials(this.auth);
      if (c) {
        realm.searchParams.set('account', c.username);
        headers.authorization = basicHeader(c);
      }
      realm.searchParams.set('client_id', CLIENT_ID);
      t = await this.fetchToken({ realm, headers });
    }
    if (t.refreshToken) this.refresh = t.refreshToken;
    // Renew a little early; registries check exp with some leeway only.
    this.tokens.set(key, { token: t.token, expires: Date.now() + Math.max(10, t.expiresIn - 10) * 1000 });
    return `Bearer ${t.token}`;
  }

  /**
   * Takes the challenge of a 401; true when one more attempt can help: a
   * Basic challenge we have credentials for and did not answer yet, or a
   * Bearer challenge (the next attempt gets a fresh token).
   */
  onUnauthorized(header: string | string[] | undefined, scope: string, sentAuth: boolean): boolean {
    const chs = parseChallenges(header);
    const ch = chs.find((c) => c.scheme === 'bearer' && c.params.realm) ?? chs.find((c) => c.scheme === 'basic');
    if (!ch) return false;
    this.challenge = ch;
    this.tokens.delete(scope);
    if (ch.scheme === 'basic') return basicCredentials(this.auth) !== undefined && !sentAuth;
    return true;
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }
}
