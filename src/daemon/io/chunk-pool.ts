// Buffers that json-file writers encode entries into, reused once every write
// of a buffer has completed. A new buffer per entry (100 KB for 16 KiB of
// NULs) was most of berthd's garbage collection under bulk output: berthd
// runs with a 1 MiB young generation. The pool is shared by all writers and
// emptied once it has sat unused for a while, so idle containers hold none.

export const CHUNK_SIZE = 512 * 1024;
/** Free chunks kept at most. */
const POOL_MAX = 4;
/** Free chunks are dropped after this long without use. */
const IDLE_MS = 2_000;

export class LogChunk {
  /** bytes encoded so far */
  used = 0;
  /** writes of this chunk not completed yet */
  refs = 0;
  /** no more entries go into it; back to the pool once refs reach 0 */
  retired = false;

  constructor(readonly buf: Buffer) {}

  room(): number {
    return this.buf.length - this.used;
  }

  /** A write of part of it completed. */
  unref(): void {
    this.refs--;
    if (this.refs === 0 && this.retired) release(this);
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.refs === 0) release(this);
  }
}

const free: LogChunk[] = [];
let idleTimer: NodeJS.Timeout | undefined;

/** A chunk with at least `bytes` free: from the pool when it fits one. */
export function takeChunk(bytes: number): LogChunk {
  if (bytes > CHUNK_SIZE) return new LogChunk(Buffer.allocUnsafe(bytes));
  const chunk = free.pop() ?? new LogChunk(Buffer.allocUnsafe(CHUNK_SIZE));
  chunk.used = 0;
  chunk.refs = 0;
  chunk.retired = false;
  return chunk;
}

function release(chunk: LogChunk): void {
  if (chunk.buf.length !== CHUNK_SIZE || free.length >= POOL_MAX) return;
  free.push(chunk);
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => (free.length = 0), IDLE_MS);
  idleTimer.unref();
}
