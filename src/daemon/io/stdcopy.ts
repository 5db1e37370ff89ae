// Docker's stdcopy multiplexing: each frame is an 8-byte header (stream id,
// three zero bytes, big-endian uint32 payload length) followed by the payload.

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;
export type StdStreamId = typeof STDIN | typeof STDOUT | typeof STDERR | typeof SYSTEMERR;

const HEADER_LEN = 8;

export function stdcopyFrame(stream: StdStreamId, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_LEN + payload.length);
  frame.writeUInt32BE(0, 0);
  frame[0] = stream;
  frame.writeUInt32BE(payload.length, 4);
  payload.copy(frame, HEADER_LEN);
  return frame;
}

export interface StdFrame {
  stream: StdStreamId;
  data: Buffer;
}

/** Incremental decoder of a stdcopy byte stream (frames may span chunks). */
export class StdcopyDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): StdFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: StdFrame[] = [];
    while (this.pending.length >= HEADER_LEN) {
      const stream = this.pending[0];
      if (stream === undefined || stream > SYSTEMERR) {
        throw new Error(`invalid stdcopy stream id ${String(stream)}: the stream is not multiplexed`);
      }
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_LEN + size) break;
      frames.push({ stream: stream as StdStreamId, data: this.pending.subarray(HEADER_LEN, HEADER_LEN + size) });
      this.pending = this.pending.subarray(HEADER_LEN + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting for more input. */
  get buffered(): number {
    return this.pending.length;
  }
}
