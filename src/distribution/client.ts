// The registry client of one repository for one operation: endpoints (with
// docker.io's mirrors and the plain-http fallback of insecure hosts), auth
// challenges answered on 401, manifests and blobs fetched and verified,
// blob and manifest uploads.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError, invalidParameter, unauthorized, unavailable } from '../errors/index.js';
import { Authorizer, type TokenAnswer, type TokenRequest } from './auth.js';
import { isPlainHttpAnswer, registryError, RegistryError, requestName, transportError, unauthorizedAnswer } from './errors.js';
import type { FillInto } from './bulk-http.js';
import type { Endpoint, RegistryHosts } from './hosts.js';
import { readBody, send, type HttpResponse } from './http.js';
import type { AuthConfig, Descriptor } from './types.js';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The full Accept list: registry 2.8 otherwise hides indexes and converts to schema1. */
export const MANIFEST_ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.schema1Signed, MEDIA.schema1].join(', ');

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

export const SCHEMA1_REMOVED =
  'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of the image to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/';

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface RepositoryOptions {
  hosts: RegistryHosts;
  /** registry domain of the reference (docker.io, 127.0.0.1:5000) */
  domain: string;
  /** repository path (library/busybox) */
  path: string;
  auth: AuthConfig;
  signal?: AbortSignal;
  /** push: no mirrors, and the push scope */
  push?: boolean;
}

interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** extra scopes (cross-repo mount source) */
  scopes?: string[];
  /** a full URL (upload Location) instead of a path under /v2/<name>/ */
  url?: URL;
  /** statuses answered as they are (not turned into errors) */
  accept?: (status: number) => boolean;
  /** a blob's body, read into the caller's buffers where the transport can */
  bulk?: boolean;
}

export class Repository {
  private readonly endpoints: Endpoint[];
  private endpoint: Endpoint;
  private readonly authorizers = new Map<string, Authorizer>();

  constructor(private readonly opts: RepositoryOptions) {
    this.endpoints = opts.hosts.endpoints(opts.domain, { mirrors: !opts.push });
    this.endpoint = this.endpoints.at(-1)!;
  }

  get path(): string {
    return this.opts.path;
  }

  /** The host pulled from (a mirror's or the registry's). */
  get host(): string {
    return this.endpoint.host;
  }

  private scope(extra: string[] = []): string {
    const own = `repository:${this.opts.path}:${this.opts.push ? 'pull,push' : 'pull'}`;
    return [own, ...extra].join(' ');
  }

  private authorizer(ep: Endpoint): Authorizer {
    // By host: an insecure endpoint that falls back to http keeps its challenge and tokens.
    let a = this.authorizers.get(ep.host);
    if (!a) {
      // Mirrors are never sent the user's credentials.
      a = new Authorizer(ep.mirror ? {} : this.opts.auth, (req) => requestToken(this.opts.hosts, req, this.opts.signal));
      this.authorizers.set(ep.host, a);
    }
    return a;
  }

  private timeouts(): { connectTimeoutMs: number; idleTimeoutMs: number } {
    const s = this.opts.hosts.settings;
    return { connectTimeoutMs: s.connectTimeoutMs ?? 15_000, idleTimeoutMs: s.idleTimeoutMs ?? 30_000 };
  }

  private urlOf(ep: Endpoint, suffix: string): URL {
    // A suffix starting with '/' is the registry's own (/v2/ for the ping, /v2/_catalog), anything else is under the repository.
    if (suffix.startsWith('/')) return new URL(`${ep.origin}${ep.prefix}/v2${suffix}`);
    return new URL(`${ep.origin}${ep.prefix}/v2/${this.opts.path}/${suffix}`);
  }

