// The process's stdin: input is queued (with backpressure) until the shim
// has opened the FIFO's reading end, then written into the FIFO directly.
// Ending it closes berthd's writer once everything is flushed; the shim
// keeps a writer of its own, so the owner is told (onClosed) to finish with
// tasks.closeIO.
import type { Socket } from 'node:net';
import type { Logger } from '../../log/index.js';
import { STDIN_QUEUE, tryOpenFifoWriter } from './fifo.js';

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

export class StdinPipe {
  /** input that arrived before the FIFO was open */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private fifo: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private destroyed = false;
  /** the FIFO cannot be written (no reader any more, or it could not be opened): input is discarded */
  private broken = false;
  private drainWaiters: (() => void)[] = [];
  private pollDelay = FIRST_POLL_MS;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly onClosed?: () => void,
  ) {
    this.tryOpen();
  }

  /** The shim has the FIFO open by now: try at once instead of at the next poll. */
  openNow(): void {
    if (this.fifo !== undefined || this.destroyed || this.broken) return;
    clearTimeout(this.timer);
    this.tryOpen();
  }

  /** false when the caller should wait for onDrain. */
  write(data: Buffer): boolean {
    if (this.ended || this.destroyed || this.broken) return true;
    if (this.fifo !== undefined) return this.fifo.write(data);
    this.early.push(data);
    this.earlyBytes += data.length;
    return this.earlyBytes < STDIN_QUEUE;
  }

  /**
   * Writes a view of a buffer the caller reuses. true when the caller may
   * overwrite it and read more now; otherwise onFree is called once it may.
   */
  writeBorrowed(view: Buffer, onFree: () => void): boolean {
    if (this.ended || this.destroyed || this.broken) return true;
    const fifo = this.fifo;
    if (fifo === undefined) {
      if (this.write(Buffer.from(view))) return true;
      this.onDrain(onFree);
      return false;
    }
    let waiting = false;
    let freed = false;
    const free = (): void => {
      if (!waiting || freed) return;
      freed = true;
      onFree();
    };
    fifo.write(view, free);
    // Nothing queued: the pipe took all of it synchronously.
    if (fifo.writableLength === 0) return true;
    waiting = true;
    // Also when the FIFO breaks or is destroyed with the write still queued.
    this.drainWaiters.push(free);
    return false;
  }

  onDrain(cb: () => void): void {
    if (this.ended || this.destroyed || this.broken || !this.needsDrain()) {
      cb();
      return;
    }
    this.drainWaiters.push(cb);
  }

  /** EOF for the process, after what was written so far has reached the FIFO. */
  end(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.fifo?.end();
    this.fireDrain();
  }

  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.timer);
    this.early = [];
    this.fifo?.destroy();
    this.fireDrain();
  }

  private needsDrain(): boolean {
    return this.fifo === undefined ? this.earlyBytes >= STDIN_QUEUE : this.fifo.writableNeedDrain;
  }

  private fireDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const cb of waiters) cb();
  }

  /** Opens the FIFO, or polls for its reader from 10 ms, doubling to 100 ms (until openNow). */
  private tryOpen(): void {
    if (this.destroyed) return;
    let fifo: Socket | undefined;
    try {
      fifo = tryOpenFifoWriter(this.path);
    } catch (err) {
      this.log.warn({ err, path: this.path }, 'cannot open the stdin FIFO; input is discarded');
      this.broken = true;
      this.early = [];
      this.fireDrain();
      return;
    }
    if (fifo === undefined) {
      this.timer = setTimeout(() => this.tryOpen(), this.pollDelay);
      this.timer.unref();
      this.pollDelay = Math.min(this.pollDelay * 2, MAX_POLL_MS);
      return;
    }
    this.fifo = fifo;
    fifo.once('close', () => {
      if (this.ended && !this.destroyed) this.onClosed?.();
    });
    fifo.on('error', (err) => {
      // EPIPE: the process (or its shim) went away; drop further input.
      this.log.debug({ err }, 'process stdin closed');
      this.broken = true;
      this.fireDrain();
    });
    fifo.on('drain', () => this.fireDrain());
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const data of early) fifo.write(data);
    if (this.ended) fifo.end();
    if (!fifo.writableNeedDrain) this.fireDrain();
  }
}
