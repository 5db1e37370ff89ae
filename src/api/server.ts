// The Engine API server: one Node HTTP server per -H address, all sharing one
// router. Plain requests arrive on 'request'; requests carrying
// `Connection: Upgrade` (docker attach / exec start) arrive on 'upgrade' with
// the raw socket, and are routed the same way before the hijack decision.
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { invalidParameter } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { DEFAULT_MAX_JSON_BODY, tooLarge } from './body.js';
import { createContext, splitTarget, type BodySource } from './context.js';
import { unservedError } from './dockerd-paths.js';
import { streamConnection, upgradeConnection } from './hijack.js';
import { checkHandshake, websocketConnection } from './websocket.js';
import { listenAt, parseHost, prepareUnixSocket, resolveGroup, secureUnixSocket, type ListenAddress } from './listen.js';
import { jsonBytes, mergeHeaders, rawSendBuffer, rawSendStream, sendBuffer, sendStream } from './respond.js';
import { Router, type RouteMatch } from './router.js';
import { chunked, fixedLength, readUpgradeBody, type BodyParser } from './upgrade-body.js';
import { errorReply } from './status.js';
import type { HijackedConnection, Reply, Route } from './types.js';
import { MAX_API_VERSION } from './version.js';
import { adoptInner, answerClientErrors, createFront, plainRoute, tlsRoute, type ConnectionRoute } from './fronts.js';
import { isLoopback, plaintextRefusal, type TcpEndpoint, type TlsMaterial } from '../tls/index.js';
import { selectListenFds, unixSocketPathOfFd } from '../systemd/index.js';

/** A TLS handshake (or the first byte of it) may take this long before the connection is cut. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface ApiServerOptions {
  routes: Iterable<Route>;
  logger: Logger;
  /** e.g. ['unix:///run/berth/berth.sock']; tcp://ADDR:PORT only when asked for (logged as a warning) */
  hosts: string[];
  /** group name or numeric gid that owns the Unix sockets */
  group?: string;
  /** limit for JSON request bodies in bytes (default 1 MiB) */
  maxJsonBody?: number;
  /** berth's version, for the Server header */
  version?: string;
  /** how long close() lets in-flight requests finish before cutting them (default 2000 ms) */
  closeGraceMs?: number;
  /** called as each request arrives, before it is handled */
  onRequest?: () => void;
  /** TLS of TCP hosts (and of TCP sockets passed with fd://); none = plain TCP */
  tls?: TlsMaterial;
  /** --tls=false: plain TCP off loopback was asked for explicitly */
  plaintextAllowed?: boolean;
  /** sockets passed by systemd, for fd:// hosts */
  listenFds?: readonly number[];
  handshakeTimeoutMs?: number;
}

export interface ApiServer {
  listen(): Promise<void>;
  /** stops listening, ends streams and hijacked connections, removes the socket files */
  close(): Promise<void>;
  /** the router, to add routes before or after listen() */
  readonly router: Router;
  /** TLS files for new connections (a rotation); established ones keep theirs */
  setTls(material: TlsMaterial): void;
  /** the TCP listeners, for `docker info` warnings */
  tcpEndpoints(): TcpEndpoint[];
}

interface Listener {
  /** the server that handles the connections (tracks them for close) */
  server: Server;
  /** the server that listens, when it is not `server` */
  front?: NetServer;
  address: ListenAddress;
  tcp?: TcpEndpoint;
  /** a socket file berthd made, removed at close (not one systemd passed) */
  ownPath?: string;
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const logger = opts.logger;
  const router = new Router(opts.routes);
  const limit = opts.maxJsonBody ?? DEFAULT_MAX_JSON_BODY;
  const common: OutgoingHttpHeaders = {
    'Api-Version': MAX_API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `berth/${opts.version ?? 'dev'}`,
  };
  const listeners: Listener[] = [];
  // Upgraded sockets leave Node's HTTP bookkeeping, and streams never end by
  // themselves: close() has to end both explicitly.
  const longLived = new Set<Socket>();

  function track(socket: Socket | null | undefined): void {
    if (!socket || longLived.has(socket)) return;
    longLived.add(socket);
    socket.once('close', () => longLived.delete(socket));
  }

  function logDone(method: string | undefined, url: string | undefined, status: number, started: number): void {
    logger.debug({ method, url, status, ms: Math.round((performance.now() - started) * 10) / 10 }, 'api request');
  }

  function resolve(req: IncomingMessage): { match: RouteMatch; query: URLSearchParams } {
    const { path, query } = splitTarget(req.url);
    const match = router.match(req.method ?? 'GET', path);
    if (match === null) throw unservedError(req.method ?? 'GET', path);
    return { match, query };
  }

