// A GET over plain TCP whose body is read straight into the caller's
// buffers. Through node:http every 64 KiB socket read is a fresh buffer
// (under bin/berthd's 32 KiB mmap threshold an mmap, page faults and an
// munmap each) pushed through a stream: a 30 MB pull spent more CPU there
// than in hashing and writing. Here the socket reads into the region the
// downloader will write to the file from (the `onread` option of
// net.connect), so the bytes are neither copied nor allocated per read.
//
// Only for bodiless GETs to http:// origins (loopback and insecure
// registries): TLS sockets decrypt into their own buffers. The answer's head
// is parsed here; a body that is not framed by Content-Length or by the
// connection's end (chunked) is asked for again through node:http.
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { unavailable } from '../errors/index.js';

/** Bytes read straight into `target` (from its start) until it is full or the body ends; 0 at the end. */
export type FillInto = (target: Buffer, onBytes: (view: Buffer) => void) => Promise<number>;

export interface BulkAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: BulkBody;
}

export interface BulkRequest {
  url: URL;
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

const MAX_HEAD_BYTES = 64 * 1024;
const SCRATCH_BYTES = 64 * 1024;
/** Bodyless answers to a GET. */
const NO_BODY = new Set([204, 304]);

export interface ParsedHead {
  status: number;
  headers: IncomingHttpHeaders;
  /** bytes of the head, blank line included */
  length: number;
}

/**
 * The status line and headers at the start of `data`; undefined while the
 * blank line has not come. Names are lower-cased and repeats joined with
 * ", " as node:http does (set-cookie aside, which registries do not need).
 */
export function parseHead(data: Buffer): ParsedHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) {
    if (data.length > MAX_HEAD_BYTES) throw unavailable(`the registry's answer has more than ${MAX_HEAD_BYTES} bytes of headers`);
    return undefined;
  }
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!m) throw unavailable(`the registry's answer does not start with an HTTP/1.1 status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers: IncomingHttpHeaders = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw unavailable(`the registry's answer has a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const had = headers[name];
    headers[name] = typeof had === 'string' ? `${had}, ${value}` : value;
  }
  return { status: Number(m[1]), headers, length: end + 4 };
}

