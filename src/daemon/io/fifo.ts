// FIFOs between berthd and the containerd shim. Node has no mkfifo, so the
// coreutils binary creates them; they are opened non-blocking and wrapped in
// net.Socket, whose pipe handles are driven by epoll rather than the threadpool.
import { execFile } from 'node:child_process';
import { constants, openSync, promises as fsp } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { promisify } from 'node:util';
import { internal } from '../../errors/index.js';

const execFileAsync = promisify(execFile);

/** Bytes of input queued for the stdin FIFO before the client is paused. */
export const STDIN_QUEUE = 1024 * 1024;

/** Create a FIFO (mode 0600); an existing FIFO at that path is reused (e.g. after a daemon restart). */
export async function makeFifo(path: string): Promise<void> {
  try {
    await execFileAsync('mkfifo', ['-m', '600', path]);
  } catch (err) {
    const st = await fsp.lstat(path).catch(() => undefined);
    if (st?.isFIFO() === true) return;
    throw internal(`cannot create FIFO ${path}: ${(err as Error).message}`, err);
  }
}

/**
 * Reading end of an output FIFO. O_RDONLY (not O_RDWR) so that EOF arrives
 * once the shim closes its writing end; before any writer opened it, epoll
 * reports nothing, so there is no early EOF.
 */
export function openFifoReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/**
 * Writing end of the stdin FIFO, once the shim has opened its reading end.
 * A non-blocking O_WRONLY open fails with ENXIO until then; berthd never
 * holds the FIFO open for reading itself, so that input written before the
 * shim arrived is not lost when stdin is closed early (a pipe's buffer dies
 * with its last open file), and so that closing it is a real EOF for the shim.
 * Returns undefined while there is no reader.
 */
export function tryOpenFifoWriter(path: string): Socket | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return undefined;
    throw err;
  }
  // net.Socket passes stream options on (its types omit them): a deeper
  // queue keeps the FIFO full while the client's next reads arrive.
  const opts: SocketConstructorOpts & { writableHighWaterMark: number } = { fd, readable: false, writable: true, writableHighWaterMark: STDIN_QUEUE };
  return new Socket(opts);
}

export async function removeFifo(path: string): Promise<void> {
  if (path === '') return;
  await fsp.rm(path, { force: true });
}