  // Also for 413: an oversized body is drained, not cut, because closing a
  // socket with unread bytes makes the kernel reset it and the client would
  // lose the answer.
  function errorHeaders(): OutgoingHttpHeaders {
    return { ...common, 'Content-Type': 'application/json' };
  }

  /** The common headers, the reply's content type and its own headers, for every reply that is not a hijack. */
  function replyHeaders(reply: Exclude<Reply, { kind: 'hijack' | 'websocket' }>): OutgoingHttpHeaders {
    const type = reply.kind === 'json' ? 'application/json' : reply.kind === 'empty' ? undefined : reply.contentType;
    return mergeHeaders(common, type === undefined ? undefined : { 'Content-Type': type }, reply.headers);
  }

  // ---- plain requests -------------------------------------------------------

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    // Most handlers never look at the signal: the controller (and the abort
    // error it makes) only exists for those that do.
    let ac: AbortController | undefined;
    let closed = false;
    const signal = (): AbortSignal => {
      if (ac === undefined) {
        ac = new AbortController();
        if (closed) ac.abort();
      }
      return ac.signal;
    };
    res.once('close', () => {
      closed = true;
      ac?.abort();
      logDone(req.method, req.url, res.statusCode, started);
    });
    try {
      const { match, query } = resolve(req);
      const ctx = createContext(req, match, query, signal, limit, { kind: 'stream' });
      const reply = await match.route.handler(ctx);
      await deliver(reply, req, res);
    } catch (err) {
      if (res.headersSent) {
        logger.warn({ err, url: req.url }, 'request failed after the response started');
        res.destroy();
        return;
      }
      const { status, body } = errorReply(err, logger);
      sendBuffer(res, status, errorHeaders(), jsonBytes(body));
    }
  }

  async function deliver(reply: Reply, req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (reply.kind) {
      case 'json':
        sendBuffer(res, reply.status ?? 200, replyHeaders(reply), jsonBytes(reply.body));
        return;
      case 'empty':
        sendBuffer(res, reply.status ?? 204, replyHeaders(reply));
        return;
      case 'bytes':
        sendBuffer(res, reply.status ?? 200, replyHeaders(reply), reply.body);
        return;
      case 'stream':
        track(res.socket);
        sendStream(res, reply.status ?? 200, replyHeaders(reply), reply.body, logger);
        return;
      case 'hijack': {
        for (const [k, v] of Object.entries(common)) if (v !== undefined) res.setHeader(k, v);
        track(res.socket);
        await runHijack(reply, streamConnection(res, reply.contentType), req.url);
        return;
      }
      case 'websocket': {
        // Without the upgrade headers the handshake cannot succeed; x/net/websocket's text.
        const verdict = checkHandshake(req.method ?? 'GET', req.headers);
        const refusal = verdict.ok ? { status: 400, message: 'not websocket protocol' } : verdict;
        sendBuffer(res, refusal.status, mergeHeaders(common, { 'Content-Type': 'text/plain; charset=utf-8' }), Buffer.from(refusal.message));
        return;
      }
    }
  }

  async function runHijack(reply: Extract<Reply, { kind: 'hijack' | 'websocket' }>, conn: HijackedConnection, url: string | undefined): Promise<void> {
    // The handler owns the connection from here and closes it when done; a
    // failure can no longer become an HTTP error, so it is logged and the
    // connection is closed.
    try {
      await reply.handle(conn);
    } catch (err) {
      logger.warn({ err, url }, 'hijacked connection failed');
      conn.close();
    }
  }

  // ---- upgrade requests (docker attach / exec start) ------------------------

  async function onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const started = performance.now();
    const ac = new AbortController();
    let status = 101;
    socket.on('error', (err) => logger.debug({ err, url: req.url }, 'upgraded connection error'));
    socket.once('close', () => {
      ac.abort();
      logDone(req.method, req.url, status, started);
    });
    let answered = false;
    try {
      const { match, query } = resolve(req);
      const body = await upgradeBody(req, socket, head);
      const ctx = createContext(req, match, query, () => ac.signal, limit, body);
      const reply = await match.route.handler(ctx);
      answered = true;
      switch (reply.kind) {
        case 'hijack':
          track(socket);
          await runHijack(reply, upgradeConnection(socket, reply.contentType), req.url);
          return;
        case 'websocket': {
          const verdict = checkHandshake(req.method ?? 'GET', req.headers);
          if (!verdict.ok) {
            status = verdict.status;
            rawSendBuffer(socket, verdict.status, mergeHeaders(common, { 'Content-Type': 'text/plain; charset=utf-8' }), Buffer.from(verdict.message));
            return;
          }
          track(socket);
          const headers = Object.fromEntries(Object.entries(common).map(([k, v]) => [k, String(v)]));
          await runHijack(reply, websocketConnection(socket, verdict.accept, reply.binary, headers), req.url);
          return;
        }
        case 'json':
          status = reply.status ?? 200;
          rawSendBuffer(socket, status, replyHeaders(reply), jsonBytes(reply.body));
          return;
        case 'empty':
          status = reply.status ?? 204;
          rawSendBuffer(socket, status, replyHeaders(reply));
          return;
        case 'bytes':
          status = reply.status ?? 200;
          rawSendBuffer(socket, status, replyHeaders(reply), reply.body);
          return;
        case 'stream':
          status = reply.status ?? 200;
          track(socket);
          rawSendStream(socket, status, replyHeaders(reply), reply.body, logger);
          return;
      }
    } catch (err) {
      if (answered || socket.destroyed) {
        logger.warn({ err, url: req.url }, 'upgraded request failed after the response started');
        socket.destroy();
        return;
      }
      const e = errorReply(err, logger);
      status = e.status;
      rawSendBuffer(socket, e.status, errorHeaders(), jsonBytes(e.body));
    }
  }

  async function upgradeBody(req: IncomingMessage, socket: Socket, head: Buffer): Promise<BodySource> {
    const te = req.headers['transfer-encoding'];
    let parser: BodyParser;
    if (te !== undefined) {
      if (te.trim().toLowerCase() !== 'chunked') throw invalidParameter(`unsupported Transfer-Encoding ${te}: use chunked or Content-Length`);
      parser = chunked(limit);
    } else {
      const declared = req.headers['content-length'];
      const length = declared === undefined ? 0 : Number(declared);
      if (!Number.isSafeInteger(length) || length < 0) throw invalidParameter(`bad Content-Length ${declared}`);
      if (length > limit) throw tooLarge(limit);
      if (length === 0) {
        if (head.length > 0) socket.unshift(head);
        return { kind: 'buffer', bytes: Buffer.alloc(0) };
      }
      parser = fixedLength(length);
    }
    return { kind: 'buffer', bytes: await readUpgradeBody(socket, head, parser, limit) };
  }

  // ---- listening -------------------------------------------------------------

  function newServer(tls?: TlsMaterial): Server {
    // requestTimeout 0: uploads (docker load/import) may take longer than Node's default 5 minutes.
    // Header and body limits are those of the Unix socket: same parser options, same handlers.
    const server: Server =
      tls === undefined
        ? createServer({ requestTimeout: 0, keepAlive: true })
        : createHttpsServer({
            ...tls.options,
            requestCert: tls.verify,
            rejectUnauthorized: tls.verify,
            handshakeTimeout: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
            requestTimeout: 0,
            keepAlive: true,
          });
    if (tls !== undefined) {
      // No certificate, another CA, expired, not TLS: refused in the handshake, never a crash.
      // Node reports a failed or timed-out handshake but leaves the socket open.
      server.on('tlsClientError', (err: Error, socket: Socket) => {
        logger.debug({ err: err.message }, 'TLS handshake refused');
        socket.destroy();
      });
      answerClientErrors(server);
    }
    // Both handlers answer their own errors; this only catches a failure to do so.
    const last = (err: unknown): void => logger.error({ err }, 'API connection handling failed');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      opts.onRequest?.();
      onRequest(req, res).catch((err: unknown) => {
        last(err);
        res.destroy();
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      opts.onRequest?.();
      onUpgrade(req, socket, head).catch((err: unknown) => {
        last(err);
        socket.destroy();
      });
    });
    return server;
  }

  // One HTTPS server holds the TLS context of every TLS listener, so a rotation is one call.
  let secure: HttpsServer | undefined;
  let tlsMaterial = opts.tls;
  function secureServer(): Server {
    if (tlsMaterial === undefined) throw invalidParameter('no TLS configured');
    secure ??= adoptInner(newServer(tlsMaterial) as HttpsServer);
    return secure;
  }
  const handshakeMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;

  function tcpEndpoint(host: string, port: number): TcpEndpoint {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return { address, tls: tlsMaterial !== undefined, verify: tlsMaterial?.verify === true };
  }

  function plaintextCheck(where: string, host: string): void {
    if (tlsMaterial !== undefined || opts.plaintextAllowed === true || isLoopback(host)) return;
    throw invalidParameter(plaintextRefusal(where));
  }

  function warnPlaintext(host: string, port: number): void {
    logger.warn({ host, port }, 'API listening on TCP %s:%d without TLS: anyone who can reach it controls this host', host, port);
  }

  /** A TCP host served over TLS: the front listens, connections go to the HTTPS server. */
  async function listenTls(address: Extract<ListenAddress, { kind: 'tcp' }>): Promise<void> {
    const server = secureServer();
    const route = tlsRoute(server, handshakeMs, logger);
    const front = createFront(() => route);
    await listenAt(front, address);
    listeners.push({ server, front, address, tcp: tcpEndpoint(address.host, address.port) });
    logger.info({ host: address.host, port: address.port, tlsverify: tlsMaterial?.verify === true }, 'API listening on TCP %s:%d with TLS', address.host, address.port);
  }

  /** A socket passed by systemd: Unix (mode and group set as for our own) or TCP (TLS when configured). */
  async function listenFd(fd: number, gid: number | undefined): Promise<void> {
    let route: ConnectionRoute | undefined;
    const front = createFront(() => route);
    await listenAt(front, { kind: 'fd', fd });
    const bound = front.address();
    const address: ListenAddress = { kind: 'fd', fd };
    try {
      if (typeof bound === 'string' || bound === null) {
        const server = adoptInner(newServer());
        // Node knows no name for a Unix socket it did not bind
        const path = typeof bound === 'string' ? bound : ((await unixSocketPathOfFd(fd)) ?? '');
        if (path.startsWith('/')) await secureUnixSocket(path, gid);
        route = plainRoute(server);
        listeners.push({ server, front, address });
        logger.info({ fd, socket: path }, 'API listening on %s (fd %d from systemd)', path, fd);
        return;
      }
      const { address: host, port } = bound as AddressInfo;
      plaintextCheck(`fd://${fd} (${host}:${port})`, host);
      if (tlsMaterial !== undefined) {
        const server = secureServer();
        route = tlsRoute(server, handshakeMs, logger);
        listeners.push({ server, front, address, tcp: tcpEndpoint(host, port) });
        logger.info({ fd, host, port }, 'API listening on TCP %s:%d with TLS (fd %d from systemd)', host, port, fd);
        return;
      }
      const server = adoptInner(newServer());
      route = plainRoute(server);
      listeners.push({ server, front, address, tcp: tcpEndpoint(host, port) });
      warnPlaintext(host, port);
    } catch (err) {
      front.close();
      throw err;
    }
  }

  async function listen(): Promise<void> {
    if (opts.hosts.length === 0) throw invalidParameter('no API host to listen on: pass -H unix:///path/to/socket');
    const addresses = opts.hosts.map(parseHost);
    const fds = new Set<number>();
    for (const address of addresses) {
      if (address.kind === 'fd') for (const fd of selectListenFds(address.fd, opts.listenFds ?? [])) fds.add(fd);
      if (address.kind === 'tcp') plaintextCheck(`tcp://${address.host}:${address.port}`, address.host);
    }
    const gid = opts.group === undefined ? undefined : await resolveGroup(opts.group);
    // Every socket is checked before any is served: a daemon refused on one
    // host must never have answered on another.
    for (const address of addresses) {
      if (address.kind === 'unix') await prepareUnixSocket(address.path);
    }
    try {
      for (const fd of fds) await listenFd(fd, gid);
      for (const address of addresses) {
        if (address.kind === 'fd') continue;
        if (address.kind === 'tcp' && tlsMaterial !== undefined) {
          await listenTls(address);
          continue;
        }
        const server = newServer();
        if (address.kind === 'unix') {
          await listenAt(server, address);
          listeners.push({ server, address, ownPath: address.path });
          await secureUnixSocket(address.path, gid);
          logger.info({ socket: address.path }, 'API listening on %s', address.path);
        } else {
          warnPlaintext(address.host, address.port);
          await listenAt(server, address);
          listeners.push({ server, address, tcp: tcpEndpoint(address.host, address.port) });
        }
      }
    } catch (err) {
      await close();
      throw err;
    }
  }

  async function close(): Promise<void> {
    const grace = opts.closeGraceMs ?? 2000;
    const closing = listeners.splice(0).map(
      ({ server, front, ownPath }) =>
        new Promise<void>((res) => {
          const timer = setTimeout(() => server.closeAllConnections(), grace);
          (front ?? server).close(() => {
            clearTimeout(timer);
            res();
          });
          // An inner server never listened: closing it only stops its connection checks.
          if (front !== undefined) server.close(() => undefined);
          server.closeIdleConnections();
          if (ownPath !== undefined) {
            // Remove the name now so a new daemon can take it while old connections drain.
            void unlink(ownPath).catch(() => undefined);
          }
        }),
    );
    secure = undefined;
    for (const socket of longLived) socket.destroy();
    longLived.clear();
    await Promise.all(closing);
  }

  function setTls(material: TlsMaterial): void {
    tlsMaterial = material;
    // Only new handshakes use the new context; established connections keep theirs.
    secure?.setSecureContext(material.options);
  }

  function tcpEndpoints(): TcpEndpoint[] {
    return listeners.flatMap((l) => (l.tcp === undefined ? [] : [l.tcp]));
  }

  return { listen, close, router, setTls, tcpEndpoints };
}