  /**
   * One request to the current endpoint, answering auth challenges; an
   * insecure https endpoint that answers plain http is retried over http.
   */
  async request(method: string, suffix: string, o: RequestOptions = {}, ep: Endpoint = this.endpoint): Promise<HttpResponse> {
    const scope = this.scope(o.scopes);
    const auth = this.authorizer(ep);
    let answered = false;
    for (;;) {
      const url = o.url ?? this.urlOf(ep, suffix);
      const headers: Record<string, string> = { 'user-agent': 'berth', ...o.headers };
      let h: string | undefined;
      try {
        h = await auth.header(scope);
      } catch (err) {
        // The token server's refusal stands for this request's.
        if (err instanceof BerthError && err.kind === 'unauthorized') throw new RegistryError('unauthorized', err.message, 401, [], requestName(method, url));
        throw err;
      }
      if (h) headers.authorization = h;
      let res: HttpResponse;
      try {
        res = await send({ method, url, headers, body: o.body, agent: (u) => this.opts.hosts.agent(u.origin, ep.insecure), signal: this.opts.signal, bulk: o.bulk === true, ...this.timeouts() });
      } catch (err) {
        if (ep.insecure && url.protocol === 'https:' && isPlainHttpAnswer(err) && !o.url) {
          this.opts.hosts.notePlainHttp(ep.host);
          ep.origin = `http://${ep.host}`;
          continue;
        }
        throw transportError(method, url, err, !ep.insecure);
      }
      // One more attempt per request once the challenge is known (the plain-http retry does not count).
      if (res.status === 401 && !answered && (o.body === undefined || Buffer.isBuffer(o.body))) {
        answered = true;
        if (auth.onUnauthorized(res.headers['www-authenticate'], scope, h !== undefined)) {
          res.body.resume();
          continue;
        }
      }
      if (res.status === 401) {
        const body = await readBody(res.body, MAX_ERROR_BODY, 'an error answer').catch(() => Buffer.alloc(0));
        if (!h && !auth.hasCredentials && auth.scheme === 'basic') throw new RegistryError('unauthorized', 'no basic auth credentials', 401, [], requestName(method, url));
        throw unauthorizedAnswer(res.headers['www-authenticate'], body);
      }
      if (o.accept && !o.accept(res.status)) {
        const body = method === 'HEAD' ? Buffer.alloc(0) : await readBody(res.body, MAX_ERROR_BODY, 'an error answer').catch(() => Buffer.alloc(0));
        res.body.resume();
        throw registryError(res.status, body);
      }
      return res;
    }
  }

  /**
   * Resolves a tag or digest to the top descriptor (HEAD, then GET when the
   * registry says too little), trying docker.io's mirrors first.
   */
  async resolve(reference: string): Promise<Descriptor> {
    let last: unknown;
    for (const ep of this.endpoints) {
      try {
        const d = await this.resolveAt(ep, reference);
        this.endpoint = ep;
        return d;
      } catch (err) {
        last = err;
        // The registry itself has the last word; mirrors fall through to it.
        if (!ep.mirror) break;
      }
    }
    throw last;
  }

  private async resolveAt(ep: Endpoint, reference: string): Promise<Descriptor> {
    const headers = { accept: MANIFEST_ACCEPT };
    const isDigest = reference.includes(':');
    const head = await this.request('HEAD', `manifests/${reference}`, { headers, accept: () => true }, ep);
    head.body.resume();
    const mediaType = String(head.headers['content-type'] ?? '').split(';')[0]!.trim();
    const dcd = head.headers['docker-content-digest'];
    const size = Number(head.headers['content-length']);
    if (head.status === 200 && typeof dcd === 'string' && mediaType && Number.isFinite(size) && size > 0 && size <= MAX_MANIFEST_BYTES) {
      if (isDigest && dcd !== reference) throw invalidParameter(`the registry answered manifest ${dcd} for ${reference}`);
      return { mediaType, digest: dcd, size };
    }
    if (head.status === 404) {
      // A HEAD has no body: ask again with GET for the registry's own words.
    } else if (head.status !== 200 && head.status !== 405) {
      throw registryError(head.status, Buffer.alloc(0));
    }
    const res = await this.request('GET', `manifests/${reference}`, { headers, accept: (s) => s === 200 }, ep);
    const data = await readBody(res.body, MAX_MANIFEST_BYTES, `manifest ${reference}`);
    const digest = isDigest ? reference : sha256(data);
    if (isDigest && sha256(data) !== reference) throw invalidParameter(`manifest verification failed for digest ${reference}`);
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim() || mediaTypeOf(data);
    return { mediaType: type, digest, size: data.length };
  }

