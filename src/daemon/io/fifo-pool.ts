// FIFOs made ahead of need. Node cannot call mkfifo(3), so each FIFO made on
// demand costs a fork and exec of mkfifo(1) on the path of `docker run` and
// `docker exec` (several milliseconds, and the fork blocks the event loop).
// The pool makes spares in batches, one process per batch, in a folder on
// the same filesystem, and hands one out with link(2) + unlink(2).
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type Logger } from '../../log/index.js';
import { makeFifo } from './fifo.js';

const execFileAsync = promisify(execFile);

export interface FifoPoolOptions {
  /** spares kept at most */
  size?: number;
  /** a refill starts once fewer spares than this are left */
  lowWater?: number;
  logger?: Logger;
}

export class FifoPool {
  private readonly spares: string[] = [];
  private readonly size: number;
  private readonly lowWater: number;
  private readonly log: Logger;
  private refilling: Promise<void> | undefined;
  private serial = 0;
  private closed = false;
  /** set after a batch failed: no more tries, every FIFO is made on demand */
  private broken = false;

  private constructor(
    private readonly dir: string,
    opts: FifoPoolOptions,
  ) {
    this.size = opts.size ?? 64;
    this.lowWater = opts.lowWater ?? Math.ceil(this.size / 2);
    this.log = opts.logger ?? silentLogger();
  }

  /** A pool in `dir` (emptied first: spares of an earlier run are not trusted); the first batch is made in the background. */
  static async open(dir: string, opts: FifoPoolOptions = {}): Promise<FifoPool> {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const pool = new FifoPool(dir, opts);
    pool.refillIfLow();
    return pool;
  }

  /** Spares ready now. */
  get available(): number {
    return this.spares.length;
  }

  /**
   * A FIFO at `path` (mode 0600), as makeFifo: an existing FIFO there is
   * kept, since a shim may hold it open (live restore).
   */
  async make(path: string): Promise<void> {
    const spare = this.spares.pop();
    this.refillIfLow();
    if (spare !== undefined) {
      try {
        await fsp.link(spare, path);
        await fsp.unlink(spare).catch(() => undefined);
        return;
      } catch (err) {
        // EEXIST and anything else: makeFifo decides (reuse a FIFO, or report).
        await fsp.unlink(spare).catch(() => undefined);
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') this.log.debug({ err, path }, 'handing out a spare FIFO failed');
      }
    }
    await makeFifo(path);
  }

  /** Waits for a refill under way (tests, shutdown). */
  async settled(): Promise<void> {
    await this.refilling;
  }

  /** Stops refilling and removes the spares. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refilling;
    this.spares.length = 0;
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  private refillIfLow(): void {
    if (this.closed || this.broken || this.refilling !== undefined || this.spares.length >= this.lowWater) return;
    this.refilling = this.refill().finally(() => {
      this.refilling = undefined;
    });
  }

  private async refill(): Promise<void> {
    const paths = Array.from({ length: this.size - this.spares.length }, () => join(this.dir, String(this.serial++)));
    try {
      await execFileAsync('mkfifo', ['-m', '600', '--', ...paths]);
    } catch (err) {
      // Spares are an optimisation: without them each FIFO is made on demand.
      this.broken = true;
      this.log.warn({ err: String(err), dir: this.dir }, 'making spare FIFOs failed; FIFOs are made on demand from now on');
      await Promise.all(paths.map((p) => fsp.rm(p, { force: true })));
      return;
    }
    if (this.closed) return;
    this.spares.push(...paths);
  }
}
