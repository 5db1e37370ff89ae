// stop, kill, pause, unpause: signals and freezes on the live task. These use
// the task as started (its locked-in runtime); nothing is resolved again.
import { conflict, isKind, notModified, unlessNotFound } from '../../errors/index.js';
import type { Container, WaitResult } from './container.js';
import type { ServiceContext } from './context.js';
import { parseSignal, SIGKILL } from './signals.js';
import { cancelRestart } from './restart-policy.js';

const DEFAULT_STOP_TIMEOUT_S = 10;
/** How long `kill` (SIGKILL) waits for the container to be stopped before answering, as dockerd does. */
const KILL_WAIT_MS = 10_000;

export interface StopOptions {
  /** seconds; -1 waits forever */
  timeout?: number;
  signal?: string;
}

function notRunning(c: Container, ref: string, verb?: string): Error {
  const base = `Container ${c.id} is not running`;
  return conflict(verb === undefined ? base : `${verb}: ${ref}: ${base}`);
}

function timeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms < 0) return p;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** Sends `signal` to the init; a task that is already gone is not an error (its exit is on its way). */
export async function signalTask(ctx: ServiceContext, c: Container, signal: number): Promise<void> {
  c.publish('kill', { signal: String(signal) });
  try {
    await ctx.client.tasks.kill(c.id, signal);
  } catch (err) {
    // The signal may have ended the task before its answer came back: its
    // exit was handled and the shim, gone with the task, closed the call.
    if (!isKind(err, 'not-found') && (await taskRunning(ctx, c))) throw err;
  }
  // A frozen process cannot act on a signal; thaw it so that it can.
  if (c.state.State.Paused && (signal === SIGKILL || c.stopping)) {
    await ctx.client.tasks.resume(c.id).catch(() => undefined);
    c.state.State.Paused = false;
    await ctx.persistQuietly(c);
  }
}

/** Whether containerd still has a task of the container that has not stopped. */
async function taskRunning(ctx: ServiceContext, c: Container): Promise<boolean> {
  const task = await unlessNotFound(ctx.client.tasks.get(c.id));
  return task !== undefined && task.status !== 'stopped';
}

/** How long an exit event may take before berth asks containerd directly. */
const EXIT_EVENT_GRACE_MS = 5_000;

/**
 * Waits for the exit to be recorded. Should its event be lost (containerd
 * restarting), the task's own status decides, so a stop never hangs on a
 * process that is gone.
 */
export async function awaitExit(ctx: ServiceContext, c: Container, exited: Promise<WaitResult>): Promise<void> {
  for (;;) {
    if ((await timeout(exited, EXIT_EVENT_GRACE_MS)) !== undefined) return;
    let gone = false;
    let report: { exitStatus?: number; exitedAt?: Date } = {};
    try {
      const t = await ctx.client.tasks.get(c.id);
      if (t.status === 'stopped') {
        gone = true;
        report = t.exitedAt === undefined ? { exitStatus: t.exitStatus } : { exitStatus: t.exitStatus, exitedAt: t.exitedAt };
      }
    } catch (err) {
      if (isKind(err, 'not-found')) gone = true;
    }
    if (gone) {
      await ctx.reportExit(c, report);
      return;
    }
  }
}

export function stopSignalOf(c: Container): number {
  return parseSignal(c.state.Config.StopSignal ?? 'SIGTERM');
}

/** Stop signal, then SIGKILL after the timeout; resolves once the exit is recorded. 304 when not running. */
export async function stopContainer(ctx: ServiceContext, c: Container, opts: StopOptions = {}): Promise<void> {
  const signal = opts.signal !== undefined && opts.signal !== '' ? parseSignal(opts.signal) : stopSignalOf(c);
  if (!c.isRunning()) {
    if (!cancelRestart(c)) throw notModified(`container ${c.id} is already stopped`);
    // Let a policy start that is already under way finish, then stop what it started.
    await c.lock.run(async () => undefined);
    if (!c.isRunning()) {
      c.state.ManuallyStopped = true;
      await ctx.persistQuietly(c);
      c.publish('stop');
      return;
    }
  }
  // A stop at daemon shutdown is not a user's: unless-stopped comes back at start-up.
  if (!ctx.shuttingDown) c.state.ManuallyStopped = true;
  const seconds = opts.timeout ?? c.state.Config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
  const exited = c.nextExit();
  c.stopping = true;
  try {
    await signalTask(ctx, c, signal);
    const result: WaitResult | undefined = await timeout(exited, seconds < 0 ? -1 : seconds * 1000);
    if (result === undefined) {
      ctx.log.info({ container: c.id }, 'container %s did not stop within %d s; sending SIGKILL', c.id, seconds);
      await signalTask(ctx, c, SIGKILL);
      await awaitExit(ctx, c, exited);
    }
  } finally {
    c.stopping = false;
  }
  c.publish('stop');
}

export async function killContainer(ctx: ServiceContext, c: Container, ref: string, rawSignal: string): Promise<void> {
  const signal = rawSignal === '' ? SIGKILL : parseSignal(rawSignal);
  if (!c.isRunning()) {
    if (c.state.State.Restarting) throw conflict(`Cannot kill container: ${ref}: Container ${c.id} is restarting, wait until the container is running`);
    throw notRunning(c, ref, 'Cannot kill container');
  }
  if (signal === SIGKILL || signal === stopSignalOf(c)) c.state.ManuallyStopped = true;
  const exited = c.nextExit();
  await signalTask(ctx, c, signal);
  if (signal === SIGKILL) await timeout(awaitExit(ctx, c, exited), KILL_WAIT_MS);
}

export async function pauseContainer(ctx: ServiceContext, c: Container): Promise<void> {
  await c.lock.run(async () => {
    if (!c.isRunning()) throw notRunning(c, c.id);
    if (c.isPaused()) throw conflict(`Container ${c.id} is already paused`);
    await ctx.client.tasks.pause(c.id);
    c.state.State.Paused = true;
    await ctx.persistQuietly(c);
    c.publish('pause');
  });
}

export async function unpauseContainer(ctx: ServiceContext, c: Container): Promise<void> {
  await c.lock.run(async () => {
    if (!c.isRunning()) throw notRunning(c, c.id);
    if (!c.isPaused()) throw conflict(`Container ${c.id} is not paused`);
    await ctx.client.tasks.resume(c.id);
    c.state.State.Paused = false;
    await ctx.persistQuietly(c);
    c.publish('unpause');
  });
}
