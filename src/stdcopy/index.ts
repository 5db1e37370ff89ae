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
  const header = Buffer.alloc(HEADER_SIZE);
  header[0] = stream;
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

export interface StreamChunk {
  stream: StreamId;
  payload: Buffer;
}

/**
 * Frames for chunks in order, in one buffer: consecutive chunks of one stream
 * share a frame of at most `maxFrame` payload bytes (a larger chunk is cut).
 * The format promises no frame per line, and clients copy frames per stream,
 * so `docker logs` of many short lines costs them a write per frame, not per line.
 */
export function frameRuns(chunks: readonly StreamChunk[], maxFrame = DEFAULT_MAX_FRAME): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < chunks.length; ) {
    const stream = (chunks[i] as StreamChunk).stream;
    const run: Buffer[] = [];
    for (; i < chunks.length && (chunks[i] as StreamChunk).stream === stream; i++) run.push((chunks[i] as StreamChunk).payload);
    out.push(...frames(stream, run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run), maxFrame));
  }
  return Buffer.concat(out);
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
