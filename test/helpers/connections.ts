// An in-memory hijacked connection for driving attach/exec without a socket,
// and a demultiplexer for what it received.
import { PassThrough } from 'node:stream';
import type { HijackedConnection } from '../../src/api/types.js';
import { demux as demuxFrames } from '../../src/stdcopy/index.js';

export interface MemoryConnection {
  conn: HijackedConnection;
  /** what the client types (stdin) */
  input: PassThrough;
  /** everything the server wrote so far */
  output(): Buffer;
  /** resolves when the server closed the connection */
  closed: Promise<void>;
}

export function memoryConnection(): MemoryConnection {
  const input = new PassThrough();
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  let done = false;
  const onClose: Array<() => void> = [];
  return {
    input,
    output: () => Buffer.concat(chunks),
    closed,
    conn: {
      input,
      output,
      upgraded: true,
      close() {
        if (done) return;
        done = true;
        output.end();
        markClosed();
        for (const cb of onClose) cb();
      },
      onClose(cb) {
        onClose.push(cb);
      },
    },
  };
}

/** stdout and stderr text of a stdcopy-framed buffer. */
export function demux(buf: Buffer): { stdout: string; stderr: string } {
  const { stdout, stderr } = demuxFrames(buf);
  return { stdout: stdout.toString(), stderr: stderr.toString() };
}