/** The request's head; values with line breaks are refused, as node:http refuses them. */
export function requestHead(url: URL, headers: Record<string, string>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw unavailable(`invalid character in the header ${JSON.stringify(name)} of a registry request`);
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}Connection: close\r\n\r\n`;
}

/**
 * How the body of an answer ends: a byte count, the connection's end
 * (undefined), or 'chunked' (not read here).
 */
export function bodyLength(status: number, headers: IncomingHttpHeaders): number | undefined | 'chunked' {
  if (NO_BODY.has(status) || (status >= 100 && status < 200)) return 0;
  const te = headers['transfer-encoding'];
  if (typeof te === 'string' && te.trim().toLowerCase() !== 'identity') return 'chunked';
  const cl = headers['content-length'];
  if (cl === undefined) return undefined;
  if (!/^\d{1,15}$/.test(String(cl).trim())) throw unavailable(`the registry sent an invalid Content-Length ${JSON.stringify(cl)}`);
  return Number(cl);
}

/**
 * The answer's body. `fill` reads into the caller's buffer; used as a
 * Readable instead (error bodies, a redirect's), chunks are copies.
 */
export class BulkBody extends Readable {
  /** body bytes not yet delivered (what came with the head, or landed outside a fill's buffer) */
  private held: Buffer[] = [];
  private remaining: number;
  private ended = false;
  private failure: Error | undefined;
  /** the Readable side asked for data */
  private pulled = false;
  private fillState: { target: Buffer; filled: number; onBytes: (view: Buffer) => void; resolve: (n: number) => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly socket: Socket,
    length: number | undefined,
    private readonly scratch: Buffer,
  ) {
    super();
    this.remaining = length ?? Number.POSITIVE_INFINITY;
  }

  /** Where the socket's next read lands: the rest of a fill's buffer, else the scratch buffer. */
  readRegion(): Buffer {
    const f = this.fillState;
    if (f === undefined || f.filled === f.target.length) return this.scratch;
    return f.target.subarray(f.filled, f.filled + Math.min(f.target.length - f.filled, this.remaining));
  }

  /** A read landed in `view` (a fill's buffer or the scratch buffer); false pauses the socket. */
  received(view: Buffer): boolean {
    if (this.ended) return false;
    if (view.length > this.remaining) {
      this.fail(unavailable(`the registry sent more than the ${this.remaining} body bytes it announced`));
      return false;
    }
    this.remaining -= view.length;
    const f = this.fillState;
    if (f !== undefined && view.buffer === f.target.buffer && view.byteOffset === f.target.byteOffset + f.filled) {
      f.filled += view.length;
      f.onBytes(view);
    } else if (f !== undefined && this.held.length === 0) {
      // The first read after a pause lands in the scratch buffer: copied on, with no buffer made for it.
      const n = view.copy(f.target, f.filled);
      f.onBytes(f.target.subarray(f.filled, f.filled + n));
      f.filled += n;
      if (n < view.length) this.held.push(Buffer.from(view.subarray(n)));
    } else {
      this.held.push(Buffer.from(view));
    }
    if (this.remaining === 0) this.end();
    return this.deliver();
  }

  /** Body bytes that came with the head. */
  withHead(rest: Buffer): void {
    if (rest.length === 0) return;
    if (rest.length > this.remaining) {
      this.fail(unavailable(`the registry sent more than the ${this.remaining} body bytes it announced`));
      return;
    }
    this.held.push(Buffer.from(rest));
    this.remaining -= rest.length;
    if (this.remaining === 0) this.end();
  }

  /** The connection ended (or closed). */
  connectionEnded(): void {
    if (this.ended) return;
    if (Number.isFinite(this.remaining)) this.fail(unavailable(`the registry closed the connection with ${this.remaining} body bytes still to come`));
    else {
      this.end();
      this.deliver();
    }
  }

  fail(err: Error): void {
    // Once the body is complete, what happens to the connection does not matter.
    if (this.ended) {
      this.socket.destroy();
      return;
    }
    this.failure = err;
    this.ended = true;
    this.held = [];
    this.socket.destroy();
    this.deliver();
  }

  private end(): void {
    this.ended = true;
    this.socket.destroy();
  }

  /** Hands held bytes to a waiting fill or to the Readable side; true when the socket should read on. */
  private deliver(): boolean {
    const f = this.fillState;
    if (f !== undefined) {
      while (this.held.length > 0 && f.filled < f.target.length) {
        const h = this.held[0]!;
        const n = Math.min(h.length, f.target.length - f.filled);
        h.copy(f.target, f.filled, 0, n);
        f.onBytes(f.target.subarray(f.filled, f.filled + n));
        f.filled += n;
        if (n === h.length) this.held.shift();
        else this.held[0] = h.subarray(n);
      }
      const drained = this.ended && this.held.length === 0;
      if (f.filled < f.target.length && !drained) return true;
      this.fillState = undefined;
      if (this.failure !== undefined && f.filled === 0) f.reject(this.failure);
      else f.resolve(f.filled);
      return false;
    }
    if (!this.pulled || this.destroyed) return false;
    if (this.failure !== undefined) {
      this.destroy(this.failure);
      return false;
    }
    while (this.held.length > 0) {
      if (!this.push(this.held.shift()!)) {
        this.pulled = false;
        return false;
      }
    }
    if (this.ended) {
      this.push(null);
      return false;
    }
    return true;
  }

  fill: FillInto = (target, onBytes) =>
    new Promise<number>((resolve, reject) => {
      if (this.fillState !== undefined) throw new Error('a fill is already in progress');
      this.fillState = { target, filled: 0, onBytes, resolve, reject };
      if (this.deliver() && !this.socket.destroyed) this.socket.resume();
    });

  override _read(): void {
    this.pulled = true;
    if (this.deliver() && !this.socket.destroyed) this.socket.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.ended = true;
    this.socket.destroy();
    const f = this.fillState;
    this.fillState = undefined;
    f?.reject(err ?? unavailable('the download was cancelled'));
    cb(err);
  }
}

/**
 * Sends the GET and resolves with the answer's head and its body, or with
 * 'chunked' when the body needs node:http's decoder (the connection is
 * closed: the caller asks again).
 */
export function bulkGet(req: BulkRequest): Promise<BulkAnswer | 'chunked'> {
  const { url } = req;
  const what = `GET ${url.href}`;
  const head = requestHead(url, req.headers);
  return new Promise((resolve, reject) => {
    const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    let headBytes: Buffer[] = [];
    let headLength = 0;
    let body: BulkBody | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      clearTimeout(connectTimer);
      if (body) body.fail(err);
      else if (!settled) {
        settled = true;
        socket.destroy();
        reject(err);
      }
    };
    const onHeadBytes = (view: Buffer): boolean => {
      headBytes.push(Buffer.from(view));
      headLength += view.length;
      const all = headBytes.length === 1 ? headBytes[0]! : Buffer.concat(headBytes, headLength);
      headBytes = [all];
      let parsed: ParsedHead | undefined;
      let length: ReturnType<typeof bodyLength>;
      try {
        parsed = parseHead(all);
        if (parsed === undefined) return true;
        length = bodyLength(parsed.status, parsed.headers);
      } catch (err) {
        fail(err as Error);
        return false;
      }
      settled = true;
      if (length === 'chunked') {
        socket.destroy();
        resolve('chunked');
        return false;
      }
      const b = new BulkBody(socket, length, scratch);
      body = b;
      b.withHead(all.subarray(parsed.length));
      resolve({ status: parsed.status, headers: parsed.headers, body: b });
      // Until someone reads, the socket waits.
      return false;
    };
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        buffer: () => (body ? body.readRegion() : scratch),
        callback: (n: number, buf: Uint8Array): boolean => {
          const view = Buffer.from(buf.buffer, buf.byteOffset, n);
          return body ? body.received(view) : onHeadBytes(view);
        },
      },
    });
    const connectTimer = setTimeout(() => fail(unavailable(`${what}: no connection within ${req.connectTimeoutMs} ms`)), req.connectTimeoutMs);
    socket.setNoDelay(true);
    socket.setTimeout(req.idleTimeoutMs, () => fail(unavailable(`${what}: the registry sent nothing for ${req.idleTimeoutMs / 1000} s`)));
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      socket.write(head);
    });
    socket.on('error', (err) => fail(err));
    socket.on('end', () => (body ? body.connectionEnded() : fail(unavailable(`${what}: the registry closed the connection before it answered`))));
    socket.on('close', () => (body ? body.connectionEnded() : fail(unavailable(`${what}: the connection closed before the registry answered`))));
    const onAbort = (): void => {
      const err = Object.assign(new Error('The operation was aborted'), { code: 'ABORT_ERR', name: 'AbortError' });
      fail(err);
    };
    if (req.signal?.aborted) onAbort();
    else req.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => req.signal?.removeEventListener('abort', onAbort));
  });
}
