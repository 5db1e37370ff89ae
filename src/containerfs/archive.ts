// docker cp and export on a container root held open (ContainerRoot): the
// path stat of X-Docker-Container-Path-Stat, a tar of a path, and a tar
// unpacked into a directory (by the chrooted tar of untar.ts where it can
// run, else here in process). Every name is opened relative to a directory
// already held (O_NOFOLLOW), so nothing the container does to its files
// during a copy can point it at the host.
import { execFile } from 'node:child_process';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, lstatSync, open as openCb, openSync, unlink as unlinkCb, unlinkSync, write as writeCb, writeSync, writevSync, type Stats } from 'node:fs';
import { lchown, link, lutimes, mkdir, open, opendir, readlink, rm, statfs, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { invalidParameter, isBerthError } from '../errors/index.js';
import { at, components, notADirectory, openDirAt, self, type ContainerRoot } from './resolve.js';
import { isGzip, streamTar, type StreamedEntry } from './tarscan.js';
import { TarWriter, type TarWriteHeader, type TarWriteType } from './tarwrite.js';
import { chrootedUntarAvailable, extractChrooted } from './untar.js';
import { entryPath, notADirectoryInside, overwriteRefused } from './unpack-plan.js';

/** A tar entry's header as the unpacker reads it. */
type Headers = Omit<StreamedEntry['entry'], 'type'> & { type?: StreamedEntry['entry']['type'] | null };

const execFileAsync = promisify(execFile);

/** Docker's PathStat (api/types/container). */
export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits */
  mode: number;
  mtime: string;
  linkTarget: string;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

/** st_mode → Go's os.FileMode, as dockerd puts it in the path stat. */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  switch (mode & S_IFMT) {
    case S_IFDIR: m |= 2 ** 31; break;
    case S_IFLNK: m |= 2 ** 27; break;
    case S_IFBLK: m |= 2 ** 26; break;
    case S_IFCHR: m |= 2 ** 26 + 2 ** 21; break;
    case S_IFIFO: m |= 2 ** 25; break;
    case S_IFSOCK: m |= 2 ** 24; break;
  }
  if (mode & 0o4000) m += 2 ** 23;
  if (mode & 0o2000) m += 2 ** 22;
  if (mode & 0o1000) m += 2 ** 20;
  return m >>> 0;
}

/** RFC 3339 with nanoseconds, as Go marshals a time.Time. */
function rfc3339Nano(st: Stats): string {
  const ms = Math.floor(st.mtimeMs);
  const frac = String(ms % 1000).padStart(3, '0').replace(/0+$/, '');
  return new Date(ms).toISOString().replace(/\.\d+Z$/, frac === '' ? 'Z' : `.${frac}Z`);
}

/** Whether a request path asks for the last element to be followed (`/dir/`, `/dir/.`). */
export function followsFinal(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.') || path === '.';
}

/** The name dockerd gives the archive's top entry: the requested base name (`.` for `dir/.`). */
export function archiveBase(path: string): string {
  if (path.endsWith('/.') || path === '.') return '.';
  const base = posix.basename(posix.normalize('/' + path));
  // The root's entries are named /…: the client rebases them on its destination.
  return base === '' ? '/' : base;
}

export async function statPath(root: ContainerRoot, path: string): Promise<PathStat> {
  const r = await root.resolve(path, { followFinal: followsFinal(path) });
  try {
    const st = r.stat as Stats;
    let linkTarget = '';
    if (st.isSymbolicLink()) {
      // Where the link leads inside the container (dockerd resolves it in scope).
      const followed = await root.resolve(path, { followFinal: true, allowMissing: true });
      linkTarget = followed.path;
      await followed.parent.close();
    }
    return { name: posix.basename(posix.normalize('/' + path)) || '/', size: st.size, mode: goFileMode(st.mode), mtime: rfc3339Nano(st), linkTarget };
  } finally {
    await r.parent.close();
  }
}

