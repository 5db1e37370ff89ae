// The files of a rotated json-file log, as dockerd names them: the current
// `<id>-json.log`, then `.1` (newest rotated) … `.N-1`, gzipped as `.K.gz`
// when compress is on.
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

export interface RotatedFile {
  path: string;
  index: number;
  gzip: boolean;
}

/** Rotated files of a log, oldest first. */
export async function rotatedFiles(path: string): Promise<RotatedFile[]> {
  const base = basename(path);
  const names = await fsp.readdir(dirname(path)).catch(() => [] as string[]);
  const out: RotatedFile[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
    if (m === null) continue;
    out.push({ path: join(dirname(path), name), index: Number(m[1]), gzip: m[2] !== undefined });
  }
  return out.sort((a, b) => b.index - a.index);
}

/** A rotated file's bytes (decompressed); empty when it is gone. */
export async function readRotated(file: RotatedFile): Promise<Buffer> {
  try {
    if (!file.gzip) return await fsp.readFile(file.path);
    const chunks: Buffer[] = [];
    await pipeline(createReadStream(file.path), createGunzip(), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) chunks.push(chunk);
    });
    return Buffer.concat(chunks);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

const name = (path: string, n: number, gzip: boolean): string => `${path}.${n}${gzip ? '.gz' : ''}`;

// Rotations of each log since berthd started. A follower that slept through
// several of them finds the files it missed by their number: the file that
// was current at rotation g is `.G-g` at rotation G. Writer and followers
// live in the same process.
const generations = new Map<string, number>();

/** How many times this log was rotated (by this process). */
export function logGeneration(path: string): number {
  return generations.get(path) ?? 0;
}

/** The bytes of rotated file number `index`, plain or (once compressed) gzipped. */
export async function readRotatedIndex(path: string, index: number): Promise<Buffer> {
  const plain = await readRotated({ path: name(path, index, false), index, gzip: false });
  return plain.length > 0 ? plain : readRotated({ path: name(path, index, true), index, gzip: true });
}

async function renameIfThere(from: string, to: string): Promise<void> {
  await fsp.rename(from, to).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Makes room for a new current file: drops the oldest, shifts `.K` to
 * `.K+1`, moves the current file to `.1` and, with compress, gzips it.
 * With maxFile 1 the current file is just emptied (removed).
 */
export async function shiftLogFiles(path: string, maxFile: number, compress: boolean): Promise<void> {
  if (maxFile <= 1) {
    await fsp.rm(path, { force: true });
    generations.set(path, logGeneration(path) + 1);
    return;
  }
  await fsp.rm(name(path, maxFile - 1, compress), { force: true });
  for (let n = maxFile - 2; n >= 1; n--) await renameIfThere(name(path, n, compress), name(path, n + 1, compress));
  const plain = name(path, 1, false);
  await renameIfThere(path, plain);
  generations.set(path, logGeneration(path) + 1);
  if (!compress) return;
  const tmp = `${name(path, 1, true)}.tmp`;
  await pipeline(createReadStream(plain), createGzip(), createWriteStream(tmp, { mode: 0o640 }));
  await fsp.rename(tmp, name(path, 1, true));
  await fsp.rm(plain, { force: true });
}
