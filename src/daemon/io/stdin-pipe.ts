// The process's stdin: input is buffered (with backpressure) until the shim
// has opened the FIFO's reading end, then piped into it. Ending it closes
// berthd's writer once everything is flushed; the shim keeps a writer of its
// own, so the owner is told (onClosed) to finish with tasks.closeIO.
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Logger } from '../../log/index.js';
import { tryOpenFifoWriter } from './fifo.js';

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

export class StdinPipe {
  private readonly buffer = new PassThrough({ highWaterMark: 64 * 1024 });
  private fifo: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private destroyed = false;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly onClosed?: () => void,
  ) {
    this.buffer.setMaxListeners(0);
    this.tryOpen(FIRST_POLL_MS);
  }

  /** false when the caller should wait for onDrain. */
  write(data: Buffer): boolean {
    if (this.ended || this.destroyed) return true;
    return this.buffer.write(data);
  }

  onDrain(cb: () => void): void {
    if (this.ended || this.destroyed || !this.buffer.writableNeedDrain) {
      cb();
      return;
    }
    this.buffer.once('drain', cb);
  }

  /** EOF for the process, after what was written so far has reached the FIFO. */
  end(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.buffer.end();
  }

  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.timer);
    this.buffer.destroy();
    this.fifo?.destroy();
  }

  private tryOpen(delay: number): void {
    if (this.destroyed) return;
    let fifo: Socket | undefined;
    try {
      fifo = tryOpenFifoWriter(this.path);
    } catch (err) {
      this.log.warn({ err, path: this.path }, 'cannot open the stdin FIFO; input is discarded');
      this.buffer.resume();
      return;
    }
    if (fifo === undefined) {
      this.timer = setTimeout(() => this.tryOpen(Math.min(delay * 2, MAX_POLL_MS)), delay);
      this.timer.unref();
      return;
    }
    this.fifo = fifo;
    fifo.once('close', () => {
      if (this.ended && !this.destroyed) this.onClosed?.();
    });
    fifo.on('error', (err) => {
      // EPIPE: the process (or its shim) went away; drop further input.
      this.log.debug({ err }, 'process stdin closed');
      this.buffer.unpipe(fifo);
      this.buffer.resume();
    });
    this.buffer.pipe(fifo);
  }
}
