// Reading a json-file log for `docker logs` and for attach replays: tail,
// since/until, timestamps, stdcopy framing, and follow until the process's
// output has ended.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ChangeWaiter } from './change-waiter.js';
import { nowNs, secondsToNs } from '../../clock/index.js';
import { decodeLogLines, streamId, type LoggedLine } from './jsonlog.js';
import { tailOffset } from './log-tail.js';
import { logGeneration, readRotated, readRotatedIndex, rotatedFiles, type RotatedFile } from './log-files.js';
import { frameEach } from '../../stdcopy/index.js';
import { formatRfc3339Nano } from './timefmt.js';
import type { LogReadOptions } from './types.js';

const BLOCK = 64 * 1024;

export interface ScanOptions {
  tail: number | 'all';
  follow: boolean;
  /** read only bytes before this offset (and never follow) */
  endOffset?: number;
  ended?: Promise<void>;
  /** stop following once the wall clock passes this time */
  untilNs?: bigint;
  signal: AbortSignal;
}

/**
 * Entries of a json-file log in file order, one batch per block read (never
 * empty); lines that are not entries are skipped. Batches keep the per-entry
 * cost of async iteration and of socket writes off long logs. Rotated files
 * come first (oldest first), and a follow goes on into the new file when the
 * current one is rotated away.
 */
export async function* scanLogEntries(path: string, opts: ScanOptions): AsyncGenerator<LoggedLine[]> {
  let ended = false;
  let waiter = new ChangeWaiter(path);
  const onEnded = (): void => {
    ended = true;
    waiter.poke();
  };
  opts.ended?.then(onEnded, onEnded);
  let fh: FileHandle | undefined;
  try {
    const following = opts.follow && opts.endOffset === undefined;
    // A container that never ran has no log yet: empty, or wait for it when following.
    let generation = logGeneration(path);
    for (;;) {
      fh = await fsp.open(path, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (fh !== undefined || !following || ended || opts.signal.aborted) break;
      await waiter.wait(opts.signal);
    }
    // An attach replay (endOffset) covers the current file only.
    const rotated = opts.endOffset === undefined ? await rotatedFiles(path) : [];
    if (fh === undefined) {
      for (const file of rotated) yield* blocks(await readRotated(file));
      return;
    }

    const startSize = opts.endOffset ?? (await fh.stat()).size;
    let ino = (await fh.stat()).ino;
    let pos = opts.tail === 'all' ? 0 : await tailOffset(fh, startSize, opts.tail);
    if (rotated.length > 0) {
      // The current file may hold fewer lines than the tail asks for: the rest come from rotated files.
      const wanted = opts.tail === 'all' ? Infinity : pos > 0 ? 0 : opts.tail - (await countLines(fh, startSize));
      for (const data of await olderLines(rotated, wanted)) {
        if (opts.signal.aborted) return;
        yield* blocks(data);
      }
    }
    let rest: Buffer = Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(BLOCK);
    let finalPass = false;
    for (;;) {
      const limit = opts.endOffset ?? Number.MAX_SAFE_INTEGER;
      while (pos < limit && !opts.signal.aborted) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(BLOCK, limit - pos), pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        const data = rest.length === 0 ? buf.subarray(0, bytesRead) : Buffer.concat([rest, buf.subarray(0, bytesRead)]);
        const { entries, consumed } = decodeLogLines(data);
        rest = Buffer.from(data.subarray(consumed));
        if (entries.length > 0) yield entries;
      }
      if (following && !opts.signal.aborted) {
        // Rotated away (everything in the old file has been read): go on with the new file.
        const now = await fsp.stat(path).catch(() => undefined);
        if (now !== undefined && now.ino !== ino) {
          await fh.close();
          fh = await fsp.open(path, 'r');
          // Files made and rotated away while this follow slept.
          const current = logGeneration(path);
          for (let g = generation + 1; g < current; g++) yield* blocks(await readRotatedIndex(path, current - g));
          generation = current;
          ino = (await fh.stat()).ino;
          pos = 0;
          rest = Buffer.alloc(0);
          waiter.close();
          waiter = new ChangeWaiter(path);
          continue;
        }
      }
      if (!following || finalPass || opts.signal.aborted) return;
      if (opts.untilNs !== undefined && nowNs() > opts.untilNs) return;
      if (ended) {
        // The log is flushed once `ended` resolves: one last read, then stop.
        finalPass = true;
        continue;
      }
      await waiter.wait(opts.signal);
      const { size } = await fh.stat();
      if (size < pos) {
        // Truncated underneath us: start over.
        pos = 0;
        rest = Buffer.alloc(0);
      }
    }
  } finally {
    waiter.close();
    await fh?.close();
  }
}

