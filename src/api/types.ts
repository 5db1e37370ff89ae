// Contract between the HTTP layer (src/api/server, router) and route modules.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { HijackedConnection } from '../daemon/io/index.js';

// The connection type lives with the services that use it; routes and the server import it from here.
export type { HijackedConnection };

export interface RequestContext {
  method: string;
  /** path with the /vN.NN prefix removed */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** negotiated API version of this request, e.g. "1.47" */
  apiVersion: string;
  /** the raw request (body stream for uploads such as image import/load) */
  req: IncomingMessage;
  /** JSON body parsed with a size limit and decoded with Go's rules for the route's body type (src/api/body-types.ts); undefined when empty or null; throws invalid-parameter on bad JSON */
  json(): Promise<unknown>;
  /** aborted when the client goes away */
  signal: AbortSignal;
}


export type Reply =
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'empty'; status?: number; headers?: Record<string, string> }
  | { kind: 'bytes'; status?: number; contentType: string; body: Buffer; headers?: Record<string, string> }
  | { kind: 'stream'; status?: number; contentType: string; body: Readable; headers?: Record<string, string> }
  | {
      kind: 'hijack';
      /** application/vnd.docker.raw-stream or application/vnd.docker.multiplexed-stream */
      contentType: string;
      handle(conn: HijackedConnection): Promise<void> | void;
    }
  | {
      kind: 'websocket';
      /** binary frames (API 1.28 on) or text frames */
      binary: boolean;
      handle(conn: HijackedConnection): Promise<void> | void;
    };

export type Handler = (ctx: RequestContext) => Promise<Reply>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** e.g. '/containers/:id/json'; ':name*' captures the rest of the path (image names with slashes) */
  path: string;
  handler: Handler;
}
