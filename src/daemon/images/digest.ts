// Digests, chain IDs and a pass-through that hashes what flows through it.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function isSha256Digest(s: string): boolean {
  return SHA256_RE.test(s);
}

export function hexOf(digest: string): string {
  const i = digest.indexOf(':');
  return i < 0 ? digest : digest.slice(i + 1);
}

/** The 12-character form dockerd prints in messages. */
export function shortId(id: string): string {
  return hexOf(id).slice(0, 12);
}

/**
 * Chain IDs per the OCI image spec: ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffId : sha256Digest(`${prev} ${diffId}`));
  }
  return out;
}

/** The chain ID of the top layer, '' for an image without layers. */
export function topChainId(diffIds: readonly string[]): string {
  return chainIds(diffIds).at(-1) ?? '';
}

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

/** Recognises a compressed stream by its first bytes. */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/** Passes bytes through unchanged while hashing them and keeping the first few. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private headBytes: Buffer[] = [];
  private headLength = 0;
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.headLength < 512) {
      this.headBytes.push(chunk.subarray(0, 512 - this.headLength));
      this.headLength += Math.min(chunk.length, 512 - this.headLength);
    }
    cb(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    return 'sha256:' + this.hash.copy().digest('hex');
  }

  /** Up to the first 512 bytes seen. */
  head(): Buffer {
    return Buffer.concat(this.headBytes);
  }
}

/** Whether a 512-byte block is a tar header with a valid checksum (or the all-zero end block). */
export function looksLikeTar(block: Buffer): boolean {
  if (block.length < 512) return block.length === 0;
  if (block.every((b) => b === 0)) return true;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const field = block.toString('latin1', 148, 156).replace(/\0/g, '').trim();
  return field !== '' && parseInt(field, 8) === sum;
}
