// The body of an upgrade request (docker exec start sends JSON with
// Connection: Upgrade). Node stops parsing at the headers, so the body comes
// from `head` and then the socket; whatever follows it is already stdin and is
// put back on the socket for the hijacked connection.
import type { Socket } from 'node:net';
import { invalidParameter } from '../errors/index.js';
import { tooLarge } from './body.js';

/** Given the bytes so far: the body and how many bytes it took, or null when more are needed. */
export type BodyParser = (buf: Buffer) => { body: Buffer; consumed: number } | null;

export function fixedLength(length: number): BodyParser {
  return (buf) => (buf.length >= length ? { body: buf.subarray(0, length), consumed: length } : null);
}

/** Chunked transfer coding (dockerode sends it for hijacked requests without a body). */
export function chunked(limit: number): BodyParser {
  return (buf) => {
    const parts: Buffer[] = [];
    let size = 0;
    let pos = 0;
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const sizeText = buf.subarray(pos, eol).toString('latin1').split(';')[0]?.trim() ?? '';
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw invalidParameter('malformed chunked request body');
      const n = Number.parseInt(sizeText, 16);
      pos = eol + 2;
      if (n === 0) {
        // Trailer lines until an empty one.
        for (;;) {
          const end = buf.indexOf('\r\n', pos);
          if (end < 0) return null;
          const empty = end === pos;
          pos = end + 2;
          if (empty) return { body: Buffer.concat(parts, size), consumed: pos };
        }
      }
      size += n;
      if (size > limit) throw tooLarge(limit);
      if (buf.length < pos + n + 2) return null;
      parts.push(buf.subarray(pos, pos + n));
      if (buf[pos + n] !== 0x0d || buf[pos + n + 1] !== 0x0a) throw invalidParameter('malformed chunked request body');
      pos += n + 2;
    }
  };
}

export function readUpgradeBody(socket: Socket, head: Buffer, parse: BodyParser, limit: number): Promise<Buffer> {
  const finish = (all: Buffer): Buffer | null => {
    const got = parse(all);
    if (got === null) {
      // Chunk framing adds little; more than twice the limit pending is abuse.
      if (all.length > 2 * limit + 1024) throw tooLarge(limit);
      return null;
    }
    if (all.length > got.consumed) socket.unshift(all.subarray(got.consumed));
    return Buffer.from(got.body);
  };
  try {
    const direct = finish(head);
    if (direct !== null) return Promise.resolve(direct);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    let all = head;
    const cleanup = (): void => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      let grew = false;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        all = Buffer.concat([all, chunk]);
        grew = true;
      }
      if (!grew) return;
      try {
        const body = finish(all);
        if (body === null) return;
        cleanup();
        resolve(body);
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(invalidParameter('the client closed the connection before the request body was complete'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(invalidParameter(`error reading request body: ${err.message}`, err));
    };
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}