const SMALL_FILE = 256 * 1024;
/**
 * File writes in flight while unpacking an upload held in memory, at most
 * one per directory: a create or unlink holds the directory's lock in the
 * kernel (ext4 searching its inode bitmap meanwhile), and more than one in
 * a directory only had thread-pool threads spinning on that lock, taking
 * the cores the event loop and the client needed (cp of 2,000 files into
 * one container, medians of runs back to back: 2.4 and 2.0 s with 8 in one
 * directory, 1.9 and 1.6 s with 1). Creates in different directories do
 * run side by side, so files wait in a queue per directory (up to
 * LOOKAHEAD_BYTES of them) while the archive is read on: an archive lists a
 * directory's files together, and without reading ahead only one directory
 * would ever be written at a time.
 */
const PARALLEL_WRITES = 3;
const LOOKAHEAD_BYTES = 8 * 1024 * 1024;

const HIDDEN_FS = new Set([0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x1cd1 /* devpts */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */, 0x19800202 /* mqueue */]);

export interface TarOptions {
  /** do not descend into other file systems (export: no volumes, no /proc) */
  oneFileSystem?: boolean;
  /** entries without the top directory (export) */
  flat?: boolean;
}

function header(name: string, st: Stats, type: TarWriteType, extra: Partial<TarWriteHeader> = {}): TarWriteHeader {
  return { name, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0, ...extra };
}

/** Opened without following a symlink and without blocking on a FIFO swapped in. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Packs the tree rooted at `name` inside `dir` as entries named `base`, `base/…`. */
class TreePacker {
  private readonly links = new Map<string, string>();
  constructor(
    private readonly out: TarWriter,
    private readonly opts: TarOptions,
  ) {}

  /**
   * A regular file by name: opened first (O_NOFOLLOW), its header from the
   * open file, so the stat and the data are the same file's. false when the
   * name is no regular file any more (the caller looks again).
   */
  private async file(dir: FileHandle, name: string, tarName: string): Promise<boolean> {
    let fd: number;
    try {
      fd = openSync(at(dir, name), READ_FLAGS);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
    let sync = true;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return false;
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(key) : undefined;
      if (first !== undefined) {
        await this.out.header(header(tarName, st, 'link', { linkname: first }));
        return true;
      }
      if (st.nlink > 1) this.links.set(key, tarName);
      await this.out.header(header(tarName, st, 'file', { size: st.size }));
      if (st.size < SMALL_FILE) await this.out.file(fd, st.size);
      else {
        // Big files through the thread pool: the event loop stays free.
        sync = false;
        const fh = await open(at(dir, name), READ_FLAGS);
        closeSync(fd);
        try {
          await this.out.file(fh, st.size);
        } finally {
          await fh.close();
        }
      }
      return true;
    } finally {
      if (sync) closeSync(fd);
    }
  }

  async entry(dir: FileHandle, name: string, st: Stats, tarName: string, rootDev: number): Promise<void> {
    if (this.out.gone) throw new Error('the archive reader went away');
    if (st.isDirectory()) {
      // '' is the root of an export: its entries go at the top level.
      if (tarName !== '') await this.out.header(header(tarName.endsWith('/') ? tarName : `${tarName}/`, st, 'directory'));
      if (st.dev !== rootDev) {
        if (this.opts.oneFileSystem === true) return;
        const fs = await statfs(name === '' ? self(dir) : at(dir, name)).catch(() => undefined);
        if (fs !== undefined && HIDDEN_FS.has(fs.type)) return;
      }
      const sub = name === '' ? dir : await openDirAt(dir, name).catch(() => undefined);
      if (sub === undefined) return;
      try {
        const names: Array<[string, boolean]> = [];
        for await (const e of await opendir(self(sub))) names.push([e.name, e.isFile()]);
        names.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const prefix = tarName === '' ? '' : tarName === '.' || tarName === './' ? './' : `${tarName.replace(/\/$/, '')}/`;
        const dev = st.dev === rootDev ? rootDev : st.dev;
        for (const [n, isFile] of names) {
          // A regular file needs no lstat: its open descriptor says it all.
          if (isFile && (await this.file(sub, n, prefix + n))) continue;
          const cst = lstatSync(at(sub, n), { throwIfNoEntry: false });
          if (cst === undefined) continue;
          await this.entry(sub, n, cst, prefix + n, dev);
        }
      } finally {
        if (sub !== dir) await sub.close();
      }
      return;
    }
    if (st.isSymbolicLink()) {
      await this.out.header(header(tarName, st, 'symlink', { linkname: await readlink(at(dir, name)) }));
      return;
    }
    if (st.isFile()) {
      await this.file(dir, name, tarName);
      return;
    }
    const kind = st.isCharacterDevice() ? 'character-device' : st.isBlockDevice() ? 'block-device' : st.isFIFO() ? 'fifo' : undefined;
    if (kind === undefined) return; // sockets are not archived
    const rdev = Number(st.rdev);
    await this.out.header(header(tarName, st, kind, { devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) }));
  }
}

