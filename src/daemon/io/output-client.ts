// The output side of one attached client. Writes never wait for the client:
// when a client falls more than CLIENT_BUFFER_CAP bytes behind, further
// output for it is dropped (whole frames, so stdcopy framing stays valid)
// until it catches up, so a slow client never stalls the process, the log or
// the other clients.
import type { Writable } from 'node:stream';
import type { Logger } from '../../log/index.js';
import { streamId, type OutputStream } from './jsonlog.js';
import { frameHeader, frameLines } from '../../stdcopy/index.js';

export const CLIENT_BUFFER_CAP = 4 * 1024 * 1024;

export class OutputClient {
  /** frames held during a replay, each as the buffers that make it up */
  private held: Buffer[][] | undefined;
  private heldBytes = 0;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private dropped = 0;
  private gone = false;

  constructor(
    private readonly output: Writable,
    private readonly streams: { stdout: boolean; stderr: boolean },
    private readonly multiplexed: boolean,
    private readonly log: Logger,
    hold: boolean,
  ) {
    if (hold) this.held = [];
    output.on('error', () => this.markGone());
    output.once('close', () => this.markGone());
  }

  wants(stream: OutputStream): boolean {
    return stream === 'stdout' ? this.streams.stdout : this.streams.stderr;
  }

  /** Live output from the process. While held (during a log replay) it is queued. */
  deliver(stream: OutputStream, chunk: Buffer): void {
    if (!this.wants(stream) || chunk.length === 0) return;
    // A frame per line, as SDK users expect; one buffer per read of the
    // output. A chunk with no line break before its end is one frame: its
    // header and the chunk itself, not a copy of it.
    const nl = this.multiplexed ? chunk.indexOf(0x0a) : -1;
    const parts = !this.multiplexed ? [chunk] : nl === -1 || nl === chunk.length - 1 ? [frameHeader(streamId(stream), chunk.length), chunk] : [frameLines(streamId(stream), chunk)];
    const bytes = totalLength(parts);
    if (this.held !== undefined) {
      if (this.heldBytes + bytes > CLIENT_BUFFER_CAP) {
        this.noteDrop(bytes);
        return;
      }
      this.held.push(parts);
      this.heldBytes += bytes;
      return;
    }
    this.send(parts, bytes);
  }

  /** Write already-rendered bytes (replayed log) and wait until the client accepted them. */
  async writeNow(data: Buffer): Promise<void> {
    if (this.gone) return;
    if (!this.output.write(data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.output.off('drain', done);
          this.output.off('close', done);
          resolve();
        };
        this.output.on('drain', done);
        this.output.on('close', done);
      });
    }
  }

  /** Send what was held during the replay and switch to live delivery. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.heldBytes = 0;
    for (const parts of held) this.send(parts, totalLength(parts));
  }

  /** Resolves when every write handed to the client has been flushed (or the client is gone). */
  settled(): Promise<void> {
    if (this.inFlight === 0 || this.gone) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.idle;
      this.idle = () => {
        prev?.();
        resolve();
      };
    });
  }

  get isGone(): boolean {
    return this.gone;
  }

  /** One frame (or raw output), whole or not at all; several parts go out in one writev. */
  private send(parts: Buffer[], bytes: number): void {
    if (this.gone) return;
    if (this.output.writableLength > CLIENT_BUFFER_CAP) {
      this.noteDrop(bytes);
      return;
    }
    this.inFlight++;
    const last = parts.length - 1;
    if (last > 0) this.output.cork();
    for (let i = 0; i < last; i++) this.output.write(parts[i]);
    this.output.write(parts[last] as Buffer, () => {
      this.inFlight--;
      if (this.inFlight === 0) this.fireIdle();
    });
    if (last > 0) this.output.uncork();
  }

  private markGone(): void {
    this.gone = true;
    this.fireIdle();
  }

  private fireIdle(): void {
    const idle = this.idle;
    this.idle = undefined;
    idle?.();
  }

  private noteDrop(bytes: number): void {
    if (this.dropped === 0) this.log.warn('an attached client cannot keep up; dropping its output until it catches up');
    this.dropped += bytes;
  }
}

function totalLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
