// WebSocket (RFC 6455) for GET /containers/{id}/attach/ws: the opening
// handshake's checks and answer, and the frame codec. The codec is pure (bytes
// in, frames out) so it is unit-tested; websocketConnection puts it on a
// socket as a HijackedConnection: client data frames become stdin bytes, each
// output write goes out as one frame, as dockerd's x/net/websocket does.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { HijackedConnection } from './types.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Close codes the server sends (RFC 6455 §7.4.1). */
export const CLOSE = { normal: 1000, protocolError: 1002, tooBig: 1009 } as const;

/** Payloads above this close the connection with 1009: stdin arrives in small frames. */
export const MAX_FRAME_PAYLOAD = 16 * 1024 * 1024;

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** The Sec-WebSocket-Accept answer to a Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim();
}

/**
 * The handshake's verdict on a request's headers: the accept key, or the
 * status and text x/net/websocket answers a request it refuses with.
 */
export function checkHandshake(method: string, headers: IncomingHttpHeaders): { ok: true; accept: string } | { ok: false; status: number; message: string } {
  if (method !== 'GET') return { ok: false, status: 405, message: 'bad method' };
  const upgrade = header(headers, 'upgrade').toLowerCase();
  const connection = header(headers, 'connection').toLowerCase();
  if (upgrade !== 'websocket' || !connection.includes('upgrade')) return { ok: false, status: 400, message: 'not websocket protocol' };
  if (header(headers, 'sec-websocket-version') !== '13') return { ok: false, status: 400, message: 'missing or bad WebSocket Version' };
  const key = header(headers, 'sec-websocket-key');
  if (key === '') return { ok: false, status: 400, message: 'mismatch challenge/response' };
  return { ok: true, accept: acceptKey(key) };
}

/** One frame; `mask` (4 bytes) for client-to-server frames. */
export function encodeFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; mask?: Buffer } = {}): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len <= 0xffff ? 2 : 8;
  const maskLen = opts.mask === undefined ? 0 : 4;
  const out = Buffer.allocUnsafe(2 + ext + maskLen + len);
  out[0] = ((opts.fin ?? true) ? 0x80 : 0) | (opcode & 0x0f);
  out[1] = (maskLen > 0 ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  else if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  const at = 2 + ext + maskLen;
  if (opts.mask !== undefined) {
    opts.mask.copy(out, 2 + ext, 0, 4);
    for (let i = 0; i < len; i++) out[at + i] = payload[i]! ^ opts.mask[i & 3]!;
  } else {
    payload.copy(out, at);
  }
  return out;
}

/** A close frame's payload: the code, then a UTF-8 reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/**
 * Incremental frame decoder. `requireMask` is the server's side of the RFC:
 * client frames must be masked. Throws ProtocolError on a malformed frame.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly opts: { requireMask: boolean; maxPayload?: number }) {}

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (f === undefined) return frames;
      frames.push(f);
    }
  }

  private next(): Frame | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const b0 = b[0]!;
    const b1 = b[1]!;
    if ((b0 & 0x70) !== 0) throw new ProtocolError('reserved bits set without an extension', CLOSE.protocolError);
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    if (!Object.values(OPCODE).includes(opcode as never)) throw new ProtocolError(`unknown opcode ${opcode}`, CLOSE.protocolError);
    if (this.opts.requireMask && !masked) throw new ProtocolError('client frame not masked', CLOSE.protocolError);
    let len = b1 & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('frame too large', CLOSE.tooBig);
      len = Number(big);
      at = 10;
    }
    if (opcode >= 0x8 && (len > 125 || !fin)) throw new ProtocolError('control frame too long or fragmented', CLOSE.protocolError);
    if (len > (this.opts.maxPayload ?? MAX_FRAME_PAYLOAD)) throw new ProtocolError('frame too large', CLOSE.tooBig);
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + len) return undefined;
    const payload = Buffer.from(b.subarray(at, at + len));
    if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[maskAt + (i & 3)]!;
    this.buf = b.subarray(at + len);
    return { fin, opcode, payload };
  }
}

/** The 101 answer to an accepted handshake. */
export function handshakeResponse(accept: string, extra: Record<string, string> = {}): string {
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
  for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Answers the handshake on an upgraded socket and carries the stream over
 * frames: `binary` frames (API 1.28 on) or text frames. A close frame from
 * the client is answered, ends stdin and the connection.
 */
export function websocketConnection(socket: Socket, accept: string, binary: boolean, extraHeaders: Record<string, string> = {}): HijackedConnection {
  socket.setNoDelay(true);
  socket.setTimeout(0);
  socket.write(handshakeResponse(accept, extraHeaders));
  const decoder = new FrameDecoder({ requireMask: true });
  const input = new Readable({ read: () => undefined });
  let closing = false;
  const sendClose = (code: number, reason = ''): void => {
    if (closing || socket.destroyed) return;
    closing = true;
    socket.write(encodeFrame(OPCODE.close, closePayload(code, reason)));
    socket.end(() => socket.destroy());
  };
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      const e = err as ProtocolError;
      input.push(null);
      sendClose(e.code ?? CLOSE.protocolError, e.message);
      return;
    }
    for (const f of frames) {
      if (f.opcode === OPCODE.ping) {
        if (!closing) socket.write(encodeFrame(OPCODE.pong, f.payload));
      } else if (f.opcode === OPCODE.close) {
        input.push(null);
        sendClose(f.payload.length >= 2 ? f.payload.readUInt16BE(0) : CLOSE.normal);
      } else if (f.opcode !== OPCODE.pong && f.payload.length > 0) {
        input.push(f.payload);
      }
    }
  });
  socket.once('end', () => input.push(null));
  socket.once('close', () => input.push(null));
  const opcode = binary ? OPCODE.binary : OPCODE.text;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (closing || socket.destroyed) {
        cb();
        return;
      }
      socket.write(encodeFrame(opcode, chunk), () => cb());
    },
    final(cb) {
      sendClose(CLOSE.normal);
      cb();
    },
  });
  let closed = false;
  return {
    input,
    output,
    upgraded: true,
    close() {
      if (closed) return;
      closed = true;
      sendClose(CLOSE.normal);
    },
    onClose(cb) {
      if (socket.destroyed) {
        queueMicrotask(cb);
        return;
      }
      let called = false;
      socket.once('close', () => {
        if (called) return;
        called = true;
        cb();
      });
    },
  };
}
