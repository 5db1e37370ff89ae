// docker cp into a container by a static tar chrooted into the container's
// root, as dockerd unpacks in a chroot of its own: the writes cost the
// kernel's time only, not the daemon's, and whatever a name points at, the
// writer cannot reach past the root. berthd reads the upload, checks and
// plans every entry (UnpackPlan) before it passes it on, and re-encodes its
// header with the checked name (and the owner of cp -a), so the writer sees
// only names below the extraction point. What busybox's tar does otherwise
// than dockerd (set-id bits lost to its chown, symlinks left root's, and
// directory times touched by their own files) berthd puts right afterwards
// through descriptors that never follow a symlink.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { closeSync, constants, fchmodSync, fstatSync, futimesSync, lchownSync, lstatSync, lutimesSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Transform, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { internal, invalidParameter, isBerthError } from '../errors/index.js';
import { isGzip, TarParser, type TarEntry, type TarSink } from './tarscan.js';
import { encodeHeader, type TarWriteType } from './tarwrite.js';
import { entryPath, UnpackPlan, type OnDisk } from './unpack-plan.js';

const PYTHON = '/usr/bin/python3';
const BUSYBOX = '/bin/busybox';

/**
 * The helper that enters the root: fd 3 is the root, fd 4 the directory to
 * work in (both held by berthd, so no path is looked up again on the host),
 * fd 5 the static busybox, run by descriptor since the root has none.
 * Everything it imports is imported before the chroot (python3 -I: no
 * current folder on its path either): after it, an import would run code
 * of the container's as root, and root in a chroot can leave it.
 */
const ENTER = [
  'import os, sys',
  // a 1 MiB pipe when stdin is one (F_SETPIPE_SZ): fewer stops between berthd and the writer
  'try:',
  '    import fcntl',
  '    fcntl.fcntl(0, 1031, 1 << 20)',
  'except (ImportError, OSError):',
  '    pass',
  'os.fchdir(3)',
  "os.chroot('.')",
  'os.fchdir(4)',
  'os.close(3)',
  'os.close(4)',
  'os.umask(0o022)',
  'os.set_inheritable(5, False)',
  'os.execve(5, sys.argv[1:], {})',
].join('\n');

/**
 * Whether an ELF image (its first bytes) is a 64- or 32-bit executable with
 * no program interpreter: one that runs in a root without a libc of its own.
 */
