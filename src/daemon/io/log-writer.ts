// Appends json-file entries through a buffered write stream (writes are
// coalesced by the stream; no synchronous fs calls). Tracks byte offsets so a
// reader can replay exactly what was written before a given moment. With a
// max-size, the file is rotated (log-files.ts) once the next entry would not
// fit; entries appended meanwhile wait in memory and go to the new file.
import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../log/index.js';
import { CHUNK_SIZE, takeChunk, type LogChunk } from './chunk-pool.js';
import { encodeLogAttrs, encodeLogEntryInto, logEntryBound, logEntryTail, type LogEntry } from './jsonlog.js';
import { shiftLogFiles } from './log-files.js';

/** Above this many unwritten bytes the producer should pause its input. */
const HIGH_WATER = 1024 * 1024;

export interface LogFileOptions {
  /** rotate before a file would grow past this many bytes */
  maxSize?: number;
  /** files kept, the current one included (default 1) */
  maxFile?: number;
  compress?: boolean;
  /** the `attrs` object every entry carries (labels, env, tag); none when empty */
  attrs?: Readonly<Record<string, string>>;
}

/** An encoded entry and the chunk holding it. */
interface Encoded {
  data: Buffer;
  chunk: LogChunk;
}

export class LogFileWriter {
  private queued: number;
  private written: number;
  private waiters: { target: number; resolve: (offset: number) => void }[] = [];
  private failed = false;
  private closed = false;
  private rotating: Promise<void> | undefined;
  private backlog: Encoded[] = [];
  private backlogBytes = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly attrs: string | undefined;
  /** where entries are encoded; retired at the end of each burst of appends */
  private chunk: LogChunk | undefined;
  private retireQueued = false;

  private constructor(
    private stream: WriteStream,
    startSize: number,
    private readonly log: Logger,
    readonly path: string,
    private readonly opts: LogFileOptions,
  ) {
    this.queued = startSize;
    this.written = startSize;
    this.attrs = opts.attrs !== undefined && Object.keys(opts.attrs).length > 0 ? encodeLogAttrs(opts.attrs) : undefined;
    this.watch(stream);
  }

  static async open(path: string, log: Logger, opts: LogFileOptions = {}): Promise<LogFileWriter> {
    await fsp.mkdir(dirname(path), { recursive: true });
    const fh = await fsp.open(path, 'a', 0o640);
    const { size } = await fh.stat();
    return new LogFileWriter(fh.createWriteStream(), size, log, path, opts);
  }

  append(entry: LogEntry): void {
    if (this.failed || this.closed) return;
    const tail = logEntryTail(entry, this.attrs);
    const bound = logEntryBound(entry, tail);
    let chunk = this.chunk;
    if (chunk === undefined || chunk.room() < bound) {
      chunk?.retire();
      chunk = takeChunk(bound);
      // An entry too big for a pooled chunk gets one of its own.
      this.chunk = bound > CHUNK_SIZE ? undefined : chunk;
      this.queueRetire();
    }
    const start = chunk.used;
    chunk.used = encodeLogEntryInto(entry, tail, chunk.buf, start);
    chunk.refs++;
    if (this.chunk !== chunk) chunk.retire();
    this.appendData({ data: chunk.buf.subarray(start, chunk.used), chunk });
  }

  /** The chunk goes back to the pool once this burst of output is written. */
  private queueRetire(): void {
    if (this.retireQueued) return;
    this.retireQueued = true;
    setImmediate(() => {
      this.retireQueued = false;
      this.chunk?.retire();
      this.chunk = undefined;
    });
  }

  private appendData(item: Encoded): void {
    const max = this.opts.maxSize;
    if (this.rotating === undefined && max !== undefined && this.queued > 0 && this.queued + item.data.length > max) this.rotate();
    if (this.rotating !== undefined) {
      this.backlog.push(item);
      this.backlogBytes += item.data.length;
      return;
    }
    this.write(item);
  }

  /** True when the producer should pause until `onDrain`. */
  get congested(): boolean {
    return this.backlogBytes > HIGH_WATER || this.stream.writableLength > HIGH_WATER;
  }

  onDrain(cb: () => void): void {
    this.drainWaiters.push(cb);
    if (this.rotating === undefined) this.stream.once('drain', () => this.fireDrain());
  }

  /** Resolves with the file size once everything appended so far is on disk. */
  async flushed(): Promise<number> {
    while (this.rotating !== undefined) await this.rotating;
    const target = this.queued;
    if (this.written >= target) return target;
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    await endStream(this.stream);
  }

  private write({ data, chunk }: Encoded): void {
    this.queued += data.length;
    const target = this.queued;
    const stream = this.stream;
    stream.write(data, (err) => {
      chunk.unref();
      if (err || stream !== this.stream) return;
      if (target > this.written) this.written = target;
      this.wake();
    });
  }

  private watch(stream: WriteStream): void {
    stream.on('error', (err) => {
      if (!this.failed) this.log.warn({ err, path: this.path }, 'writing the container log failed; further output is not logged');
      this.failed = true;
      this.written = this.queued;
      this.wake();
    });
  }

  private rotate(): void {
    const old = this.stream;
    this.rotating = (async () => {
      try {
        await endStream(old);
        // Everything written so far is in the old file: settle its waiters.
        this.written = this.queued;
        this.wake();
        await shiftLogFiles(this.path, this.opts.maxFile ?? 1, this.opts.compress === true);
        const fh = await fsp.open(this.path, 'a', 0o640);
        this.stream = fh.createWriteStream();
        this.watch(this.stream);
      } catch (err) {
        this.log.warn({ err, path: this.path }, 'rotating the container log failed; logging to a fresh file');
        this.stream = createWriteStream(this.path, { flags: 'a', mode: 0o640 });
        this.watch(this.stream);
      }
      this.queued = 0;
      this.written = 0;
      const backlog = this.backlog;
      this.backlog = [];
      this.backlogBytes = 0;
      this.rotating = undefined;
      // The backlog may fill several files: it goes through the same size check.
      for (const item of backlog) this.appendData(item);
      // Another rotation took over (and will wake producers), or producers paused on the old file wait for this one now.
      if (this.rotating !== undefined) return;
      if (this.congested) this.stream.once('drain', () => this.fireDrain());
      else this.fireDrain();
    })();
  }

  private fireDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const cb of waiters) cb();
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.target <= this.written);
    this.waiters = this.waiters.filter((w) => w.target > this.written);
    for (const w of ready) w.resolve(w.target);
  }
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    stream.end(() => resolve());
    stream.once('error', () => resolve());
  });
}
