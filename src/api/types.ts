// Contract between the HTTP layer (src/api/server, router) and route modules.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';

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

/** A hijacked (or streamed) connection for attach/exec. */
export interface HijackedConnection {
  /** client-to-server bytes (stdin); null when the client did not upgrade the connection */
  input: Readable | null;
  /** server-to-client bytes */
  output: Writable;
  /** true when the client upgraded (Connection: Upgrade) */
  upgraded: boolean;
  close(): void;
  /** called once when the peer closes */
  onClose(cb: () => void): void;
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
