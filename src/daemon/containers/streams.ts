// attach, logs and wait: the long-lived requests that follow a container.
import type { Readable } from 'node:stream';
import type { HijackedConnection } from '../io/index.js';
import { conflict, invalidParameter } from '../../errors/index.js';
import type { AttachOptions, LogReadOptions } from '../io/types.js';
import type { Container, PendingAttach, WaitResult } from './container.js';
import type { ServiceContext } from './context.js';
import { deferred } from './mutex.js';
import { checkLogsReadable } from './logging.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';
const CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

export function parseWaitCondition(raw: string | null | undefined): WaitCondition {
  if (raw === null || raw === undefined || raw === '') return 'not-running';
  if ((CONDITIONS as readonly string[]).includes(raw)) return raw as WaitCondition;
  throw invalidParameter(`invalid condition: "${raw}": use not-running, next-exit or removed`);
}

export function waitFor(c: Container, condition: WaitCondition): Promise<WaitResult> {
  if (c.removed) return Promise.resolve(c.waitResult());
  switch (condition) {
    case 'removed':
      return c.whenRemoved();
    case 'next-exit':
      return c.nextExit();
    case 'not-running':
      return c.isRunning() ? c.nextExit() : Promise.resolve(c.waitResult());
  }
}

function replayLog(ctx: ServiceContext, c: Container, conn: HijackedConnection, multiplexed: boolean): Promise<void> {
  const stream = ctx.deps.io.readLogs(c.state.LogPath, {
    stdout: true,
    stderr: true,
    follow: false,
    tail: 'all',
    since: 0,
    until: 0,
    timestamps: false,
    multiplexed,
  });
  return new Promise((resolve) => {
    stream.on('end', resolve);
    stream.on('error', () => resolve());
    stream.pipe(conn.output, { end: false });
  });
}

/**
 * Serves an attached client. Attaching before the container runs (docker
 * run, start -a) waits for the start, which connects it before the task's
 * first output.
 */
export async function attachContainer(ctx: ServiceContext, c: Container, conn: HijackedConnection, opts: AttachOptions): Promise<void> {
  if (c.isPaused()) throw conflict(`container ${c.id} is paused, unpause the container before attach`);
  c.publish('attach');
  if (c.io !== undefined) {
    await c.io.attach(conn, opts);
    return;
  }
  if (opts.logs) await replayLog(ctx, c, conn, opts.multiplexed ?? !c.state.Config.Tty);
  if (!opts.stream) return;
  const pending: PendingAttach = { conn, opts: { ...opts, logs: false }, done: deferred() };
  c.pendingAttaches.add(pending);
  conn.onClose(() => {
    if (c.pendingAttaches.delete(pending)) pending.done.resolve();
  });
  await pending.done.promise;
}

/** What a `docker logs` request chooses; framing and the end of output come from the container. */
export type LogsOptions = Omit<LogReadOptions, 'multiplexed' | 'ended'>;

export function containerLogs(ctx: ServiceContext, c: Container, opts: LogsOptions): Readable {
  checkLogsReadable(c.state);
  if (!opts.stdout && !opts.stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
  const read: LogReadOptions = {
    ...opts,
    multiplexed: !c.state.Config.Tty,
    ended: c.isRunning() ? c.nextExit().then(() => undefined) : Promise.resolve(),
  };
  return ctx.deps.io.readLogs(c.state.LogPath, read);
}
