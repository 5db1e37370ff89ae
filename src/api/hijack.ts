// Handing a connection over to attach/exec. With `Connection: Upgrade` the raw
// socket carries stdin one way and the output stream the other; without it the
// output is an ordinary streamed 200 response and there is no stdin.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HijackedConnection } from './types.js';

function once(cb: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    cb();
  };
}

/** How long input is still read and dropped after the output ended, for a client that never closes its side. */
const INPUT_LINGER_MS = 2000;

/**
 * Sends what is queued and ends the output. Input the client is still
 * sending (stdin of a process that has exited) is read and dropped until the
 * client closes its side: a Unix socket closed with input unread makes the
 * client's next read fail with "connection reset by peer" instead of seeing
 * the end of the output. The connection goes once both are done, or after
 * INPUT_LINGER_MS.
 */
function closeUpgraded(socket: Socket): void {
  if (socket.destroyed) return;
  let outputDone = false;
  let inputDone = socket.readableEnded;
  const finish = (): void => {
    if (outputDone && inputDone) socket.destroy();
  };
  socket.end(() => {
    outputDone = true;
    finish();
  });
  if (inputDone) return;
  const linger = setTimeout(() => {
    inputDone = true;
    finish();
  }, INPUT_LINGER_MS);
  linger.unref();
  socket.once('end', () => {
    clearTimeout(linger);
    inputDone = true;
    finish();
  });
  socket.once('close', () => clearTimeout(linger));
  socket.resume();
}

/**
 * Switches an upgraded socket to the raw protocol. The socket was opened with
 * allowHalfOpen, so when the client half-closes (the docker CLI does at stdin
 * EOF) `input` ends while `output` stays writable.
 */
export function upgradeConnection(socket: Socket, contentType: string): HijackedConnection {
  socket.setNoDelay(true);
  socket.setTimeout(0);
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
  );
  return {
    input: socket,
    output: socket,
    upgraded: true,
    close: once(() => closeUpgraded(socket)),
    onClose(cb) {
      if (socket.destroyed) {
        queueMicrotask(cb);
        return;
      }
      socket.once('close', once(cb));
    },
  };
}

/** A streamed 200 response for clients that attach without upgrading. */
export function streamConnection(res: ServerResponse, contentType: string): HijackedConnection {
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  return {
    input: null,
    output: res,
    upgraded: false,
    close: once(() => {
      if (!res.writableEnded) res.end();
    }),
    onClose(cb) {
      if (res.closed) {
        queueMicrotask(cb);
        return;
      }
      res.once('close', once(cb));
    },
  };
}

