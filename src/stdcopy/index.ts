// Docker's multiplexed stream framing for attach, exec and logs without a TTY:
// an 8-byte header [stream, 0, 0, 0, size uint32 BE] before each payload.
import { Transform, type TransformCallback } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;
export type StreamId = 0 | 1 | 2 | 3;

export const HEADER_SIZE = 8;
/** Payloads above this are cut into several frames, as dockerd's writer does with its 32 KiB buffers. */
export const DEFAULT_MAX_FRAME = 32 * 1024;

export function frameHeader(stream: StreamId, size: number): Buffer {
  // From the shared pool: a header per read of bulk output.
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32BE(stream << 24, 0);
  header.writeUInt32BE(size, 4);
  return header;
}

/** One frame holding `chunk` whole. */
export function frame(stream: StreamId, chunk: Buffer | string): Buffer {
  const payload = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  // One allocation (pooled when small) instead of a header plus a concat.
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.writeUInt32BE(stream << 24, 0);
  out.writeUInt32BE(payload.length, 4);
  payload.copy(out, HEADER_SIZE);
  return out;
}

/** Frames for `chunk`, cut into payloads of at most `maxFrame` bytes; none for an empty chunk. */
export function frames(stream: StreamId, chunk: Buffer | string, maxFrame = DEFAULT_MAX_FRAME): Buffer[] {
  const payload = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += maxFrame) {
    out.push(frame(stream, payload.subarray(off, Math.min(off + maxFrame, payload.length))));
  }
  return out;
}

export interface StreamText {
  stream: StreamId;
  text: string;
}

/**
 * One frame per item, all in one buffer: SDKs yield an item per frame, and
 * programs expect one per line (dockerd's logs send a frame per entry), while
 * one buffer keeps the socket writes few. Each item is encoded in place, so
 * no per-line Buffer or byte-length pass is made.
 */
export function frameEach(items: readonly StreamText[]): Buffer {
  let bound = 0;
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  for (const item of items) bound += HEADER_SIZE + 3 * item.text.length;
  const out = Buffer.allocUnsafe(bound);
  let off = 0;
  for (const item of items) {
    if (item.text.length === 0) continue;
    const n = out.write(item.text, off + HEADER_SIZE, 'utf8');
    out.writeUInt32BE(item.stream << 24, off);
    out.writeUInt32BE(n, off + 4);
    off += HEADER_SIZE + n;
  }
  return out.subarray(0, off);
}

/**
 * Frames for one chunk of a process's output, one per line (the newline
 * stays with its line; a trailing piece without one is a frame of its own),
 * in one buffer.
 */
export function frameLines(stream: StreamId, chunk: Buffer): Buffer {
  let count = 0;
  for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, nl + 1)) count++;
  if (chunk.length > 0 && chunk[chunk.length - 1] !== 0x0a) count++;
  const out = Buffer.allocUnsafe(chunk.length + count * HEADER_SIZE);
  let off = 0;
  for (let start = 0; start < chunk.length; ) {
    const nl = chunk.indexOf(0x0a, start);
    const end = nl === -1 ? chunk.length : nl + 1;
    out.writeUInt32BE(stream << 24, off);
    out.writeUInt32BE(end - start, off + 4);
    chunk.copy(out, off + HEADER_SIZE, start, end);
    off += HEADER_SIZE + end - start;
    start = end;
  }
  return out;
}

/** A Transform that frames every chunk written to it as `stream`. */
export class FrameEncoder extends Transform {
  constructor(
    private readonly streamId: StreamId,
    private readonly maxFrame = DEFAULT_MAX_FRAME,
  ) {
    super();
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    for (const f of frames(this.streamId, chunk, this.maxFrame)) this.push(f);
    done();
  }
}

export interface DecodedFrame {
  stream: number;
  payload: Buffer;
}

/**
 * Incremental decoder: feed it chunks cut anywhere (headers included), get
 * whole frames back.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): DecodedFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: DecodedFrame[] = [];
    let off = 0;
    while (this.pending.length - off >= HEADER_SIZE) {
      const size = this.pending.readUInt32BE(off + 4);
      if (this.pending.length - off - HEADER_SIZE < size) break;
      const start = off + HEADER_SIZE;
      out.push({ stream: this.pending[off] as number, payload: Buffer.from(this.pending.subarray(start, start + size)) });
      off = start + size;
    }
    this.pending = off === 0 ? this.pending : Buffer.from(this.pending.subarray(off));
    return out;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Decodes a whole buffer and joins payloads per stream (tests, benchmarks). */
export function demux(data: Buffer): { stdout: Buffer; stderr: Buffer; frames: DecodedFrame[]; trailing: number } {
  const decoder = new FrameDecoder();
  const decoded = decoder.push(data);
  const pick = (id: number): Buffer => Buffer.concat(decoded.filter((f) => f.stream === id).map((f) => f.payload));
  return { stdout: pick(STDOUT), stderr: pick(STDERR), frames: decoded, trailing: decoder.buffered };
}
