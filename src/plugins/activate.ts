// The plugin handshake: wait for the plugin's socket, then POST
// /Plugin.Activate and read {"Implements": [...]}, all within one deadline.
import { closeSync, existsSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

export const PLUGIN_MEDIA_TYPE = 'application/vnd.docker.plugins.v1.2+json';
const MAX_ANSWER_BYTES = 1024 * 1024;
const RETRY_MS = 100;
/** sun_path holds 108 bytes with its NUL; longer paths are reached through /proc/self/fd. */
const MAX_SOCKET_PATH = 100;

export interface ActivationTarget {
  /** host directory holding the socket (<exec-root>/plugins/<id>) */
  dir: string;
  /** socket file name from Interface.Socket */
  socket: string;
}

export interface ActivationOptions {
  timeoutMs: number;
  /** rejects (or resolves with a reason) when the plugin's process is gone: stop waiting */
  exited?: Promise<string>;
  signal?: AbortSignal;
}

/** Why activation failed, and in which step. */
export class ActivationError extends Error {
  constructor(
    readonly step: 'socket' | 'activate' | 'exited' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'ActivationError';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

type Attempt = { ok: true; implements: string[] } | { ok: false; retry: boolean; message: string };

/** One POST /Plugin.Activate; connection refusals are retryable, anything the plugin says is final. */
function activateOnce(target: ActivationTarget, timeoutMs: number): Promise<Attempt> {
  const direct = join(target.dir, target.socket);
  let dirFd: number | undefined;
  let socketPath = direct;
  if (direct.length > MAX_SOCKET_PATH) {
    dirFd = openSync(target.dir, 'r');
    socketPath = `/proc/self/fd/${dirFd}/${target.socket}`;
  }
  const release = (): void => {
    if (dirFd !== undefined) closeSync(dirFd);
    dirFd = undefined;
  };
  return new Promise<Attempt>((resolve) => {
    const req = request(
      {
        socketPath,
        method: 'POST',
        path: '/Plugin.Activate',
        headers: { Accept: PLUGIN_MEDIA_TYPE, 'Content-Type': PLUGIN_MEDIA_TYPE, 'Content-Length': 0, Connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(c);
        });
        res.on('error', (err) => resolve({ ok: false, retry: false, message: `reading the answer failed: ${err.message}` }));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            resolve({ ok: false, retry: false, message: `it answered HTTP ${res.statusCode ?? '?'}: ${body.slice(0, 200).trim()}` });
            return;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            resolve({ ok: false, retry: false, message: `its answer is not JSON: ${body.slice(0, 200).trim()}` });
            return;
          }
          const impl = (parsed as { Implements?: unknown } | null)?.Implements;
          if (!Array.isArray(impl) || !impl.every((x): x is string => typeof x === 'string')) {
            resolve({ ok: false, retry: false, message: `its answer lacks an "Implements" list of strings: ${body.slice(0, 200).trim()}` });
            return;
          }
          resolve({ ok: true, implements: impl });
        });
      },
    );
    req.setTimeout(Math.max(1, timeoutMs), () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const retry = err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'ECONNRESET' || err.code === 'EPIPE';
      resolve({ ok: false, retry: retry && err.message !== 'timed out', message: err.message });
    });
    req.on('close', release);
    req.end();
  }).finally(release);
}

/** Resolves with the plugin's Implements list, or rejects with an ActivationError naming the step that failed. */
export async function activatePlugin(target: ActivationTarget, opts: ActivationOptions): Promise<string[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const seconds = Math.round(opts.timeoutMs / 100) / 10;
  const inside = `/run/docker/plugins/${target.socket}`;
  let exitReason: string | undefined;
  opts.exited?.then(
    (reason) => (exitReason = reason),
    (err: Error) => (exitReason = err.message),
  );
  let last = '';
  while (true) {
    if (opts.signal?.aborted === true) throw new ActivationError('aborted', 'the request was cancelled');
    if (exitReason !== undefined) {
      throw new ActivationError('exited', `the plugin process exited before answering the activation handshake (${exitReason})`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      if (!existsSync(join(target.dir, target.socket))) {
        throw new ActivationError('socket', `the plugin did not create its socket ${inside} within ${seconds}s`);
      }
      throw new ActivationError(
        'activate',
        `the plugin did not answer POST /Plugin.Activate on ${inside} within ${seconds}s${last === '' || last === 'timed out' ? '' : ` (last attempt: ${last})`}`,
      );
    }
    if (!existsSync(join(target.dir, target.socket))) {
      await sleep(Math.min(RETRY_MS, remaining));
      continue;
    }
    const attempt = await activateOnce(target, remaining);
    if (attempt.ok) return attempt.implements;
    if (!attempt.retry && attempt.message !== 'timed out') {
      throw new ActivationError('activate', `the plugin failed the POST /Plugin.Activate handshake on ${inside}: ${attempt.message}`);
    }
    last = attempt.message;
    await sleep(Math.min(RETRY_MS, Math.max(0, deadline - Date.now())));
  }
}