/** Entries of a whole buffer of log lines, in batches of about one read block. */
function* blocks(data: Buffer): Generator<LoggedLine[]> {
  for (let start = 0; start < data.length; ) {
    let end = Math.min(start + BLOCK, data.length);
    const nl = data.indexOf(0x0a, end - 1);
    end = nl === -1 ? data.length : nl + 1;
    const { entries } = decodeLogLines(data.subarray(start, end));
    if (entries.length > 0) yield entries;
    start = end;
  }
}

/** Complete lines among the first `size` bytes of a file. */
async function countLines(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.allocUnsafe(BLOCK);
  let lines = 0;
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(BLOCK, size - pos), pos);
    if (bytesRead === 0) break;
    for (let i = buf.indexOf(0x0a); i !== -1 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) lines++;
    pos += bytesRead;
  }
  return lines;
}

/** The last `wanted` lines of the rotated files (oldest first), as one buffer per file. */
async function olderLines(rotated: readonly RotatedFile[], wanted: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let left = wanted;
  for (let i = rotated.length - 1; i >= 0 && left > 0; i--) {
    const data = await readRotated(rotated[i] as RotatedFile);
    let start = data.length;
    while (left > 0 && start > 0) {
      // Skip the newline that ends the line before `start` (lastIndexOf takes a negative offset from the end).
      const from = start - 2;
      start = (from < 0 ? -1 : data.lastIndexOf(0x0a, from)) + 1;
      left--;
    }
    out.unshift(start === 0 ? data : data.subarray(start));
  }
  return out;
}

/**
 * Entries as a client reads them: each with an optional timestamp prefix,
 * one stdcopy frame per entry unless the output is raw (TTY), all in one buffer.
 */
export function renderEntries(entries: readonly LoggedLine[], timestamps: boolean, multiplexed: boolean): Buffer {
  // Lines of one read of the output share a time: format it once.
  let stampNs = -1n;
  let stamp = '';
  const textOf = (entry: LoggedLine): string => {
    if (!timestamps) return entry.text;
    if (entry.timeNs !== stampNs) {
      stampNs = entry.timeNs;
      stamp = `${formatRfc3339Nano(stampNs, true)} `;
    }
    return stamp + entry.text;
  };
  if (multiplexed) return frameEach(entries.map((entry) => ({ stream: streamId(entry.stream), text: textOf(entry) })));
  let run = '';
  for (const entry of entries) run += textOf(entry);
  return Buffer.from(run);
}

async function* logChunks(path: string, opts: LogReadOptions, signal: AbortSignal): AsyncGenerator<Buffer> {
  const sinceNs = opts.since > 0 ? secondsToNs(opts.since) : undefined;
  const untilNs = opts.until > 0 ? secondsToNs(opts.until) : undefined;
  const entries = scanLogEntries(path, {
    tail: opts.tail,
    follow: opts.follow,
    ...(opts.ended !== undefined ? { ended: opts.ended } : {}),
    ...(untilNs !== undefined ? { untilNs } : {}),
    signal,
  });
  for await (const batch of entries) {
    const wanted: LoggedLine[] = [];
    let past = false;
    for (const entry of batch) {
      if (entry.stream === 'stdout' ? !opts.stdout : !opts.stderr) continue;
      if (sinceNs !== undefined && entry.timeNs < sinceNs) continue;
      if (untilNs !== undefined && entry.timeNs > untilNs) {
        past = true;
        break;
      }
      wanted.push(entry);
    }
    if (wanted.length > 0) yield renderEntries(wanted, opts.timestamps, opts.multiplexed);
    if (past) return;
  }
}

/** A Readable over an async generator whose pending waits end when the stream is destroyed. */
class GeneratorStream extends Readable {
  private pumping = false;

  constructor(
    private readonly source: AsyncGenerator<Buffer>,
    private readonly controller: AbortController,
  ) {
    super();
  }

  override _read(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const next = await this.source.next();
        if (this.destroyed) return;
        if (next.done === true) {
          this.push(null);
          return;
        }
        if (!this.push(next.value)) return;
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.pumping = false;
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.controller.abort();
    this.source.return(undefined).then(
      () => cb(err),
      () => cb(err),
    );
  }
}

/** `docker logs` over a json-file log (the LogReader of the contract). */
export function readLogs(logPath: string, opts: LogReadOptions): Readable {
  const controller = new AbortController();
  const stream = new GeneratorStream(logChunks(logPath, opts, controller.signal), controller);
  if (opts.signal !== undefined) {
    const onAbort = (): void => {
      stream.destroy();
    };
    if (opts.signal.aborted) queueMicrotask(onAbort);
    else {
      opts.signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => opts.signal?.removeEventListener('abort', onAbort));
    }
  }
  return stream;
}
