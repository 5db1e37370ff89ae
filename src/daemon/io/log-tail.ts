// Finding where the last N lines of a file begin, reading backwards in blocks
// so that `docker logs --tail N` on a big log does not read the whole file.
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 64 * 1024;

/**
 * Offset of the first of the last `lines` complete lines among the first
 * `size` bytes. Bytes after the last newline (an entry still being written)
 * do not count as a line.
 */
export async function tailOffset(fh: FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0 || size === 0) return completeEnd(fh, size);
  const end = await completeEnd(fh, size);
  if (end === 0) return 0;
  let found = 0;
  // The newline at end-1 terminates the last line; scan what precedes it.
  let pos = end - 1;
  const buf = Buffer.allocUnsafe(BLOCK);
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    const start = pos - len;
    const { bytesRead } = await fh.read(buf, 0, len, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] === 0x0a) {
        found++;
        if (found === lines) return start + i + 1;
      }
    }
    pos = start;
  }
  return 0;
}

/** Offset just past the last newline within the first `size` bytes. */
async function completeEnd(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.allocUnsafe(BLOCK);
  let pos = size;
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    const start = pos - len;
    const { bytesRead } = await fh.read(buf, 0, len, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl !== -1) return start + nl + 1;
    pos = start;
  }
  return 0;
}