export function isStaticElf(head: Buffer): boolean {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (o: number): number => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number): number => (le ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const phoff = is64 ? Number(le ? head.readBigUInt64LE(0x20) : head.readBigUInt64BE(0x20)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  if (phnum === 0 || phoff + phentsize * phnum > head.length) return false;
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

let availability: boolean | undefined;

/** Whether uploads can go through the chrooted tar here: root, python3 and a static busybox. */
export function chrootedUntarAvailable(): boolean {
  if (availability !== undefined) return availability;
  availability = false;
  if (process.getuid?.() !== 0) return false;
  try {
    if (!lstatSync(PYTHON, { throwIfNoEntry: false })) return false;
    const fd = openSync(BUSYBOX, constants.O_RDONLY);
    try {
      const head = Buffer.alloc(4096);
      availability = isStaticElf(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
    } finally {
      closeSync(fd);
    }
  } catch {
    availability = false;
  }
  return availability;
}

interface Exit {
  code: number | null;
  stderr: string;
}

/** busybox `argv` run chrooted into `rootFd`, working in `cwdFd`. */
function chrooted(rootFd: number, cwdFd: number, argv: string[], stdin: 'pipe' | 'ignore'): { child: ChildProcess; exit: Promise<Exit> } {
  const busybox = openSync(BUSYBOX, constants.O_RDONLY);
  let child: ChildProcess;
  try {
    child = spawn(PYTHON, ['-I', '-S', '-c', ENTER, ...argv], { stdio: [stdin, 'ignore', 'pipe', rootFd, cwdFd, busybox] });
  } finally {
    closeSync(busybox);
  }
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.length < 64 && stderr.push(b));
  const exit = new Promise<Exit>((resolve) => {
    child.once('error', (err) => resolve({ code: -1, stderr: err.message }));
    child.once('close', (code) => resolve({ code, stderr: Buffer.concat(stderr).toString() }));
  });
  return { child, exit };
}

/** The writer's complaint as the client should see it. */
function writerError(e: Exit): Error {
  const text = e.stderr.trim().split('\n').filter((l) => l !== '').pop() ?? `exit status ${String(e.code)}`;
  if (/Read-only file system/.test(text)) return invalidParameter('mounted volume is marked read-only');
  return internal(`extracting the archive: ${text.replace(/^tar: /, '')}`);
}

const TYPES: Partial<Record<string, TarWriteType>> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'link',
  symlink: 'symlink',
  directory: 'directory',
  fifo: 'fifo',
  'character-device': 'character-device',
  'block-device': 'block-device',
};

const ZEROS = Buffer.alloc(1024);
/** what is written to the pipe at once at most */
const FLUSH_BYTES = 256 * 1024;
/** what may wait in berthd for the writer before the upload is paused */
const BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * One run of the chrooted tar, fed on its stdin: the headers and data
 * pieces of a turn of the event loop in one write.
 */
class Segment {
  private readonly run: { child: ChildProcess; exit: Promise<Exit> };
  readonly stdin: Writable;
  private gone = false;

  constructor(rootFd: number, destFd: number) {
    this.run = chrooted(rootFd, destFd, ['tar', '-x', '--numeric-owner', '-f', '-'], 'pipe');
    this.stdin = this.run.child.stdin!;
    // A writer that died early: its exit says why.
    this.stdin.on('error', () => undefined);
    void this.run.exit.then(() => {
      this.gone = true;
      this.stdin.emit('drain');
    });
  }

  /** pieces not written yet: one write per turn of the event loop, not one per piece the upload came in */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushing = false;

  /** bytes given and not yet taken by the writer's pipe */
  get backlog(): number {
    return this.pendingBytes + this.stdin.writableLength;
  }

  write(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushing = false;
    if (this.pending.length === 0) return;
    const out = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.gone) this.stdin.write(out);
  }

  /** Resolves once the pipe has room again (at once when it has); rejects when the writer went away. */
  room(): Promise<void> | undefined {
    if (this.gone) return Promise.reject(new Error('the extractor exited'));
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    // Up to a few MiB wait in berthd, so the client sends on while the writer catches up.
    if (this.stdin.writableLength < BUFFERED_BYTES) return undefined;
    return new Promise<void>((resolve, reject) => this.stdin.once('drain', () => (this.gone ? reject(new Error('the extractor exited')) : resolve())));
  }

  /** The end blocks, then the writer's exit: throws what it complained of. */
  async finish(): Promise<void> {
    this.write(ZEROS);
    this.flush();
    if (!this.gone) this.stdin.end();
    const e = await this.run.exit;
    if (e.code !== 0) throw writerError(e);
  }

  /** The reason the writer went away, if it did. */
  async failure(): Promise<Error | undefined> {
    const e = await Promise.race([this.run.exit, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    return e !== undefined && e.code !== 0 ? writerError(e) : undefined;
  }

  async kill(): Promise<void> {
    this.run.child.kill('SIGKILL');
    await this.run.exit;
  }
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const fdPath = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

export interface ChrootedExtractOptions {
  noOverwriteDirNonDir: boolean;
  owner?: { uid: number; gid: number };
}

/**
 * What goes to the writers, in order: bytes for one of them; a name to
 * remove once all are done with what came before; or one writer to finish
 * (a hard link's target is written before the link).
 */
type Op = { to: number; bytes: Buffer } | { remove: string } | { finish: number };

/**
 * Writers side by side, each with directories of its own: creating files
 * is mostly the kernel's time (ext4 searching its inode tables, much
 * longer after many removals), and files of other directories are created
 * meanwhile. cp of 2,000 files (~50 MB) on 2 cores, medians of 7 side by
 * side with dockerd: 0.77–1.03 of its time with 2 writers, 0.67–0.77 with
 * 3, 0.53–0.73 with 4. A new writer starts only once those running have
 * SPREAD_BYTES waiting, so a small upload takes one.
 */
const WRITERS = Math.max(2, Math.min(4, 2 * availableParallelism()));
const SPREAD_BYTES = 256 * 1024;

/**
 * Unpacks the tar (or gzipped tar) `input` into `dest`, the directory `destPath`
 * inside the root held by `rootFd`. On any failure what the upload created
 * is removed again and the first error thrown.
 */
export async function extractChrooted(rootFd: number, dest: FileHandle, destPath: string, input: Readable, opts: ChrootedExtractOptions): Promise<void> {
  const u = new ChrootedUnpack(rootFd, dest.fd, destPath, opts);
  try {
    await u.run(input);
  } finally {
    u.close();
  }
}

class ChrootedUnpack implements TarSink {
  /** directories below the extraction point held open, by relative path ('' is the extraction point, not ours to close) */
  private readonly dirs = new Map<string, number>();
  private readonly plan: UnpackPlan;
  private readonly segments: Array<Segment | undefined> = new Array<Segment | undefined>(WRITERS).fill(undefined);
  /** the writer of each directory's entries, by relative path */
  private readonly writerOf = new Map<string, number>();
  /** the writer of the entry being read */
  private to = 0;
  /** what waits behind a removal or a finish, in order; empty while writes go straight out */
  private readonly queue: Op[] = [];
  private pumping: Promise<void> | undefined;
  private failed: unknown;
  /** the data bytes of the entry being read, undefined while its data are not passed on */
  private dataSize: number | undefined;
  private readonly dirTimes: Array<{ key: string; mtime: Date }> = [];
  private readonly links: Array<{ key: string; uid: number; gid: number; mtime: Date }> = [];
  private readonly setIds: Array<{ key: string; mode: number }> = [];

  constructor(
    private readonly rootFd: number,
    private readonly destFd: number,
    private readonly destPath: string,
    private readonly opts: ChrootedExtractOptions,
  ) {
    this.dirs.set('', destFd);
    this.plan = new UnpackPlan(destPath, opts.noOverwriteDirNonDir, (dirKey, name) => this.probe(dirKey, name));
  }

  close(): void {
    this.dropDirs(() => true);
  }

  /** Closes the held directories `which` picks; the extraction point is not ours and stays. */
  private dropDirs(which: (key: string) => boolean): void {
    for (const [k, fd] of this.dirs) {
      if (k === '' || !which(k)) continue;
      closeSync(fd);
      this.dirs.delete(k);
    }
  }

  /** The directory `key` held open, reached name by name without following a symlink; throws where it cannot be. */
  private dirFd(key: string): number {
    const known = this.dirs.get(key);
    if (known !== undefined) return known;
    const slash = key.lastIndexOf('/');
    const parent = this.dirFd(slash < 0 ? '' : key.slice(0, slash));
    if (this.dirs.size > 1024) {
      // Bound the open descriptors: this path's stay.
      this.dropDirs((k) => !key.startsWith(`${k}/`));
    }
    const fd = openSync(fdPath(parent, key.slice(slash + 1)), DIR_FLAGS);
    this.dirs.set(key, fd);
    return fd;
  }

  private probe(dirKey: string, name: string): OnDisk {
    let st;
    try {
      st = lstatSync(fdPath(this.dirFd(dirKey), name), { throwIfNoEntry: false });
    } catch {
      // the directory itself went (or turned into a link) meanwhile
      return 'other';
    }
    return st === undefined ? 'missing' : st.isDirectory() ? 'dir' : 'other';
  }

  private segment(i: number): Segment {
    let s = this.segments[i];
    if (s === undefined) this.segments[i] = s = new Segment(this.rootFd, this.destFd);
    return s;
  }

  /** The writer for entries in the directory `dirKey`: for a new directory, the running one with the least waiting, or a new one when all have much. */
  private writerFor(dirKey: string): number {
    let w = this.writerOf.get(dirKey);
    if (w !== undefined) return w;
    let least = -1;
    let idle = -1;
    this.segments.forEach((s, i) => {
      if (s === undefined) idle = idle < 0 ? i : idle;
      else if (least < 0 || s.backlog < (this.segments[least] as Segment).backlog) least = i;
    });
    w = least >= 0 && ((this.segments[least] as Segment).backlog < SPREAD_BYTES || idle < 0) ? least : Math.max(idle, 0);
    this.writerOf.set(dirKey, w);
    return w;
  }

  /** Lets writer `i` (or every one) finish what it was given: the tree is then as those entries made it. */
  private async settle(i?: number): Promise<void> {
    const done: Array<Promise<void>> = [];
    this.segments.forEach((s, k) => {
      if (s === undefined || (i !== undefined && k !== i)) return;
      this.segments[k] = undefined;
      done.push(s.finish());
    });
    const results = await Promise.allSettled(done);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  /** busybox `argv` chrooted in the extraction point, to its end. */
  private async inRoot(argv: string[]): Promise<void> {
    const e = await chrooted(this.rootFd, this.destFd, argv, 'ignore').exit;
    if (e.code !== 0) throw writerError(e);
  }

  /** Bytes for the current entry's writer. */
  private bytes(b: Buffer): void {
    this.out({ to: this.to, bytes: b });
  }

  /** Straight out, or behind a removal or finish still to be done. */
  private out(op: Op): void {
    if (this.pumping === undefined && 'bytes' in op) {
      this.segment(op.to).write(op.bytes);
      return;
    }
    this.queue.push(op);
    this.pumping ??= this.pump().then(
      () => void (this.pumping = undefined),
      (err: unknown) => {
        this.failed ??= err;
      },
    );
  }

  private async pump(): Promise<void> {
    for (let op = this.queue.shift(); op !== undefined; op = this.queue.shift()) {
      if ('bytes' in op) {
        const s = this.segment(op.to);
        s.write(op.bytes);
        await s.room();
        continue;
      }
      if ('finish' in op) {
        await this.settle(op.finish);
        continue;
      }
      // What a directory replaces (or the reverse) goes first, once the
      // writers are done with the entries before it; inside the root too.
      await this.settle();
      this.dropDirs((k) => k === op.remove || k.startsWith(`${op.remove}/`));
      await this.inRoot(['rm', '-rf', '--', op.remove]);
    }
  }

  entry(h: Omit<TarEntry, 'data'>, header: Buffer | undefined): void {
    this.dataSize = undefined;
    const parts = entryPath(h.name, this.destPath);
    const type = TYPES[h.type];
    if (parts.length === 0 || type === undefined) return;
    const isDir = type === 'directory';
    let linkname = h.linkname;
    const step = this.plan.entry(parts, isDir, h.name);
    if (step.removeFirst !== undefined) this.out({ remove: step.key });
    this.to = this.writerFor(parts.slice(0, -1).join('/'));
    if (type === 'link') {
      const target = entryPath(h.linkname, this.destPath);
      this.plan.directory(target.slice(0, -1));
      linkname = target.join('/');
      const other = this.writerOf.get(target.slice(0, -1).join('/'));
      if (other !== undefined && other !== this.to) this.out({ finish: other });
    }
    const own = this.opts.owner ?? { uid: h.uid, gid: h.gid };
    const mode = h.mode & 0o7777;
    const size = type === 'file' ? h.size : 0;
    // The block as it came where it already says what the writer must do
    // (the docker CLI's always do); else one written anew.
    const asItCame =
      header !== undefined &&
      this.opts.owner === undefined &&
      h.type === type &&
      (h.name === step.key || h.name === `${step.key}/`) &&
      linkname === h.linkname &&
      size === h.size;
    this.bytes(asItCame ? header : encodeHeader({ name: isDir ? `${step.key}/` : step.key, type, mode, uid: own.uid, gid: own.gid, size, mtime: h.mtime, linkname, devmajor: h.devmajor, devminor: h.devminor }));
    if (type === 'file') this.dataSize = size;
    if (isDir) this.dirTimes.push({ key: step.key, mtime: h.mtime });
    else if (type === 'symlink') this.links.push({ key: step.key, uid: own.uid, gid: own.gid, mtime: h.mtime });
    else if ((mode & 0o7000) !== 0 && type === 'file') this.setIds.push({ key: step.key, mode });
  }

  data(piece: Buffer): void {
    if (this.dataSize !== undefined) this.bytes(piece);
  }

  end(): void {
    const size = this.dataSize;
    this.dataSize = undefined;
    const n = size === undefined ? 0 : (512 - (size % 512)) % 512;
    if (n > 0) this.bytes(ZEROS.subarray(0, n));
  }

  /**
   * Reads the upload to its end (or its end blocks), gzip undone, pausing
   * it while the writer is behind.
   */
  private feed(body: Readable): Promise<void> {
    const parser = new TarParser(this);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let gunzip: Transform | undefined;
      let first = true;
      const sources = (): Readable[] => (gunzip === undefined ? [body] : [body, gunzip]);
      const stop = (err: unknown): void => {
        if (settled) return;
        settled = true;
        for (const s of sources()) s.pause().removeAllListeners('data');
        gunzip?.destroy();
        if (err === undefined) resolve();
        else reject(err);
      };
      const plain = (chunk: Buffer): void => {
        if (settled) return;
        try {
          parser.write(chunk);
        } catch (err) {
          stop(err);
          return;
        }
        if (this.failed !== undefined) return stop(this.failed);
        // the rest of a finished archive (the second end block, padding) is read and dropped
        if (parser.ended) return;
        const wait = this.pumping ?? this.segments[this.to]?.room();
        if (wait === undefined) return;
        for (const src of sources()) src.pause();
        wait.then(
          () => (this.failed !== undefined ? stop(this.failed) : settled || sources().forEach((src) => src.resume())),
          (err: unknown) => stop(err),
        );
      };
      const plainEnd = (): void => {
        try {
          parser.finish();
        } catch (err) {
          return stop(err);
        }
        stop(undefined);
      };
      body.on('data', (chunk: Buffer) => {
        if (first) {
          first = false;
          if (isGzip(chunk)) {
            gunzip = createGunzip();
            gunzip.on('data', plain).once('end', plainEnd).once('error', stop);
          }
        }
        if (gunzip === undefined) return plain(chunk);
        if (!gunzip.write(chunk)) {
          body.pause();
          gunzip.once('drain', () => settled || body.resume());
        }
      });
      body.once('end', () => (gunzip === undefined ? plainEnd() : gunzip.end()));
      body.once('error', stop);
      // a client that hangs up part way: no 'end' comes
      body.once('close', () => body.readableEnded || stop(new Error('the client closed the connection before the archive ended')));
      body.resume();
    });
  }

  async run(input: Readable): Promise<void> {
    try {
      await this.feed(input);
      await this.pumping;
      if (this.failed !== undefined) throw this.failed;
      await this.settle();
    } catch (err) {
      const live = this.segments.filter((s): s is Segment => s !== undefined);
      this.segments.fill(undefined);
      // A writer that went away is the cause, not the pipe that broke.
      let why: Error | undefined;
      if (!isBerthError(err)) for (const s of live) why ??= await s.failure();
      await Promise.all(live.map((s) => s.kill()));
      await this.pumping?.catch(() => undefined);
      await this.rollBack();
      throw why ?? err;
    }
    this.putRight();
  }

  /** Removes what the upload created, inside the root. What it replaced stays replaced, as with dockerd. */
  private async rollBack(): Promise<void> {
    if (this.plan.created.length === 0) return;
    this.close();
    await this.inRoot(['rm', '-rf', '--', ...this.plan.created]).catch(() => undefined);
  }

  /** What busybox's tar leaves otherwise than dockerd: set-id bits, symlinks' owners and times, directory times (deepest last written first). */
  private putRight(): void {
    const inParent = (key: string): [number, string] => {
      const slash = key.lastIndexOf('/');
      return [this.dirFd(slash < 0 ? '' : key.slice(0, slash)), key.slice(slash + 1)];
    };
    const bestEffort = (fn: () => void): void => {
      try {
        fn();
      } catch {
        // changed by the container meanwhile: left as it is
      }
    };
    for (const s of this.setIds) {
      bestEffort(() => {
        const [dir, name] = inParent(s.key);
        const fd = openSync(fdPath(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        try {
          if (fstatSync(fd).isFile()) fchmodSync(fd, s.mode);
        } finally {
          closeSync(fd);
        }
      });
    }
    for (const l of this.links) {
      bestEffort(() => {
        const [dir, name] = inParent(l.key);
        // neither call follows the link
        lchownSync(fdPath(dir, name), l.uid, l.gid);
        lutimesSync(fdPath(dir, name), l.mtime, l.mtime);
      });
    }
    for (const d of this.dirTimes.reverse()) bestEffort(() => futimesSync(this.dirFd(d.key), d.mtime, d.mtime));
  }
}
