// Where the API listens: parsing -H values, and preparing/securing Unix sockets.
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect, type Server as NetServer } from 'node:net';
import { dirname } from 'node:path';
import { conflict, invalidParameter } from '../errors/index.js';

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  /** socket activation: fd://N, or fd:// (every socket passed) when fd is undefined */
  | { kind: 'fd'; fd: number | undefined };

export const SOCKET_MODE = 0o660;

export function parseHost(host: string): ListenAddress {
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length);
    if (!path.startsWith('/')) throw invalidParameter(`invalid host ${host}: a unix socket path must be absolute`);
    return { kind: 'unix', path };
  }
  if (host.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      throw invalidParameter(`invalid host ${host}: expected tcp://ADDRESS:PORT`);
    }
    const port = Number(url.port);
    if (url.port === '' || !Number.isInteger(port) || port < 1 || port > 65535 || (url.pathname !== '' && url.pathname !== '/')) {
      throw invalidParameter(`invalid host ${host}: expected tcp://ADDRESS:PORT`);
    }
    return { kind: 'tcp', host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
  }
  if (host.startsWith('fd://')) {
    const rest = host.slice('fd://'.length);
    if (rest === '' || rest === '*') return { kind: 'fd', fd: undefined };
    if (/^\d+$/.test(rest)) return { kind: 'fd', fd: Number(rest) };
    throw invalidParameter(`invalid host ${host}: expected fd:// or fd://N (a socket number passed by systemd)`);
  }
  throw invalidParameter(`invalid host ${host}: use unix:///path/to/socket (or tcp://ADDRESS:PORT, fd://)`);
}

/** A group name from /etc/group, or a numeric gid, as a gid. */
export async function resolveGroup(group: string, groupFile = '/etc/group'): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = await readFile(groupFile, 'utf8');
  } catch (err) {
    throw invalidParameter(`cannot read ${groupFile} to resolve group ${group}: ${(err as Error).message}`);
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw invalidParameter(`group ${group} not found in ${groupFile}: create it (groupadd ${group}) or pass --group with an existing group`);
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Makes `path` ready for listen(): creates the parent folder, refuses when a
 * live daemon answers there, and removes a stale socket file.
 */
export async function prepareUnixSocket(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) {
    throw conflict(`${path} exists and is not a socket: remove it or choose another --host`);
  }
  if (await probe(path)) {
    throw conflict(`another daemon is already listening on ${path}: stop it or choose another --host`);
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** 0660 whatever the umask, and owned by the API group when one is given. */
export async function secureUnixSocket(path: string, gid: number | undefined): Promise<void> {
  await chmod(path, SOCKET_MODE);
  if (gid !== undefined) await chown(path, process.getuid?.() ?? 0, gid);
}

/** listen() as a promise. A Unix socket is bound under a closed umask so it is never reachable before its mode is set. */
export function listenAt(server: Server | NetServer, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (address.kind === 'tcp') {
      server.listen(address.port, address.host, done);
      return;
    }
    if (address.kind === 'fd') {
      // already bound and listening (systemd did it)
      if (address.fd === undefined) throw invalidParameter('fd:// must be resolved to a socket number first');
      server.listen({ fd: address.fd }, done);
      return;
    }
    // The bind happens synchronously inside listen(), so the umask is restored right after.
    const old = process.umask(0o777);
    try {
      server.listen(address.path, done);
    } finally {
      process.umask(old);
    }
  });
}