/**
 * A tar of `path` (GET archive, export): entries named after the requested
 * base name. Resolves before returning, so a missing path is a 404 and not a
 * broken stream. `done` closes the root when the stream ends.
 */
export async function tarPath(root: ContainerRoot, path: string, opts: TarOptions = {}, done?: () => Promise<void>): Promise<{ stream: Readable; stat: PathStat }> {
  const stat = await statPath(root, path);
  const r = await root.resolve(path, { followFinal: followsFinal(path) });
  const out = new TarWriter();
  const base = archiveBase(path);
  const packer = new TreePacker(out, opts);
  const st = r.stat as Stats;
  void (async () => {
    try {
      const top = opts.flat === true ? '' : r.name === '' && base === '.' ? './' : base;
      await packer.entry(r.parent, r.name, st, top, (await r.parent.stat()).dev);
      await out.finish();
    } catch (err) {
      out.fail(err as Error);
    } finally {
      await r.parent.close().catch(() => undefined);
      await done?.();
    }
  })();
  return { stream: out.stream, stat };
}

export interface ExtractOptions {
  /** refuse replacing a directory by a non-directory and the reverse */
  noOverwriteDirNonDir: boolean;
  /** owner for every entry (docker cp -a: the container's user); else the tar headers' */
  owner?: { uid: number; gid: number };
  /** unpack in this process even where the chrooted tar is there (tests hold the two to one behaviour) */
  inProcess?: boolean;
}

/** Entries up to this size are read whole (a write each, several in flight); bigger ones stream. */
const GATHER_MAX = 4 * 1024 * 1024;

/** The request body as plain tar bytes (gzip undone), read as the reader asks. */
async function* plainTar(input: Readable): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return;
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  if (!isGzip(first.value)) {
    yield* rest();
    return;
  }
  const gunzip = createGunzip();
  pipeline(Readable.from(rest()), gunzip).catch((err: unknown) => gunzip.destroy(err as Error));
  yield* gunzip as AsyncIterable<Buffer>;
}

/**
 * PUT archive: unpacks the tar of `body` into the directory `path`
 * (resolved in the container, symlinks followed in scope) as it arrives,
 * as dockerd does. Each entry is checked as it comes; an archive refused
 * part way removes what it had created.
 */
export async function extractTo(root: ContainerRoot, path: string, body: Readable, opts: ExtractOptions): Promise<void> {
  const r = await root.resolve(path, { followFinal: true });
  let destDir: FileHandle;
  try {
    if (!r.stat?.isDirectory()) throw notADirectory();
    destDir = r.name === '' ? r.parent : await openDirAt(r.parent, r.name);
  } finally {
    if (r.name !== '') await r.parent.close().catch(() => undefined);
  }
  try {
    if (opts.inProcess !== true && chrootedUntarAvailable()) {
      await extractChrooted(root.handle.fd, destDir, r.path, body, opts).catch((err: unknown) => Promise.reject(uploadError(err)));
    } else await new Unpacker(destDir, r.path, opts).run(streamTar(plainTar(body), GATHER_MAX));
  } finally {
    await destDir.close().catch(() => undefined);
  }
}

/** An upload's failure as the client sees it. */
function uploadError(err: unknown): unknown {
  // a read-only volume or bind below the extraction point
  if ((err as NodeJS.ErrnoException).code === 'EROFS') return invalidParameter('mounted volume is marked read-only', err);
  if (isBerthError(err) || (err as NodeJS.ErrnoException).syscall !== undefined) return err;
  // the gzip layer's errors
  return invalidParameter(`the archive is not a valid tar file: ${(err as Error).message}`, err);
}

