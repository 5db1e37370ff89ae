// Stream helpers: look at the first bytes of an upload, undo gzip.
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalidParameter } from '../../errors/index.js';
import { detectCompression, type Compression } from './digest.js';

/** Reads at least `n` bytes (or all, if fewer) and returns them with a stream that replays everything. */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const buf = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(buf);
    length += buf.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

/**
 * The plain bytes of an upload that may be gzip-compressed. Other
 * compressions are refused with a hint, since Node has no decoder for them.
 */
export async function decompressed(input: Readable, what: string): Promise<{ stream: Readable; compression: Compression }> {
  const { head, stream } = await peek(input, 6);
  const compression = detectCompression(head);
  if (compression === 'none') return { stream, compression };
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    stream.on('error', (err) => gunzip.destroy(err));
    return { stream: stream.pipe(gunzip), compression };
  }
  stream.destroy();
  throw invalidParameter(`${what} is compressed with ${compression}, which berth cannot read: decompress it or use gzip`);
}
