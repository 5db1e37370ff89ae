// The build context: the request body (a tar, plain or gzip) unpacked into a
// private directory as it arrives, never held in memory. Entry names are
// cleaned and no entry is written through a symlink, so a hostile archive
// cannot write outside the directory.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, mkdtemp, open, readdir, readFile, rm, rmdir, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ignore from '@balena/dockerignore';
import { cleanArchivePath, decompressed, detectCompression, HashingStream, peek } from '../daemon/images/index.js';
import { streamTar, type StreamedEntry } from '../containerfs/index.js';
import { invalidParameter, isBerthError, messageOf } from '../errors/index.js';
import { unmountAll } from './mount.js';

export interface BuildContext {
  /** the unpacked context */
  dir: string;
  /** sha256 of each regular file's content, by host path, taken as it arrived (COPY's cache key needs no second read) */
  digests: ReadonlyMap<string, string>;
  /** the Dockerfile's text */
  dockerfile: string;
  cleanup(): Promise<void>;
}

/** Parent directories checked to be real directories inside the root (not symlinks). */
class SafeTree {
  private readonly dirs = new Set<string>(['']);
  /** entries made so far: the directory starts empty, so any other path is free */
  private readonly made = new Set<string>();
  constructor(readonly root: string) {}

  async ensureDir(rel: string, mode = 0o755): Promise<void> {
    if (this.dirs.has(rel)) return;
    await this.ensureDir(parentOf(rel));
    const abs = join(this.root, rel);
    const st = this.made.has(rel) ? await lstat(abs).catch(() => undefined) : undefined;
    if (st === undefined) await mkdir(abs, { mode });
    else if (!st.isDirectory()) {
      if (st.isSymbolicLink()) throw invalidParameter(`the build context has an entry below a symlink: ${rel}`);
      await rm(abs, { force: true });
      await mkdir(abs, { mode });
    }
    this.dirs.add(rel);
    this.made.add(rel);
  }

