// A socket read into one buffer that is reused for every read. Node's own
// reads allocate a fresh 64 KiB buffer each time; bin/berthd sets glibc's
// mmap threshold to 32 KiB (it keeps the idle RSS low), so each of those is
// an mmap, sixteen page faults and later an munmap, and the dead buffers
// pile up outside the heap until a collection. For bulk stdin that was
// about half of berthd's CPU per byte.
//
// Node offers this (the `onread` option) only for sockets it creates; an
// accepted, upgraded connection is switched over through the same fields
// that option sets. Where they are missing (another Node, a TLS socket),
// borrowReads answers undefined and the caller keeps 'data' events.
import { Socket } from 'node:net';

/** Takes a view of the shared buffer; true when the next read may overwrite it. */
export type BorrowedChunk = (view: Buffer) => boolean;

export interface BorrowedReads {
  /** Read again after onChunk answered false. */
  resume(): void;
  /** Stop delivering: later input is read and dropped. */
  stop(): void;
}

interface UserBufferHandle {
  reading: boolean;
  useUserBuffer(buf: Uint8Array): void;
}

const READ_SIZE = 64 * 1024;

function symbolNamed(target: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(target).find((s) => s.description === description);
}

export function borrowReads(socket: Socket, onChunk: BorrowedChunk): BorrowedReads | undefined {
  // Only a plain stream socket: a TLS socket's handle decrypts into its own buffers.
  if (Object.getPrototypeOf(socket) !== Socket.prototype || socket.destroyed) return undefined;
  const handle = (socket as unknown as { _handle: Partial<UserBufferHandle> | null })._handle;
  if (handle === null || typeof handle.useUserBuffer !== 'function') return undefined;
  const kBuffer = symbolNamed(socket, 'kBuffer');
  const kBufferCb = symbolNamed(socket, 'kBufferCb');
  if (kBuffer === undefined || kBufferCb === undefined) return undefined;

  let stopped = false;
  const buffer = Buffer.allocUnsafeSlow(READ_SIZE);
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[kBuffer] = buffer;
  fields[kBufferCb] = (nread: number, buf: Buffer): boolean => (stopped ? true : onChunk(buf.subarray(0, nread)));
  handle.useUserBuffer(buffer);
  // Socket._read starts the handle's reads when they are stopped.
  const readOn = (): void => {
    if (!socket.destroyed && handle.reading !== true) socket._read(READ_SIZE);
  };
  const reads: BorrowedReads = {
    resume(): void {
      if (!stopped) readOn();
    },
    stop(): void {
      // What still comes is read and dropped: input left unread when the
      // connection closes would make the kernel reset it, and the client
      // would report the reset instead of the process's exit.
      stopped = true;
      readOn();
    },
  };
  // Nothing consumes the stream itself any more, so nothing else would start them.
  reads.resume();
  return reads;
}