/** The daemon's umask and ids, read once: a file created by berthd has them unless told otherwise. */
const UMASK = process.umask();
const PROCESS_UID = process.getuid?.() ?? -1;
const PROCESS_GID = process.getgid?.() ?? -1;

/** Closes `fd` and hands back the error that ended the work on it. */
function closing(fd: number, err: unknown): unknown {
  try {
    closeSync(fd);
  } catch {
    // the first error is the one to report
  }
  return err;
}

/**
 * The rest of a new file after its first `written` bytes: data, owner,
 * mode, times, close. The error, or undefined.
 */
function finishFile(fd: number, data: Buffer, written: number, meta: { own: { uid: number; gid: number }; mode: number; mtime: Date; ownedAlready: boolean }, modeAtCreate: boolean): unknown {
  try {
    while (written < data.length) written += writeSync(fd, data, written, data.length - written, written);
    if (!meta.ownedAlready) fchownSync(fd, meta.own.uid, meta.own.gid);
    if (!modeAtCreate) fchmodSync(fd, meta.mode);
    futimesSync(fd, meta.mtime, meta.mtime);
  } catch (err) {
    return closing(fd, err);
  }
  try {
    closeSync(fd);
  } catch (err) {
    return err;
  }
  return undefined;
}

interface WriteJob {
  key: string;
  dirKey: string;
  bytes: number;
  start(): void;
}

const isRegular = (type: Headers['type']): boolean => type === 'file' || type === 'contiguous-file' || type === undefined || type === null;

class Unpacker {
  /** open directories below the extraction point, by relative path */
  private readonly dirs = new Map<string, FileHandle>();
  /** file writes in flight, by relative path: who waits for each to end */
  private readonly writing = new Map<string, Array<() => void>>();
  /** who waits for all writes to end */
  private readonly drained: Array<() => void> = [];
  /** the write in flight in each directory, by the directory's relative path */
  private readonly writingIn = new Map<string, string>();
  /** writes waiting for their directory (or a slot), by the directory's relative path, in arrival order */
  private readonly queued = new Map<string, WriteJob[]>();
  private queuedBytes = 0;
  private running = 0;
  /** who waits for the queue to have room */
  private roomWaiters: Array<() => void> = [];
  private failed: unknown;
  private readonly dirTimes: Array<{ handle: string; mtime: Date }> = [];

  constructor(
    private readonly dest: FileHandle,
    private readonly destPath: string,
    private readonly opts: ExtractOptions,
  ) {
    this.dirs.set('', dest);
  }

  /** set-gid bits of directories written into, by relative path */
  private readonly setgid = new Map<string, boolean>();
  /** what this extraction created (not what it replaced), by relative path: removed again if it fails */
  private readonly created: string[][] = [];
  /**
   * Directories this extraction made, and every name it put in them: a name
   * in one of them is only there if the archive put it there, so it needs
   * no lstat, which would wait on the directory's lock behind a create in
   * flight there and stall the whole upload meanwhile.
   */
  private readonly madeDirs = new Set<string>();
  private readonly madeNames = new Set<string>();

  async run(entries: AsyncIterable<StreamedEntry>): Promise<void> {
    try {
      try {
        for await (const e of entries) await this.entry(e.entry, e.body);
        await this.settle();
      } catch (err) {
        await this.drain();
        await this.rollBack();
        throw uploadError(err);
      }
      // Directory times last: writing into a directory changes its mtime.
      for (const t of this.dirTimes.reverse()) {
        const parts = t.handle.split('/');
        const name = parts.pop() as string;
        const parent = this.dirs.get(parts.join('/'));
        if (parent !== undefined) await utimes(at(parent, name), t.mtime, t.mtime).catch(() => undefined);
      }
    } finally {
      await this.drain();
      for (const [k, h] of this.dirs) if (k !== '') await h.close().catch(() => undefined);
    }
  }

