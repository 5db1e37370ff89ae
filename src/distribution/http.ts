// One HTTP exchange with a registry: connect and idle timeouts (a stalled
// registry is an error, not a hang), redirects followed by hand with the
// Authorization header dropped when the host changes.
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { unavailable } from '../errors/index.js';
import { bulkGet, type FillInto } from './bulk-http.js';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  agent?: (url: URL) => Agent | undefined;
  signal?: AbortSignal;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** a blob: over plain http its body is read into the caller's buffers (see bulk-http.ts) */
  bulk?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable & { fill?: FillInto };
  /** the URL that answered, after redirects */
  url: URL;
}

const MAX_REDIRECTS = 10;

async function once(req: HttpRequest, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
  if (req.bulk === true && req.method === 'GET' && req.body === undefined && url.protocol === 'http:') {
    const answer = await bulkGet({ url, headers, signal: req.signal, connectTimeoutMs: req.connectTimeoutMs, idleTimeoutMs: req.idleTimeoutMs });
    // A chunked body is asked for again through node:http, which decodes it.
    if (answer !== 'chunked') return { ...answer, url };
  }
  return viaNodeHttp(req, url, headers);
}

function viaNodeHttp(req: HttpRequest, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = send(url, { method: req.method, headers, agent: req.agent?.(url), signal: req.signal });
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const connectTimer = setTimeout(() => r.destroy(unavailable(`${req.method} ${url.href}: no connection within ${req.connectTimeoutMs} ms`)), req.connectTimeoutMs);
    r.on('socket', (s) => {
      if (!s.connecting) clearTimeout(connectTimer);
      else s.once('connect', () => clearTimeout(connectTimer));
    });
    // Inactivity on the socket, while waiting for headers and while the body streams.
    r.setTimeout(req.idleTimeoutMs, () => r.destroy(unavailable(`${req.method} ${url.href}: the registry sent nothing for ${req.idleTimeoutMs / 1000} s`)));
    r.on('error', (err) => {
      clearTimeout(connectTimer);
      fail(err);
    });
    r.on('response', (res) => {
      clearTimeout(connectTimer);
      settled = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    if (req.body === undefined) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      req.body.on('error', (err) => r.destroy(err));
      req.body.pipe(r);
    }
  });
}

/** Sends the request, following redirects for bodiless requests. */
export async function send(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  let headers = { ...req.headers };
  for (let hop = 0; ; hop++) {
    const res = await once(req, url, headers);
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.status) || !location || (req.body !== undefined && !Buffer.isBuffer(req.body)) || hop >= MAX_REDIRECTS) return res;
    res.body.resume();
    const next = new URL(location, url);
    if (next.host !== url.host) {
      // Credentials for the registry are not for the storage it redirects to.
      const { authorization: _a, Authorization: _b, ...rest } = headers;
      headers = rest;
    }
    url = next;
  }
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(res: Readable, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw unavailable(`${what} is larger than ${limit} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}
