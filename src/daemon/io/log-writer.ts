// Appends json-file entries through a buffered write stream (writes are
// coalesced by the stream; no synchronous fs calls). Tracks byte offsets so a
// reader can replay exactly what was written before a given moment.
import { promises as fsp, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../log/index.js';
import { encodeLogEntry, type LogEntry } from './jsonlog.js';

/** Above this many unwritten bytes the producer should pause its input. */
const HIGH_WATER = 1024 * 1024;

export class LogFileWriter {
  private queued: number;
  private written: number;
  private waiters: { target: number; resolve: (offset: number) => void }[] = [];
  private failed = false;
  private closed = false;

  private constructor(
    private readonly stream: WriteStream,
    startSize: number,
    private readonly log: Logger,
    readonly path: string,
  ) {
    this.queued = startSize;
    this.written = startSize;
    stream.on('error', (err) => {
      if (!this.failed) this.log.warn({ err, path }, 'writing the container log failed; further output is not logged');
      this.failed = true;
      this.written = this.queued;
      this.wake();
    });
  }

  static async open(path: string, log: Logger): Promise<LogFileWriter> {
    await fsp.mkdir(dirname(path), { recursive: true });
    const fh = await fsp.open(path, 'a', 0o640);
    const { size } = await fh.stat();
    return new LogFileWriter(fh.createWriteStream(), size, log, path);
  }

  append(entry: LogEntry): void {
    if (this.failed || this.closed) return;
    const data = Buffer.from(encodeLogEntry(entry), 'utf8');
    this.queued += data.length;
    const target = this.queued;
    this.stream.write(data, (err) => {
      if (err) return;
      if (target > this.written) this.written = target;
      this.wake();
    });
  }

  /** True when the producer should pause until `onDrain`. */
  get congested(): boolean {
    return this.stream.writableLength > HIGH_WATER;
  }

  onDrain(cb: () => void): void {
    this.stream.once('drain', cb);
  }

  /** Resolves with the file size once everything appended so far is on disk. */
  flushed(): Promise<number> {
    const target = this.queued;
    if (this.written >= target) return Promise.resolve(target);
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushed();
    await new Promise<void>((resolve) => {
      this.stream.end(() => resolve());
      this.stream.once('error', () => resolve());
    });
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => w.target <= this.written);
    this.waiters = this.waiters.filter((w) => w.target > this.written);
    for (const w of ready) w.resolve(w.target);
  }
}