  /** Makes way for an entry at rel (parents exist, nothing is in the way). */
  async prepare(rel: string): Promise<string> {
    await this.ensureDir(parentOf(rel));
    const abs = join(this.root, rel);
    if (this.made.has(rel)) {
      const st = await lstat(abs).catch(() => undefined);
      if (st !== undefined && !st.isDirectory()) await rm(abs, { force: true });
    }
    this.made.add(rel);
    return abs;
  }
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** bzip2 and xz contexts (`docker build - < ctx.tar.xz`) go through the system's decompressors: Node has none. */
async function plainTar(input: Readable): Promise<AsyncIterable<Buffer>> {
  const { head, stream, chunks } = await peek(input, 6);
  const compression = detectCompression(head);
  // A plain tar (the CLI's) is read as it arrives, without a second look at its head.
  if (compression === 'none') return chunks;
  if (compression !== 'bzip2' && compression !== 'xz') return (await decompressed(stream, 'the build context')).stream;
  const child = spawn(compression === 'xz' ? 'xz' : 'bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  stream.on('error', (err) => child.stdout.destroy(err));
  child.on('error', (err) => child.stdout.destroy(err));
  child.on('exit', (code) => {
    if (code !== 0) child.stdout.destroy(new Error(`${compression} could not decompress the context (exit ${code})`));
  });
  stream.pipe(child.stdin).on('error', () => undefined);
  return child.stdout;
}

/** Files up to this size come whole from the tar reader and are written with one call. */
const GATHER_MAX = 4 * 1024 * 1024;

/** A streamed (big) file entry: hashed as it is written. */
async function writeStreamed(body: AsyncIterable<Buffer>, path: string, mode: number): Promise<string> {
  const hashing = new HashingStream();
  await pipeline(Readable.from(body), hashing, createWriteStream(path, { mode }));
  return hashing.digest();
}

/** A whole file, hashed as it is: its times and mode set through the open handle (no path lookups again). */
async function writeWhole(body: Buffer, path: string, mode: number, mtime: Date): Promise<string> {
  const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
  const fh = await open(path, 'wx', mode);
  try {
    await fh.write(body, 0, body.length, 0);
    // The umask may have taken bits away.
    if (mode & 0o7022) await fh.chmod(mode);
    await fh.utimes(mtime, mtime);
  } finally {
    await fh.close();
  }
  return digest;
}

/** The context's entries; a reader's error says what the context is not. */
async function* contextEntries(input: AsyncIterable<Buffer>): AsyncGenerator<StreamedEntry> {
  try {
    yield* streamTar(input, GATHER_MAX);
  } catch (err) {
    const why = messageOf(err).replace(/^the archive is not a valid tar file: /, '');
    throw invalidParameter(`the build context is not a valid tar archive (plain, gzip, bzip2 or xz): ${why}`, err);
  }
}

/**
 * Unpacks the tar as it arrives. The reader takes a tar that ends without
 * its last padding and end blocks: the CLI's `-f -` rewrite of the context
 * ends that way (dockerd's reader takes it too).
 */
async function unpack(input: Readable, dir: string, digests: Map<string, string>): Promise<void> {
  const tree = new SafeTree(dir);
  const dirTimes: Array<[string, Date]> = [];
  for await (const { entry: h, body } of contextEntries(await plainTar(input))) {
    const rel = cleanArchivePath(h.name);
    const mode = h.mode & 0o7777;
    if (rel === '') continue;
    if (h.type === 'directory') {
      await tree.ensureDir(rel, mode);
      await chmod(join(dir, rel), mode);
      dirTimes.push([join(dir, rel), h.mtime]);
    } else if (h.type === 'file' || h.type === 'contiguous-file') {
      const abs = await tree.prepare(rel);
      if (Buffer.isBuffer(body)) {
        digests.set(abs, await writeWhole(body, abs, mode, h.mtime));
        continue;
      }
      digests.set(abs, await writeStreamed(body, abs, mode));
      if (mode & 0o7022) await chmod(abs, mode);
      await utimes(abs, h.mtime, h.mtime);
    } else if (h.type === 'symlink') {
      const abs = await tree.prepare(rel);
      await symlink(h.linkname, abs);
      await lutimes(abs, h.mtime, h.mtime).catch(() => undefined);
    } else if (h.type === 'link') {
      const target = cleanArchivePath(h.linkname);
      const abs = await tree.prepare(rel);
      const st = await lstat(join(dir, target)).catch(() => undefined);
      if (target === '' || st === undefined || !st.isFile()) throw invalidParameter(`the build context has a hard link to a missing file: ${rel}`);
      await tree.ensureDir(parentOf(target));
      await link(join(dir, target), abs);
      const known = digests.get(join(dir, target));
      if (known !== undefined) digests.set(abs, known);
    }
  }
  // Directory times last: writing into a directory changes its mtime.
  for (const [p, t] of dirTimes.reverse()) await utimes(p, t, t).catch(() => undefined);
}

/**
 * Unpacks the context and reads the Dockerfile at `dockerfilePath`. As
 * dockerd does, the Dockerfile and .dockerignore themselves are removed from
 * the context when .dockerignore names them (the CLI adds a Dockerfile given
 * with `-f -` that way).
 */
export async function receiveContext(input: Readable, tmpRoot: string, dockerfilePath: string): Promise<BuildContext> {
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'build-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const digests = new Map<string, string>();
  try {
    try {
      await unpack(input, dir, digests);
    } catch (err) {
      if (isBerthError(err)) throw err;
      throw invalidParameter(`the build context is not a valid tar archive (plain, gzip, bzip2 or xz): ${(err as Error).message}`, err);
    }
    const rel = cleanArchivePath(dockerfilePath);
    const st = rel === '' ? undefined : await lstat(join(dir, rel)).catch(() => undefined);
    if (st === undefined || !st.isFile()) {
      throw invalidParameter(`Cannot locate specified Dockerfile: ${dockerfilePath}`);
    }
    const dockerfile = await readFile(join(dir, rel), 'utf8');
    await dropIgnoredBuildFiles(dir, rel);
    return { dir, digests, dockerfile, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function dropIgnoredBuildFiles(dir: string, dockerfile: string): Promise<void> {
  const text = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => undefined);
  if (text === undefined) return;
  // A CommonJS module: its default export is the module object, whose .default is the factory.
  const matcher = ignore.default({ ignorecase: false }).add(text.split(/\r?\n/));
  for (const name of [dockerfile, '.dockerignore']) {
    if (matcher.ignores(name)) await rm(join(dir, name), { force: true });
  }
}


/**
 * At start-up: what builds of a berthd that died left in the staging
 * directory. Mount points are unmounted and only then removed (never a
 * recursive removal through a mounted snapshot).
 */
export async function removeStaleBuildFiles(tmpRoot: string): Promise<string[]> {
  const names = await readdir(tmpRoot).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const path = join(tmpRoot, name);
    if (name.startsWith('mnt-')) {
      await unmountAll(path);
      await rmdir(path).then(() => removed.push(name), () => undefined);
    } else if (['build-', 'mask-', 'empty-'].some((p) => name.startsWith(p))) {
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
