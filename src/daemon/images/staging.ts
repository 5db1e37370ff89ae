// Unpacks an uploaded archive (docker save / OCI layout, plain or gzip) into a
// private temporary directory. Entry names are never used as file names:
// files are stored by number and looked up through an index, so a hostile
// archive cannot write outside the directory.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { invalidParameter, isBerthError } from '../../errors/index.js';
import { detectCompression, HashingStream, type Compression } from './digest.js';
import { decompressed } from './streams.js';

export interface StagedFile {
  /** path inside the archive */
  path: string;
  /** where the bytes are on disk */
  file: string;
  size: number;
  digest: string;
  /** compression of the file's own content (layers may be gzip) */
  compression: Compression;
}

const MAX_LINK_HOPS = 16;
const MAX_JSON = 64 * 1024 * 1024;

/** Archive path → canonical form ('' for the root or an escape attempt). */
export function cleanArchivePath(name: string): string {
  const p = posix.normalize('/' + name.replace(/\\/g, '/')).replace(/^\/+/, '').replace(/\/+$/, '');
  return p === '.' ? '' : p;
}

export class StagedArchive {
  private readonly files = new Map<string, StagedFile>();
  private readonly links = new Map<string, string>();

  private constructor(readonly dir: string) {}

  /** Extracts `input` (a tar, possibly gzip) under a new directory in `tmpRoot`. */
  static async extract(input: Readable, tmpRoot: string): Promise<StagedArchive> {
    await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(tmpRoot, 'load-'));
    const staged = new StagedArchive(dir);
    try {
      await staged.fill(input);
      return staged;
    } catch (err) {
      await staged.cleanup();
      if (isBerthError(err)) throw err;
      throw invalidParameter(`the archive is not a valid tar file (plain or gzip): ${(err as Error).message}`, err);
    }
  }

  private async fill(input: Readable): Promise<void> {
    const { stream } = await decompressed(input, 'the archive');
    const ex = extract();
    const feeding = pipeline(stream, ex);
    // Surface a feed error through the loop below rather than as an unhandled rejection.
    feeding.catch((err: unknown) => ex.destroy(err as Error));
    let n = 0;
    for await (const entry of ex) {
      const path = cleanArchivePath(entry.header.name);
      const type = entry.header.type;
      if (path !== '' && (type === 'file' || type === 'contiguous-file')) {
        const file = join(this.dir, `f${n++}`);
        const hashing = new HashingStream();
        await pipeline(entry, hashing, createWriteStream(file, { mode: 0o600 }));
        this.files.set(path, { path, file, size: hashing.size, digest: hashing.digest(), compression: detectCompression(hashing.head()) });
        this.links.delete(path);
        continue;
      }
      if (path !== '' && type === 'symlink' && entry.header.linkname) {
        const target = entry.header.linkname.startsWith('/')
          ? cleanArchivePath(entry.header.linkname)
          : cleanArchivePath(posix.join(posix.dirname(path), entry.header.linkname));
        this.links.set(path, target);
      } else if (path !== '' && type === 'link' && entry.header.linkname) {
        this.links.set(path, cleanArchivePath(entry.header.linkname));
      }
      entry.resume();
      await new Promise<void>((resolve, reject) => {
        entry.on('end', resolve);
        entry.on('error', reject);
      });
    }
    await feeding;
  }

  /** The regular file at `path`, following links inside the archive. */
  get(path: string): StagedFile | undefined {
    let p = cleanArchivePath(path);
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      const f = this.files.get(p);
      if (f) return f;
      const next = this.links.get(p);
      if (next === undefined) return undefined;
      p = next;
    }
    return undefined;
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  paths(): string[] {
    return [...this.files.keys(), ...this.links.keys()];
  }

  async read(path: string): Promise<Buffer> {
    const f = this.get(path);
    if (!f) throw invalidParameter(`the archive has no file ${path}`);
    if (f.size > MAX_JSON) throw invalidParameter(`${path} in the archive is too large (${f.size} bytes)`);
    return readFile(f.file);
  }

  async readJson(path: string): Promise<unknown> {
    const data = await this.read(path);
    try {
      return JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw invalidParameter(`${path} in the archive is not valid JSON: ${(err as Error).message}`);
    }
  }

  open(f: StagedFile): Readable {
    return createReadStream(f.file);
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
