// Stream helpers: look at the first bytes of an upload, undo gzip.
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalidParameter } from '../../errors/index.js';
import { detectCompression, type Compression } from './digest.js';

/**
 * Reads at least `n` bytes (or all, if fewer) and puts them back: the stream
 * handed back is the input itself, paused, with the head unshifted (no
 * extra stream layer per chunk), or, when the input ended already, a stream
 * of what it had. Its reader attaches its listeners right away.
 */
export function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let length = 0;
    const settle = (ended: boolean): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      const head = Buffer.concat(got, length);
      if (ended) resolve({ head, stream: Readable.from(head.length > 0 ? [head] : []) });
      else {
        input.unshift(head);
        resolve({ head, stream: input });
      }
    };
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      got.push(b);
      length += b.length;
      if (length >= n) settle(false);
    };
    const onEnd = (): void => settle(true);
    const onError = (err: Error): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      reject(err);
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
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
