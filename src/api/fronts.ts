// Listeners that accept through a plain net.Server and hand each connection
// on: to an HTTP server as is, or, after a look at its first byte, to the
// HTTPS server. Needed for TLS (a plain HTTP request to the TLS port gets a
// clear 400 instead of a reset) and for fd:// sockets, whose kind (Unix or
// TCP) is only known once listening.
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/index.js';

/** A TLS record of type handshake starts with 0x16; anything else is not TLS. */
const TLS_HANDSHAKE = 0x16;

const PLAIN_HTTP_TO_TLS =
  'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n' +
  'Client sent an HTTP request to an HTTPS server.\n';

export type ConnectionRoute = (socket: Socket) => void;

/**
 * A server that never listens itself still has to track its connections so
 * that closeIdleConnections() works: Node sets that up on 'listening'.
 */
export function adoptInner<S extends Server>(server: S): S {
  server.emit('listening');
  return server;
}

/**
 * Node's default answer to a bad request destroys the socket right after
 * writing it, which over TLS loses the answer: end it instead, with the same
 * statuses (431 for oversized headers, 400 otherwise).
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  });
}

export function plainRoute(server: Server): ConnectionRoute {
  return (socket) => {
    server.emit('connection', socket);
  };
}

/**
 * Waits for the first bytes (at most `timeoutMs`: a silent client is cut),
 * answers non-TLS with 400 and hands TLS to `server`, whose own
 * handshakeTimeout bounds the rest of the handshake.
 */
export function tlsRoute(server: Server, timeoutMs: number, logger: Logger): ConnectionRoute {
  return (socket) => {
    socket.on('error', (err) => logger.debug({ err: err.message }, 'TLS connection error before the handshake'));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (chunk[0] !== TLS_HANDSHAKE) {
        socket.end(PLAIN_HTTP_TO_TLS);
        return;
      }
      // TLSSocket takes the bytes already read from the socket's buffer first.
      socket.unshift(chunk);
      server.emit('connection', socket);
    });
  };
}

/** A net.Server whose connections go where `route()` says at the time (destroyed while it says nothing). */
export function createFront(route: () => ConnectionRoute | undefined): NetServer {
  // Half-open and without Nagle's delay, as Node's HTTP server has its
  // sockets (TLSSocket inherits both): the docker CLI half-closes a hijacked
  // attach (TLS close_notify) and still reads, and small handshake and
  // answer writes must not wait for the client's delayed ACK.
  return createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const to = route();
    if (to === undefined) socket.destroy();
    else to(socket);
  });
}
