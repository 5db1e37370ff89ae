// Building the RequestContext a route handler sees, and splitting the request
// target into path and query.
import type { IncomingMessage } from 'node:http';
import { invalidParameter } from '../errors/index.js';
import { checkDeclaredLength, checkJsonContentType, parseJsonBody, readLimited } from './body.js';
import { decodeBody } from './body-decode.js';
import { bodyShapeOf } from './body-types.js';
import type { RouteMatch } from './router.js';
import type { RequestContext } from './types.js';

export interface Target {
  path: string;
  query: URLSearchParams;
}

export function splitTarget(url: string | undefined): Target {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (!path.startsWith('/')) throw invalidParameter(`bad request target ${JSON.stringify(raw)}: expected a path`);
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** Where a request's body comes from: the request stream, or bytes already read (upgrade requests). */
export type BodySource = { kind: 'stream' } | { kind: 'buffer'; bytes: Buffer };

export function createContext(
  req: IncomingMessage,
  match: RouteMatch,
  query: URLSearchParams,
  signal: () => AbortSignal,
  limit: number,
  source: BodySource,
): RequestContext {
  let parsed: Promise<unknown> | undefined;
  const readJson = async (): Promise<unknown> => {
    let bytes: Buffer;
    if (source.kind === 'buffer') {
      bytes = source.bytes;
    } else {
      try {
        checkDeclaredLength(req.headers, limit);
      } catch (err) {
        // Discard the body instead of leaving it unread, so that the client
        // can finish sending and read the 413 rather than a broken pipe.
        req.resume();
        throw err;
      }
      bytes = await readLimited(req, limit);
    }
    // Only a body that is there must be declared as JSON (attach sends text/plain and nothing).
    if (bytes.length > 0) checkJsonContentType(req.headers);
    // Every body is decoded here, with Go's rules for its route's body type.
    return decodeBody(parseJsonBody(bytes), bodyShapeOf(match.route.method, match.route.path));
  };
  return {
    method: req.method ?? 'GET',
    path: match.path,
    params: match.params,
    query,
    headers: req.headers,
    apiVersion: match.apiVersion,
    req,
    json: () => (parsed ??= readJson()),
    get signal() {
      return signal();
    },
  };
}
