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
    close: once(() => {
      if (socket.destroyed) return;
      // Send what is queued, then drop the connection whatever the client does.
      socket.end(() => socket.destroy());
    }),
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