  /**
   * Removes what the extraction created, newest first, each through its
   * held parent directory (a removal never follows a symlink). What it
   * replaced stays replaced, as with dockerd.
   */
  private async rollBack(): Promise<void> {
    const gone = new Set<string>();
    for (const parts of this.created.reverse()) {
      const key = parts.join('/');
      if (parts.some((_, i) => gone.has(parts.slice(0, i).join('/')))) continue;
      gone.add(key);
      const parent = this.dirs.get(parts.slice(0, -1).join('/'));
      if (parent === undefined) continue;
      if (this.dirs.has(key)) {
        await this.dirs.get(key)!.close().catch(() => undefined);
        this.dirs.delete(key);
      }
      await rm(at(parent, parts[parts.length - 1] as string), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Starts writing a file of an upload held in memory. Two thread-pool
   * round trips, for the calls that wait in the kernel (the unlink of what
   * it replaces and the create, both under the directory's lock); the
   * write of a small file, the owner, mode and times and the close are
   * synchronous on the open descriptor, microseconds each.
   */
  private async spawnWrite(
    key: string,
    dirKey: string,
    target: string,
    data: Buffer,
    meta: { own: { uid: number; gid: number }; mode: number; mtime: Date; replaces: Stats | undefined; ownedAlready: boolean },
  ): Promise<void> {
    while (this.queuedBytes >= LOOKAHEAD_BYTES) await new Promise<void>((r) => this.roomWaiters.push(r));
    this.check();
    const { mode } = meta;
    // Created with its mode when the umask keeps all of it and no special bit
    // (a chown clears set-id bits, so those come by chmod after it).
    const modeAtCreate = (mode & 0o7000) === 0 && (mode & UMASK) === 0;
    this.writing.set(key, []);
    const done = (err: unknown): void => this.written(key, dirKey, err);
    const create = (again = false): void =>
      openCb(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, modeAtCreate ? mode : 0o600, (err, fd) => {
        // A name no lstat looked for (see madeNames), made meanwhile by a process in the container: replaced.
        if (err?.code === 'EEXIST' && !again && meta.replaces === undefined) return unlinkCb(target, (uerr) => (uerr !== null ? done(err) : create(true)));
        if (err !== null) return done(err);
        if (data.length <= SMALL_FILE) return done(finishFile(fd, data, 0, meta, modeAtCreate));
        // A big one through the thread pool: the event loop stays free.
        writeCb(fd, data, 0, data.length, 0, (werr, n) => done(werr !== null ? closing(fd, werr) : finishFile(fd, data, n, meta, modeAtCreate)));
      });
    // unlink(2) never follows a symlink at the last name. Unlinking a small
    // file is quicker than a round trip to the thread pool (nothing else
    // holds the directory's lock now); a big one frees many blocks.
    const start = (): void => {
      if (meta.replaces === undefined) create();
      else if (meta.replaces.size <= SMALL_FILE) {
        try {
          unlinkSync(target);
        } catch (err) {
          return done(err);
        }
        create();
      } else unlinkCb(target, (err) => (err !== null ? done(err) : create()));
    };
    const job: WriteJob = { key, dirKey, bytes: data.length, start };
    if (!this.writingIn.has(dirKey) && this.running < PARALLEL_WRITES) this.launch(job);
    else {
      const jobs = this.queued.get(dirKey);
      if (jobs === undefined) this.queued.set(dirKey, [job]);
      else jobs.push(job);
      this.queuedBytes += job.bytes;
    }
  }

  private launch(job: WriteJob): void {
    this.running++;
    this.writingIn.set(job.dirKey, job.key);
    job.start();
  }

  private written(key: string, dirKey: string, err: unknown): void {
    if (err !== undefined) this.failed ??= err;
    this.running--;
    if (this.writingIn.get(dirKey) === key) this.writingIn.delete(dirKey);
    this.finished(key);
    this.pump();
  }

  private finished(key: string): void {
    const waiting = this.writing.get(key);
    this.writing.delete(key);
    if (waiting !== undefined) for (const w of waiting) w();
    if (this.writing.size === 0) for (const w of this.drained.splice(0)) w();
  }

  /** Starts queued writes whose directory is free, oldest directory first; after a failure, drops them. */
  private pump(): void {
    if (this.failed !== undefined) {
      const dropped = [...this.queued.values()].flat();
      this.queued.clear();
      this.queuedBytes = 0;
      for (const job of dropped) this.finished(job.key);
    }
    for (const [dirKey, jobs] of this.queued) {
      if (this.running >= PARALLEL_WRITES) break;
      if (this.writingIn.has(dirKey)) continue;
      const job = jobs.shift() as WriteJob;
      if (jobs.length === 0) this.queued.delete(dirKey);
      this.queuedBytes -= job.bytes;
      this.launch(job);
    }
    if (this.queuedBytes < LOOKAHEAD_BYTES) for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Resolves once no write is in flight (failed or not). */
  private drain(): Promise<void> | undefined {
    return this.writing.size === 0 ? undefined : new Promise<void>((r) => this.drained.push(r));
  }

  /**
   * Waits for the writes in flight (all of them, or the one of `key`), then
   * reports the first that failed. Nothing to wait for, nothing to await:
   * the common case costs no promise.
   */
  private settle(key?: string): Promise<void> | undefined {
    const waiting = key === undefined ? this.drain() : this.writing.has(key) ? new Promise<void>((r) => this.writing.get(key)!.push(r)) : undefined;
    if (waiting === undefined) {
      this.check();
      return undefined;
    }
    return waiting.then(() => this.check());
  }

  private check(): void {
    if (this.failed !== undefined) throw this.failed;
  }

  /** Whether a directory passes its group on (set-gid): then a new file's group is not ours. */
  private setgidDir(key: string, dir: FileHandle): boolean {
    let v = this.setgid.get(key);
    if (v === undefined) this.setgid.set(key, (v = (fstatSync(dir.fd).mode & 0o2000) !== 0));
    return v;
  }

  /** The open directory for `parts` below the extraction point, created (0755) where missing. */
  private async dirFor(parts: readonly string[]): Promise<FileHandle> {
    const key = parts.join('/');
    const known = this.dirs.get(key);
    if (known !== undefined) return known;
    const parent = await this.dirFor(parts.slice(0, -1));
    const name = parts[parts.length - 1] as string;
    let h: FileHandle;
    try {
      h = await openDirAt(parent, name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await mkdir(at(parent, name), { mode: 0o755 });
        this.created.push([...parts]);
        this.madeDirs.add(key);
        this.madeNames.add(key);
        h = await openDirAt(parent, name);
      } else if (code === 'ELOOP' || code === 'ENOTDIR') {
        // A symlink (or file) where the archive has a directory: never followed.
        throw notADirectoryInside(this.destPath, key);
      } else throw err;
    }
    if (this.dirs.size > 1024) {
      await this.settle();
      // Bound the open descriptors; the extraction point stays.
      for (const [k, d] of this.dirs) if (k !== '' && !key.startsWith(k)) { await d.close().catch(() => undefined); this.dirs.delete(k); }
    }
    this.dirs.set(key, h);
    return h;
  }

  private owner(h: Headers): { uid: number; gid: number } {
    return this.opts.owner ?? { uid: h.uid ?? 0, gid: h.gid ?? 0 };
  }

  private async entry(h: Headers, body: Buffer | AsyncIterable<Buffer>): Promise<void> {
    const parts = entryPath(h.name, this.destPath);
    // The reader skips whatever data an entry leaves unread.
    if (parts.length === 0) return;
    const key = parts.join('/');
    const pending = this.settle(key);
    if (pending !== undefined) await pending;
    if (h.type === 'link') await this.settle();
    const parentParts = parts.slice(0, -1);
    const parentKey = parentParts.join('/');
    const parent = this.dirs.get(parentKey) ?? (await this.dirFor(parentParts));
    const name = parts[parts.length - 1] as string;
    const target = at(parent, name);
    // Synchronous calls for the small steps of each entry: one turn of the
    // event loop instead of a thread-pool round trip per call.
    const existing = this.madeDirs.has(parentKey) && !this.madeNames.has(key) ? undefined : lstatSync(target, { throwIfNoEntry: false });
    const isDir = h.type === 'directory';
    if (existing !== undefined) {
      if (this.opts.noOverwriteDirNonDir && existing.isDirectory() && !isDir) {
        throw overwriteRefused(this.destPath, key, h.name, true);
      }
      if (this.opts.noOverwriteDirNonDir && !existing.isDirectory() && isDir) {
        throw overwriteRefused(this.destPath, key, h.name, false);
      }
      // Unlinked and created again, not truncated, as dockerd does: a
      // process that has the old file open or mapped (a library) keeps it,
      // and ext4 flushes a file truncated to zero when it is closed
      // (auto_da_alloc), which made overwriting a tree several times slower.
      if (!(existing.isDirectory() && isDir)) {
        if (existing.isDirectory()) {
          await this.settle();
          await rm(target, { recursive: true, force: true });
        } else if (!(Buffer.isBuffer(body) && isRegular(h.type))) unlinkSync(target);
        // else the file's write job unlinks it, once no other write of
        // this upload holds the directory's lock.
      }
    }
    if (existing === undefined) this.created.push(parts);
    this.madeNames.add(key);
    const own = this.owner(h);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date();
    switch (h.type) {
      case 'directory': {
        if (existing === undefined || !existing.isDirectory()) {
          await mkdir(target, { mode: 0o700 });
          this.madeDirs.add(key);
        }
        const dir = await this.dirFor(parts);
        await dir.chown(own.uid, own.gid);
        await dir.chmod(mode);
        this.dirTimes.push({ handle: parts.join('/'), mtime });
        return;
      }
      case 'file':
      case 'contiguous-file':
      case undefined:
      case null: {
        if (Buffer.isBuffer(body)) {
          // Files of an upload held in memory are written a few at a time:
          // creating a file on an overlay is mostly waiting in the kernel.
          const ownedAlready = own.uid === PROCESS_UID && own.gid === PROCESS_GID && !this.setgidDir(parentKey, parent);
          // a directory in its place was removed above: nothing left to unlink
          const replaces = existing?.isDirectory() === true ? undefined : existing;
          await this.spawnWrite(key, parentKey, target, body, { own, mode, mtime, replaces, ownedAlready });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) {
            chunks.push(chunk);
            size += chunk.length;
            // big files go out in 1 MiB steps
            if (size >= 1 << 20) {
              writevSync(fd, chunks.splice(0));
              size = 0;
            }
          }
          if (chunks.length > 0) writevSync(fd, chunks);
          fchownSync(fd, own.uid, own.gid);
          fchmodSync(fd, mode);
          futimesSync(fd, mtime, mtime);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'symlink': {
        await symlink(h.linkname ?? '', target);
        await lchown(target, own.uid, own.gid);
        await lutimes(target, mtime, mtime).catch(() => undefined);
        return;
      }
      case 'link': {
        const lp = entryPath(h.linkname ?? '', this.destPath);
        const lparent = await this.dirFor(lp.slice(0, -1));
        // link(2) does not follow a symlink at the old path.
        await link(at(lparent, lp[lp.length - 1] as string), target);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        if (!(await makeNode(parent, name, h, mode))) return;
        await lchown(target, own.uid, own.gid);
        await lutimes(target, mtime, mtime).catch(() => undefined);
        return;
      }
      default:
    }
  }
}

/**
 * Creates a device node or FIFO named `name` in the held directory `dir`.
 * Node has neither mknod(2) nor mkfifo(3), so mknod(1)/mkfifo(1) run with
 * that directory as their working directory (entered through this process's
 * descriptor, so nothing in the container can swap a path under them) and a
 * single-component name, which mknod never follows. false when the kernel
 * refuses (no CAP_MKNOD, a user namespace): dockerd skips the entry then.
 */
async function makeNode(dir: FileHandle, name: string, h: Headers, mode: number): Promise<boolean> {
  const perm = (mode & 0o7777).toString(8);
  const [cmd, args] =
    h.type === 'fifo'
      ? ['mkfifo', ['-m', perm, '--', name]]
      : ['mknod', ['-m', perm, '--', name, h.type === 'block-device' ? 'b' : 'c', String(h.devmajor ?? 0), String(h.devminor ?? 0)]];
  try {
    await execFileAsync(cmd, args, { cwd: `/proc/${process.pid}/fd/${dir.fd}` });
    return true;
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    if (/Operation not permitted/.test(stderr)) return false;
    throw invalidParameter(`could not create ${JSON.stringify(h.name)}: ${stderr.trim() || (err as Error).message}`, err);
  }
}
