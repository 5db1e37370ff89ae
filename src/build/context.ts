// The build context: the request body (a tar, plain or gzip) unpacked into a
// private directory as it arrives, never held in memory (a few MiB at most
// wait to be written), each file hashed on the way. Entry names are
// cleaned and no entry is written through a symlink, so a hostile archive
// cannot write outside the directory.
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { chmod, link, lstat, lutimes, mkdir, mkdtemp, open, readdir, readFile, rm, rmdir, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import ignore from '@balena/dockerignore';
import { cleanArchivePath, decompressed, detectCompression, peek } from '../daemon/images/index.js';
import { TarParser, type TarEntry, type TarSink } from '../containerfs/index.js';
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

/** The context as a plain tar; bzip2 and xz (`docker build - < ctx.tar.xz`) go through the system's decompressors: Node has none. */
async function plainTar(input: Readable): Promise<Readable> {
  const { head, stream } = await peek(input, 6);
  const compression = detectCompression(head);
  if (compression === 'none') return stream;
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

/** A file's data are written in pieces of about this size (views into the request's chunks, no copies). */
const WRITE_PIECE = 1024 * 1024;
/** Received bytes not yet written past which the request is paused (what the context may hold in memory). */
const HOLD_MAX = 4 * 1024 * 1024;

/** Writes all of `views` at `position` (writev may write less). */
async function writeAll(fh: FileHandle, views: Buffer[], position: number): Promise<void> {
  let left = views.reduce((n, v) => n + v.length, 0);
  let { bytesWritten } = await fh.writev(views, position);
  while (bytesWritten < left) {
    left -= bytesWritten;
    position += bytesWritten;
    views = dropBytes(views, bytesWritten);
    ({ bytesWritten } = await fh.writev(views, position));
  }
}

function dropBytes(views: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const v of views) {
    if (n >= v.length) n -= v.length;
    else {
      out.push(n > 0 ? v.subarray(n) : v);
      n = 0;
    }
  }
  return out;
}

/** A regular file being received: hashed as its pieces arrive, written in order by the writer's queue. */
interface IncomingFile {
  abs: Promise<string> | undefined;
  rel: string;
  mode: number;
  mtime: Date;
  hash: Hash;
  views: Buffer[];
  held: number;
  /** bytes handed to the queue so far */
  written: number;
  fh: Promise<FileHandle> | undefined;
}

/**
 * Turns the parser's entries into files, in order, one operation at a time
 * behind a queue (no promise per chunk); pauses the source while more than
 * HOLD_MAX bytes wait to be written. The first error stops everything.
 */
class ContextWriter implements TarSink {
  private readonly tree: SafeTree;
  private readonly dirTimes: Array<[string, Date]> = [];
  private queue: Promise<void> = Promise.resolve();
  private held = 0;
  private file: IncomingFile | undefined;
  private skipping = false;
  /** the file whose handle is open (a failure may leave it so) */
  private opened: FileHandle | undefined;
  private failure: unknown;

  constructor(
    private readonly dir: string,
    private readonly digests: Map<string, string>,
    private readonly flow: { pause(): void; resume(): void; fail(err: unknown): void },
  ) {
    this.tree = new SafeTree(dir);
  }

  private then(op: () => Promise<void>, data = 0): void {
    // An entry weighs at least its header: a tar of countless empty entries pauses too.
    const bytes = data + 512;
    this.held += bytes;
    if (this.held > HOLD_MAX) this.flow.pause();
    this.queue = this.queue.then(async () => {
      if (this.failure !== undefined) return;
      try {
        await op();
      } catch (err) {
        this.failure = err;
        this.flow.fail(err);
        return;
      }
      const before = this.held;
      this.held -= bytes;
      if (before > HOLD_MAX && this.held <= HOLD_MAX) this.flow.resume();
    });
  }

  entry(h: Omit<TarEntry, 'data'>): void {
    const dir = this.dir;
    const rel = cleanArchivePath(h.name);
    const mode = h.mode & 0o7777;
    this.skipping = true;
    if (rel === '') return;
    if (h.type === 'file' || h.type === 'contiguous-file') {
      this.skipping = false;
      this.file = { abs: undefined, rel, mode, mtime: h.mtime, hash: createHash('sha256'), views: [], held: 0, written: 0, fh: undefined };
    } else if (h.type === 'directory') {
      this.then(async () => {
        await this.tree.ensureDir(rel, mode);
        await chmod(join(dir, rel), mode);
        this.dirTimes.push([join(dir, rel), h.mtime]);
      });
    } else if (h.type === 'symlink') {
      this.then(async () => {
        const abs = await this.tree.prepare(rel);
        await symlink(h.linkname, abs);
        await lutimes(abs, h.mtime, h.mtime).catch(() => undefined);
      });
    } else if (h.type === 'link') {
      this.then(async () => {
        const target = cleanArchivePath(h.linkname);
        const abs = await this.tree.prepare(rel);
        const st = await lstat(join(dir, target)).catch(() => undefined);
        if (target === '' || st === undefined || !st.isFile()) throw invalidParameter(`the build context has a hard link to a missing file: ${rel}`);
        await this.tree.ensureDir(parentOf(target));
        await link(join(dir, target), abs);
        const known = this.digests.get(join(dir, target));
        if (known !== undefined) this.digests.set(abs, known);
      });
    }
  }

  data(piece: Buffer): void {
    const f = this.file;
    if (this.skipping || f === undefined) return;
    f.hash.update(piece);
    f.views.push(piece);
    f.held += piece.length;
    if (f.held >= WRITE_PIECE) this.flush(f, false);
  }

  end(): void {
    const f = this.file;
    if (this.skipping || f === undefined) return;
    this.file = undefined;
    this.flush(f, true);
  }

  /** Hands the file's pieces so far to the queue; the last flush closes it with its mode and times. */
  private flush(f: IncomingFile, last: boolean): void {
    const views = f.views;
    const bytes = f.held;
    const position = f.written;
    f.views = [];
    f.held = 0;
    f.written += bytes;
    const digest = last ? 'sha256:' + f.hash.digest('hex') : undefined;
    this.then(async () => {
      if (f.fh === undefined) {
        const abs = this.tree.prepare(f.rel);
        f.abs = abs;
        f.fh = abs.then((p) => open(p, 'wx', f.mode));
      }
      const fh = await f.fh;
      this.opened = fh;
      let closed = false;
      try {
        if (bytes > 0) await writeAll(fh, views, position);
        if (!last) return;
        // The umask may have taken bits away.
        if (f.mode & 0o7022) await fh.chmod(f.mode);
        await fh.utimes(f.mtime, f.mtime);
        closed = true;
        this.opened = undefined;
        await fh.close();
        this.digests.set(await f.abs!, digest!);
      } catch (err) {
        if (!closed) {
          this.opened = undefined;
          await fh.close().catch(() => undefined);
        }
        throw err;
      }
    }, bytes);
  }

  /** Stops after a failure: what is under way ends, nothing more starts, no handle stays open. */
  async abort(err: unknown): Promise<void> {
    this.failure ??= err;
    await this.queue;
    await this.opened?.close().catch(() => undefined);
    this.opened = undefined;
  }

  /** Waits for every write; then the directories' times (writing into a directory changes its mtime). */
  async close(): Promise<void> {
    await this.queue;
    if (this.failure !== undefined) throw this.failure;
    for (const [p, t] of this.dirTimes.reverse()) await utimes(p, t, t).catch(() => undefined);
  }
}

const notTar = (err: unknown): Error => {
  if (isBerthError(err) && !/^the archive is not a valid tar file: /.test(messageOf(err))) return err as Error;
  const why = messageOf(err).replace(/^the archive is not a valid tar file: /, '');
  return invalidParameter(`the build context is not a valid tar archive (plain, gzip, bzip2 or xz): ${why}`, err);
};

/**
 * Unpacks the tar as it arrives, driven by the stream's own events. The
 * reader takes a tar that ends without its last padding and end blocks:
 * the CLI's `-f -` rewrite of the context ends that way (dockerd's reader
 * takes it too).
 */
async function unpack(input: Readable, dir: string, digests: Map<string, string>): Promise<void> {
  const tar = await plainTar(input);
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const stop = (): void => {
      tar.off('data', onData);
      tar.off('end', onEnd);
      tar.off('error', onError);
      tar.off('close', onClose);
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      stop();
      // Nothing is left writing into the directory its clean-up removes.
      void writer.abort(err).finally(() => reject(err));
    };
    const writer = new ContextWriter(dir, digests, { pause: () => tar.pause(), resume: () => settled || tar.resume(), fail });
    const parser = new TarParser(writer);
    const onData = (chunk: Buffer | string): void => {
      try {
        parser.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (err) {
        fail(notTar(err));
      }
    };
    const onEnd = (): void => {
      stop();
      try {
        parser.finish();
      } catch (err) {
        fail(notTar(err));
        return;
      }
      writer.close().then(() => {
        settled = true;
        resolve();
      }, fail);
    };
    const onError = (err: Error): void => fail(notTar(err));
    // A request cut off before its end.
    const onClose = (): void => fail(invalidParameter('the build context ended before it was complete'));
    tar.on('data', onData);
    tar.once('end', onEnd);
    tar.once('error', onError);
    tar.once('close', onClose);
    tar.resume();
  });
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
