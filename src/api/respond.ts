// Writing replies: to a normal Node response, or by hand onto a socket taken
// over by an upgrade request whose route did not hijack.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import type { Logger } from '../log/index.js';
import { statusText } from './status.js';

export function noBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** Later sources win, whatever the case of the header names. */
export function mergeHeaders(...sources: (OutgoingHttpHeaders | Record<string, string> | undefined)[]): OutgoingHttpHeaders {
  const byLower = new Map<string, [string, OutgoingHttpHeaders[string]]>();
  for (const src of sources) {
    if (src === undefined) continue;
    for (const [k, v] of Object.entries(src)) byLower.set(k.toLowerCase(), [k, v]);
  }
  return Object.fromEntries(byLower.values());
}

export function jsonBytes(body: unknown): Buffer {
  // Go's encoder ends every document with a newline; clients split on it.
  return Buffer.from(`${JSON.stringify(body)}\n`);
}

export function sendBuffer(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body?: Buffer): void {
  if (noBody(status) || body === undefined) {
    res.writeHead(status, noBody(status) ? headers : { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
  res.end(body);
}

export function sendStream(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Readable,
  logger: Logger,
): void {
  res.writeHead(status, headers);
  // Streams (events, logs -f) must reach the client before the first chunk.
  res.flushHeaders();
  pipeline(body, res, (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      logger.warn({ err }, 'response stream failed');
    }
  });
}

function head(status: number, headers: OutgoingHttpHeaders): string {
  let text = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) text += `${k}: ${item}\r\n`;
  }
  return `${text}Date: ${new Date().toUTCString()}\r\nConnection: close\r\n\r\n`;
}

/** A whole response written onto a raw socket, which is then closed. */
export function rawSendBuffer(socket: Socket, status: number, headers: OutgoingHttpHeaders, body?: Buffer): void {
  const payload = body !== undefined && !noBody(status) ? body : Buffer.alloc(0);
  const all = noBody(status) ? headers : { ...headers, 'Content-Length': String(payload.length) };
  socket.end(Buffer.concat([Buffer.from(head(status, all)), payload]), () => socket.destroy());
}

/** A streamed response on a raw socket: the body runs until the connection closes. */
export function rawSendStream(
  socket: Socket,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Readable,
  logger: Logger,
): void {
  socket.write(head(status, headers));
  pipeline(body, socket, (err) => {
    if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      logger.warn({ err }, 'response stream failed');
    }
    socket.destroy();
  });
}