  /** A manifest or index by digest, verified. */
  async manifest(desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES) throw invalidParameter(`manifest ${desc.digest} is ${desc.size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`);
    const res = await this.request('GET', `manifests/${desc.digest}`, { headers: { accept: MANIFEST_ACCEPT }, accept: (s) => s === 200 });
    const data = await readBody(res.body, MAX_MANIFEST_BYTES, `manifest ${desc.digest}`);
    if (sha256(data) !== desc.digest) throw invalidParameter(`manifest verification failed for digest ${desc.digest}`);
    return data;
  }

  /** A small blob (an image config), verified. */
  async smallBlob(desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES * 2) throw invalidParameter(`blob ${desc.digest} is too large to read whole (${desc.size} bytes)`);
    const res = await this.request('GET', `blobs/${desc.digest}`, { accept: (s) => s === 200 });
    const data = await readBody(res.body, MAX_MANIFEST_BYTES * 2, `blob ${desc.digest}`);
    if (sha256(data) !== desc.digest) throw invalidParameter(`blob verification failed for digest ${desc.digest}`);
    return data;
  }

  /** A blob's bytes from `offset` (Range); offset 0 in the answer when the registry sent it all. */
  /** A blob's bytes from `offset` (from 0 when the registry ignores ranges); `fill` where the transport reads into the caller's buffers. */
  async openBlob(desc: Descriptor, offset: number): Promise<{ offset: number; stream: Readable; fill?: FillInto }> {
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await this.request('GET', `blobs/${desc.digest}`, { headers, accept: (s) => s === 200 || s === 206, bulk: true });
    const fill = res.body.fill ? { fill: res.body.fill } : {};
    if (res.status === 206) {
      const cr = String(res.headers['content-range'] ?? '');
      if (!cr.startsWith(`bytes ${offset}-`)) {
        res.body.destroy();
        throw unavailable(`the registry answered range ${JSON.stringify(cr)} for bytes=${offset}- of ${desc.digest}`);
      }
      return { offset, stream: res.body, ...fill };
    }
    return { offset: 0, stream: res.body, ...fill };
  }

  /** Tags of the repository (all pages). */
  async tags(): Promise<string[]> {
    return this.pagedList('tags/list', 'tags', 'the tag list', [], (search) => `tags/list${search}`);
  }

  /** The registry's repository names (GET /v2/_catalog, every page). */
  catalog(): Promise<string[]> {
    return this.pagedList('/_catalog?n=1000', 'repositories', 'the catalog', ['registry:catalog:*'], (search) => `/_catalog${search}`);
  }

  /** A string list the registry pages with Link: <…>; rel="next" (tags, catalog). */
  private async pagedList(first: string, field: string, what: string, scopes: string[], next: (search: string) => string): Promise<string[]> {
    const out: string[] = [];
    let suffix = first;
    for (let page = 0; page < 100; page++) {
      const res = await this.request('GET', suffix, { accept: (s) => s === 200, scopes });
      const body = await readBody(res.body, MAX_MANIFEST_BYTES, what);
      const v = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[field];
      if (Array.isArray(v)) out.push(...v.filter((t): t is string => typeof t === 'string'));
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      if (!link) break;
      suffix = next(new URL(link[1]!, 'http://x').search);
    }
    return out;
  }

  // --- push ---

  async blobExists(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `blobs/${digest}`, { accept: (s) => s === 200 || s === 404 });
    res.body.resume();
    return res.status === 200;
  }

  /** Starts an upload; with `from`, first asks for a cross-repo mount (201: done, nothing to send). */
  async startUpload(digest?: string, from?: string): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const q = digest && from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : '';
    const res = await this.request('POST', `blobs/uploads/${q}`, {
      headers: { 'content-length': '0' },
      body: Buffer.alloc(0),
      scopes: from ? [`repository:${from}:pull`] : [],
      accept: (s) => s === 201 || s === 202,
    });
    res.body.resume();
    if (res.status === 201) return { mounted: true };
    if (!res.headers.location) throw unavailable('the registry started an upload without a Location');
    return { mounted: false, location: nextLocation(res, res.url) };
  }

  /**
   * Finishes an upload: PUT <Location>&digest=, with the whole blob
   * (monolithic) or, after chunks, with none.
   */
  async putBlob(location: URL, digest: string, body?: { stream: Readable; size: number }): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.request('PUT', '', {
      url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body?.size ?? 0) },
      body: body?.stream ?? Buffer.alloc(0),
      accept: (s) => s === 201 || s === 204,
    });
    res.body.resume();
  }

  /** One chunk of a chunked upload (PATCH with Content-Range); answers the Location to use next. */
  async patchBlob(location: URL, offset: number, size: number, body: Readable): Promise<URL> {
    const res = await this.request('PATCH', '', {
      url: location,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'content-range': `${offset}-${offset + size - 1}` },
      body,
      accept: (s) => s === 202 || s === 204,
    });
    res.body.resume();
    return nextLocation(res, location);
  }

  /**
   * Where an upload stands (GET <Location>: 204 with `Range: 0-<last byte>`),
   * or undefined when the registry dropped it or cannot say exactly (registry
   * 2.8 cancels an upload whose last PATCH broke off, and answers `0-0` for
   * both nothing and one byte).
   */
  async uploadOffset(location: URL): Promise<{ location: URL; offset: number } | undefined> {
    const res = await this.request('GET', '', { url: location, accept: () => true });
    res.body.resume();
    const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ''));
    if (res.status !== 204 || !m || m[1] === '0') return undefined;
    return { location: nextLocation(res, location), offset: Number(m[1]) + 1 };
  }

  /** PUT a manifest or index; returns the digest the registry computed. */
  async putManifest(reference: string, mediaType: string, data: Buffer): Promise<string> {
    const res = await this.request('PUT', `manifests/${reference}`, { headers: { 'content-type': mediaType, 'content-length': String(data.length) }, body: data, accept: (s) => s === 201 || s === 200 });
    res.body.resume();
    return String(res.headers['docker-content-digest'] ?? sha256(data));
  }

  /** The `/v2/` ping of the registry, for login. */
  async ping(): Promise<HttpResponse> {
    return this.request('GET', '/', { accept: (s) => s === 200 });
  }
}

