// Live I/O of one process: FIFOs to the shim, the json-file log, fan-out of
// live output to attached clients, and stdin.
import { promises as fsp } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { HijackedConnection } from './types.js';
import { silentLogger, type Logger } from '../../log/index.js';
import { attachClient, type IOHub } from './attach.js';
import { nowNs } from '../../clock/index.js';
import { makeFifo, openFifoReader, removeFifo } from './fifo.js';
import { LineSplitter, type OutputStream } from './jsonlog.js';
import { LogFileWriter } from './log-writer.js';
import type { OutputClient } from './output-client.js';
import { StdinPipe } from './stdin-pipe.js';
import type { AttachOptions, FifoPaths, OpenIOOptions, ProcessIO } from './types.js';

/** Makes a FIFO at a path, keeping a FIFO already there (makeFifo, or a FifoPool's make). */
export type FifoMaker = (path: string) => Promise<void>;

/** Create the FIFOs (and open the log) of a process about to be created by the shim. */
export async function openProcessIO(opts: OpenIOOptions, logger: Logger = silentLogger(), fifoMaker: FifoMaker = makeFifo): Promise<ProcessIO> {
  await fsp.mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const fifos: FifoPaths = {
    stdin: opts.openStdin ? join(opts.dir, `${opts.prefix}-stdin`) : '',
    stdout: join(opts.dir, `${opts.prefix}-stdout`),
    stderr: opts.tty ? '' : join(opts.dir, `${opts.prefix}-stderr`),
  };
  const paths = [fifos.stdin, fifos.stdout, fifos.stderr].filter((p) => p !== '');
  await Promise.all(paths.map((p) => fifoMaker(p)));
  let writer: LogFileWriter | undefined;
  try {
    writer = opts.logPath !== undefined ? await LogFileWriter.open(opts.logPath, logger, opts.logOptions) : undefined;
    return new PipeProcessIO(fifos, opts, writer, logger);
  } catch (err) {
    await writer?.close();
    await Promise.all(paths.map((p) => removeFifo(p)));
    throw err;
  }
}

class PipeProcessIO implements ProcessIO, IOHub {
  readonly fifos: FifoPaths;
  readonly tty: boolean;
  readonly logPath: string | undefined;
  readonly stdinOnce: boolean;
  readonly outputDone: Promise<void>;
  outputEnded = false;

  private readonly readers = new Map<OutputStream, Socket>();
  private readonly splitters = new Map<OutputStream, LineSplitter>();
  private readonly clients = new Set<OutputClient>();
  private readonly stdin: StdinPipe | undefined;
  private readonly drainedPromise: Promise<void>;
  private stdinClosed = false;
  private openReaders = 0;
  private paused = false;
  private closing: Promise<void> | undefined;
  private markOutputDone!: () => void;

  constructor(
    fifos: FifoPaths,
    opts: OpenIOOptions,
    private readonly writer: LogFileWriter | undefined,
    private readonly log: Logger,
  ) {
    this.fifos = fifos;
    this.tty = opts.tty;
    this.logPath = opts.logPath;
    this.stdinOnce = opts.stdinOnce;
    this.outputDone = new Promise((resolve) => (this.markOutputDone = resolve));
    this.drainedPromise = this.outputDone.then(async () => {
      await this.writer?.flushed();
    });

    if (fifos.stdin !== '') {
      this.stdin = new StdinPipe(fifos.stdin, log, opts.onStdinClosed);
    }
    this.openReader('stdout', fifos.stdout);
    if (fifos.stderr !== '') this.openReader('stderr', fifos.stderr);
  }

  get hasStdin(): boolean {
    return this.stdin !== undefined;
  }

  attach(conn: HijackedConnection, opts: AttachOptions): Promise<void> {
    return attachClient(this, conn, opts, this.log);
  }

  shimReady(): void {
    this.stdin?.openNow();
  }

  closeStdin(): void {
    if (this.stdin === undefined || this.stdinClosed) return;
    this.stdinClosed = true;
    this.stdin.end();
  }

  drained(): Promise<void> {
    return this.drainedPromise;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  addClient(client: OutputClient): void {
    this.clients.add(client);
  }

  removeClient(client: OutputClient): void {
    this.clients.delete(client);
  }

  async logFlushed(): Promise<number> {
    return this.writer === undefined ? 0 : this.writer.flushed();
  }

  pendingPartials(): { stream: OutputStream; data: Buffer }[] {
    const out: { stream: OutputStream; data: Buffer }[] = [];
    for (const [stream, splitter] of this.splitters) {
      const data = splitter.peek();
      if (data.length > 0) out.push({ stream, data });
    }
    return out;
  }

  writeStdin(data: Buffer): boolean {
    if (this.stdin === undefined || this.stdinClosed) return true;
    return this.stdin.write(data);
  }

  writeStdinBorrowed(view: Buffer, onFree: () => void): boolean {
    if (this.stdin === undefined || this.stdinClosed) return true;
    return this.stdin.writeBorrowed(view, onFree);
  }

  onStdinDrain(cb: () => void): void {
    if (this.stdin === undefined || this.stdinClosed) {
      cb();
      return;
    }
    this.stdin.onDrain(cb);
  }

  private openReader(stream: OutputStream, path: string): void {
    const reader = openFifoReader(path);
    this.readers.set(stream, reader);
    this.openReaders++;
    const writer = this.writer;
    if (writer !== undefined) {
      this.splitters.set(stream, new LineSplitter(stream, (entry) => writer.append(entry)));
    }
    reader.on('data', (chunk: Buffer) => this.onOutput(stream, chunk));
    let ended = false;
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      this.onReaderEnd(stream);
    };
    reader.once('end', onEnd);
    reader.once('close', onEnd);
    reader.on('error', (err) => {
      this.log.debug({ err, stream }, 'reading process output failed');
      onEnd();
    });
  }

  private onOutput(stream: OutputStream, chunk: Buffer): void {
    this.splitters.get(stream)?.push(chunk, nowNs());
    for (const client of this.clients) client.deliver(stream, chunk);
    // Only the log may hold the process back (as in dockerd); clients never do.
    if (this.writer?.congested === true && !this.paused) {
      this.paused = true;
      for (const r of this.readers.values()) r.pause();
      this.writer.onDrain(() => {
        this.paused = false;
        for (const r of this.readers.values()) r.resume();
      });
    }
  }

  private onReaderEnd(stream: OutputStream): void {
    this.splitters.get(stream)?.flush(nowNs());
    this.openReaders--;
    if (this.openReaders > 0) return;
    this.outputEnded = true;
    this.markOutputDone();
  }

  private async doClose(): Promise<void> {
    this.stdinClosed = true;
    this.stdin?.destroy();
    for (const reader of this.readers.values()) reader.destroy();
    await this.drainedPromise;
    await this.writer?.close();
    await Promise.all([this.fifos.stdin, this.fifos.stdout, this.fifos.stderr].map((p) => removeFifo(p)));
  }
}
