// Serving one attached client: optional log replay, live output through an
// OutputClient, and the client's input to the process's stdin.
import type { HijackedConnection } from './types.js';
import type { Logger } from '../../log/index.js';
import { Socket } from 'node:net';
import { borrowReads, type BorrowedReads } from './borrowed-reads.js';
import { DEFAULT_DETACH_KEYS, DetachScanner } from './detach-keys.js';
import { streamId, type OutputStream } from './jsonlog.js';
import { renderEntries, scanLogEntries } from './log-reader.js';
import { frameLines } from '../../stdcopy/index.js';
import { OutputClient } from './output-client.js';
import type { AttachOptions } from './types.js';

/** What a process's I/O offers to attached clients. */
export interface IOHub {
  readonly tty: boolean;
  readonly logPath: string | undefined;
  readonly stdinOnce: boolean;
  readonly hasStdin: boolean;
  /** true once stdout/stderr reached EOF */
  readonly outputEnded: boolean;
  /** resolves once stdout/stderr reached EOF (all output has been delivered to clients) */
  readonly outputDone: Promise<void>;
  addClient(client: OutputClient): void;
  removeClient(client: OutputClient): void;
  /** log file size once everything logged so far is on disk */
  logFlushed(): Promise<number>;
  /** bytes of incomplete lines, not yet in the log */
  pendingPartials(): { stream: OutputStream; data: Buffer }[];
  /** false when the caller should wait for onStdinDrain */
  writeStdin(data: Buffer): boolean;
  /** for a reused read buffer: false when `view` is still in use, until onFree */
  writeStdinBorrowed(view: Buffer, onFree: () => void): boolean;
  onStdinDrain(cb: () => void): void;
  closeStdin(): void;
}

export async function attachClient(hub: IOHub, conn: HijackedConnection, opts: AttachOptions, log: Logger): Promise<void> {
  const multiplexed = opts.multiplexed ?? !hub.tty;
  const replay = opts.logs && hub.logPath !== undefined;
  const live = opts.stream && !hub.outputEnded;
  const client = new OutputClient(conn.output, { stdout: opts.stdout, stderr: opts.stderr }, multiplexed, log, replay && live);

  let leave!: () => void;
  const left = new Promise<void>((resolve) => (leave = resolve));
  const abort = new AbortController();
  let clientClosed = false;
  conn.onClose(() => {
    clientClosed = true;
    abort.abort();
    leave();
  });

  if (live) hub.addClient(client);
  const stopInput = wireInput(hub, conn, opts, () => {
    opts.onDetach?.();
    abort.abort();
    leave();
  });

  try {
    if (replay && hub.logPath !== undefined) {
      // Replay exactly what reached the log before this client subscribed;
      // everything later arrives live, so nothing is lost or doubled.
      // Both captured in the same tick as the subscription above.
      const partials = hub.pendingPartials();
      const limit = await hub.logFlushed();
      const entries = scanLogEntries(hub.logPath, { tail: 'all', follow: false, endOffset: limit, signal: abort.signal });
      for await (const batch of entries) {
        if (client.isGone || abort.signal.aborted) break;
        const wanted = batch.filter((entry) => client.wants(entry.stream));
        if (wanted.length > 0) await client.writeNow(renderEntries(wanted, false, multiplexed));
      }
      if (live) {
        for (const partial of partials) {
          if (client.wants(partial.stream)) await client.writeNow(multiplexed ? frameLines(streamId(partial.stream), partial.data) : partial.data);
        }
        client.release();
      }
    }
    if (live) await Promise.race([hub.outputDone, left]);
  } finally {
    hub.removeClient(client);
    stopInput();
    if (!clientClosed) {
      await client.settled();
      conn.close();
    }
  }
}

/** Connect the client's input to stdin; returns a function that disconnects it. */
function wireInput(hub: IOHub, conn: HijackedConnection, opts: AttachOptions, detach: () => void): () => void {
  const input = conn.input;
  if (input === null) return () => {};
  if (!opts.stdin || !hub.hasStdin) {
    // Nobody reads it: discard so the client is never blocked writing.
    input.resume();
    return () => {};
  }
  const scanner = hub.tty ? new DetachScanner(opts.detachKeys ?? DEFAULT_DETACH_KEYS) : undefined;
  let active = true;
  let borrowed: BorrowedReads | undefined;
  const stop = (): void => {
    if (!active) return;
    active = false;
    borrowed?.stop();
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('close', onEnd);
  };
  const onData = (chunk: Buffer): void => {
    let data = chunk;
    if (scanner !== undefined) {
      const res = scanner.feed(chunk);
      data = res.data;
      if (res.detach) {
        if (data.length > 0) hub.writeStdin(data);
        stop();
        detach();
        return;
      }
    }
    if (data.length > 0 && !hub.writeStdin(data)) {
      input.pause();
      hub.onStdinDrain(() => input.resume());
    }
  };
  const onEnd = (): void => {
    stop();
    // As dockerd: end of a client's input closes the process's stdin only
    // for stdin-once processes without a TTY. Output keeps flowing.
    if (hub.stdinOnce && !hub.tty) hub.closeStdin();
  };
  input.once('end', onEnd);
  input.once('close', onEnd);
  // Without detach keys to look for, bulk input is read into one reused
  // buffer, once what the stream queued before the process was there has
  // gone to it.
  const socket = scanner === undefined && input instanceof Socket ? input : undefined;
  const borrowWhenTaken = (): void => {
    if (!active || socket === undefined) return;
    let chunk: Buffer | null;
    let room = true;
    while ((chunk = socket.read() as Buffer | null) !== null) room = hub.writeStdin(chunk) && room;
    if (!room) {
      hub.onStdinDrain(borrowWhenTaken);
      return;
    }
    borrowed = borrowReads(socket, (view) => hub.writeStdinBorrowed(view, () => borrowed?.resume()));
    if (borrowed === undefined) input.on('data', onData);
  };
  if (socket !== undefined) borrowWhenTaken();
  else input.on('data', onData);
  // An empty input can end before the client is wired (a pending attach waits
  // for the task): 'end' has gone by then, and the process would wait forever.
  if (input.readableEnded) onEnd();
  return stop;
}
