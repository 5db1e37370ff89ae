// Contract of the container I/O module (src/daemon/io): FIFOs between berthd
// and the shim, the json-file log, live attach fan-out and stdin.
import type { Readable, Writable } from 'node:stream';
import type { LogFileOptions } from './log-writer.js';

/** A hijacked (or streamed) connection for attach/exec. */
export interface HijackedConnection {
  /** client-to-server bytes (stdin); null when the client did not upgrade the connection */
  input: Readable | null;
  /** server-to-client bytes */
  output: Writable;
  /** true when the client upgraded (Connection: Upgrade) */
  upgraded: boolean;
  close(): void;
  /** called once when the peer closes */
  onClose(cb: () => void): void;
}

export interface FifoPaths {
  /** '' when the process has no stdin */
  stdin: string;
  stdout: string;
  /** '' when terminal is true (the pty merges stderr into stdout) */
  stderr: string;
}

export interface OpenIOOptions {
  /** directory for the FIFOs, e.g. <exec-root>/containers/<id> */
  dir: string;
  /** FIFO name prefix: 'init' for the container's main process, the exec id for execs */
  prefix: string;
  openStdin: boolean;
  /** close the process's stdin when the first attached client's stdin ends */
  stdinOnce: boolean;
  tty: boolean;
  /** json-file log path; undefined for execs (their output goes only to the attached client) and the none driver */
  logPath?: string;
  /** rotation and per-entry attributes of the log (log driver options) */
  logOptions?: LogFileOptions;
  /**
   * Called once berthd's end of the stdin FIFO is flushed and closed
   * (closeStdin, or the end of a stdin-once client's input). The shim holds a
   * writer of its own on that FIFO, so the process sees EOF only after the
   * owner calls tasks.closeIO — once the process has been started.
   */
  onStdinClosed?: () => void;
}

/** Opens a process's I/O (openProcessIO with the daemon's logger and FIFO pool). */
export type ProcessIOOpener = (opts: OpenIOOptions) => Promise<ProcessIO>;

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** replay the log before streaming live output */
  logs: boolean;
  /** stream live output (false with logs=true: replay and end) */
  stream: boolean;
  /**
   * Frame output with stdcopy; defaults to !tty. Exec start decides this from
   * its own request's Tty flag, as dockerd does.
   */
  multiplexed?: boolean;
  /** Input sequence that detaches this client (TTY only); default ctrl-p,ctrl-q. */
  detachKeys?: Buffer;
  /** Called when the client detached with its detach keys. */
  onDetach?: () => void;
}

/** Live I/O of one process (container init or exec). */
export interface ProcessIO {
  readonly fifos: FifoPaths;
  readonly tty: boolean;
  /**
   * Serve one client on a hijacked connection: output framed with stdcopy when
   * !tty, raw when tty; its input (if any and opts.stdin) goes to the process's
   * stdin. Resolves when the client leaves or the process's output ends.
   */
  attach(conn: HijackedConnection, opts: AttachOptions): Promise<void>;
  /** Close the process's stdin (EOF). */
  closeStdin(): void;
  /**
   * The shim has created the process (Tasks.Create or Exec returned), so it
   * holds the stdin FIFO open: connect stdin now rather than at the next poll.
   */
  shimReady(): void;
  /** Resolves once stdout/stderr reached EOF and the log is flushed (after the process exits). */
  drained(): Promise<void>;
  /** Close every FIFO and file and remove the FIFOs. */
  close(): Promise<void>;
}

export interface LogReadOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  /** number of last lines, or 'all' */
  tail: number | 'all';
  /** unix seconds (fractional); 0 = no bound */
  since: number;
  until: number;
  timestamps: boolean;
  /** frame with stdcopy (false for tty containers) */
  multiplexed: boolean;
  /** for follow: resolves when the container stops producing output (its process exited and IO drained) */
  ended?: Promise<void>;
  signal?: AbortSignal;
}

export type LogReader = (logPath: string, opts: LogReadOptions) => Readable;
