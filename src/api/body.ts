// Reading a JSON request body with a size limit.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { invalidParameter, payloadTooLarge } from '../errors/index.js';

export const DEFAULT_MAX_JSON_BODY = 1024 * 1024;

export function tooLarge(limit: number): Error {
  return payloadTooLarge(`request body too large: the limit is ${limit} bytes`);
}

/** dockerd refuses a body whose declared type is not JSON; a missing type is fine. */
export function checkJsonContentType(headers: IncomingHttpHeaders): void {
  const ct = headers['content-type'];
  if (ct === undefined || ct === '') return;
  const mime = ct.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mime !== 'application/json' && !mime.endsWith('+json')) {
    throw invalidParameter(`Content-Type specified (${ct}) must be 'application/json'`);
  }
}

/** Fails early when Content-Length already says the body is over the limit. */
export function checkDeclaredLength(headers: IncomingHttpHeaders, limit: number): void {
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
}

/**
 * Collects a body up to `limit` bytes. Over the limit, the rest is discarded
 * rather than the stream destroyed, so the 413 answer still reaches the client.
 */
export function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buf.length;
      if (size > limit) {
        cleanup();
        stream.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(invalidParameter(`error reading request body: ${err.message}`, err));
    };
    const onClose = (): void => {
      cleanup();
      reject(invalidParameter('the client closed the connection before the request body was complete'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Parses a body already read; empty (or only whitespace) → undefined. */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalidParameter(`invalid JSON in request body: ${(err as Error).message}`);
  }
}