/** The newest Location of an upload session (registries sign their state into it). */
function nextLocation(res: HttpResponse, current: URL): URL {
  const loc = res.headers.location;
  return loc ? new URL(loc, res.url) : current;
}

/** The media type a manifest names itself, for registries that send none. */
export function mediaTypeOf(data: Buffer): string {
  try {
    const v = JSON.parse(data.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown };
    if (typeof v.mediaType === 'string' && v.mediaType) return v.mediaType;
    if (v.schemaVersion === 1) return MEDIA.schema1;
    if (Array.isArray(v.manifests)) return MEDIA.ociIndex;
    if (v.config) return MEDIA.ociManifest;
  } catch {
    // not JSON: the caller refuses it
  }
  return '';
}


export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === MEDIA.schema1 || mediaType === MEDIA.schema1Signed;
}

/** A Bearer token from a challenge's realm: GET, or the OAuth2 POST of a form. */
export async function requestToken(hosts: RegistryHosts, req: TokenRequest, signal?: AbortSignal): Promise<TokenAnswer> {
  const { realm } = req;
  const insecure = hosts.isInsecure(realm.host);
  const s = hosts.settings;
  const method = req.form ? 'POST' : 'GET';
  const body = req.form ? Buffer.from(new URLSearchParams(req.form).toString()) : undefined;
  const formHeaders: Record<string, string> = body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } : {};
  let res: HttpResponse;
  try {
    res = await send({
      method,
      url: realm,
      headers: { 'user-agent': 'berth', ...req.headers, ...formHeaders },
      ...(body ? { body } : {}),
      agent: (u) => hosts.agent(u.origin, insecure),
      signal,
      connectTimeoutMs: s.connectTimeoutMs ?? 15_000,
      idleTimeoutMs: s.idleTimeoutMs ?? 30_000,
    });
  } catch (err) {
    throw transportError(method, realm, err, false);
  }
  const where = `${realm.origin}${realm.pathname}`;
  const answer = await readBody(res.body, MAX_MANIFEST_BYTES, 'the token answer');
  if (res.status === 401 || res.status === 403) {
    const e = registryError(res.status, answer);
    throw unauthorized(e.entries.length ? e.message : `the token server ${where} refused the credentials (status ${res.status})`);
  }
  if (res.status !== 200) throw registryError(res.status, answer, `getting a token from ${where}`);
  let v: { token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
  try {
    v = JSON.parse(answer.toString('utf8')) as typeof v;
  } catch {
    throw unavailable(`the token server ${where} answered something that is not JSON`);
  }
  const token = typeof v.token === 'string' && v.token ? v.token : typeof v.access_token === 'string' ? v.access_token : '';
  if (!token) throw unavailable(`the token server ${where} answered no token`);
  const out: TokenAnswer = { token, expiresIn: typeof v.expires_in === 'number' && v.expires_in > 0 ? v.expires_in : 60 };
  if (typeof v.refresh_token === 'string' && v.refresh_token) out.refreshToken = v.refresh_token;
  return out;
}
