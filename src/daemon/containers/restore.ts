// After a berthd restart: load every record, re-attach to containers that
// kept running (live-restore) or stop them, and record the exits that
// happened while berthd was away. And at shutdown: stop what runs, unless
// live-restore keeps it running.
import { rm } from 'node:fs/promises';
import type { ProcessInfo } from '../../containerd/types.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { handleInitExit, UNKNOWN_EXIT_CODE, type AutoRemove } from './exit.js';
import { ignoreNotFound } from './remove.js';
import { SIGKILL } from './signals.js';
import { stopContainer } from './stop.js';
import { openInitIO, startContainer } from './start.js';
import { restartAtBoot, cancelRestart } from './restart-policy.js';

const KILL_WAIT_MS = 10_000;

/** Leftovers of a removal that a crash interrupted. */
async function finishRemoval(ctx: ServiceContext, id: string): Promise<void> {
  await ctx.client.tasks.delete(id).catch(() => undefined);
  await ctx.client.containers.delete(id).catch(() => undefined);
  await ctx.deps.images.removeRootfs(id).catch(() => undefined);
  await rm(ctx.store.dir(id), { recursive: true, force: true }).catch(() => undefined);
}

/** Re-opens the FIFOs of a container that kept running, so that its output flows again. */
async function reattach(ctx: ServiceContext, c: Container, task: ProcessInfo): Promise<void> {
  const s = c.state;
  c.io = await openInitIO(ctx, c, Promise.resolve());
  s.State.Pid = task.pid;
  s.State.Paused = task.status === 'paused';
}

async function killLeftover(ctx: ServiceContext, c: Container): Promise<void> {
  await ctx.client.tasks.kill(c.id, SIGKILL, { all: true }).catch(() => undefined);
  if (c.state.State.Paused) await ctx.client.tasks.resume(c.id).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ctx.client.tasks.wait(c.id).catch(() => undefined),
    new Promise((r) => (timer = setTimeout(r, KILL_WAIT_MS))),
  ]).finally(() => clearTimeout(timer));
}

const isAlive = (task: ProcessInfo | undefined): task is ProcessInfo =>
  task !== undefined && (task.status === 'running' || task.status === 'paused' || task.status === 'pausing');

/**
 * A task of a container recorded as not running: a start that berthd's crash
 * cut short before it was recorded (the client never heard of its success).
 * The record wins: the task is killed and deleted, so that the container can
 * be started or removed again.
 */
async function dropUnrecordedTask(ctx: ServiceContext, c: Container, task: ProcessInfo): Promise<void> {
  ctx.log.warn({ container: c.id }, 'container %s has a task its record does not know of (an interrupted start); removing the task', c.id);
  if (isAlive(task)) await killLeftover(ctx, c);
  await ignoreNotFound(ctx.client.tasks.delete(c.id));
}

async function restoreOne(ctx: ServiceContext, c: Container, task: ProcessInfo | undefined, liveRestore: boolean, autoRemove: AutoRemove): Promise<void> {
  if (!c.state.State.Running) {
    if (task !== undefined) await dropUnrecordedTask(ctx, c, task);
    return;
  }
  const alive = isAlive(task);
  if (alive && liveRestore) {
    await reattach(ctx, c, task);
    await ctx.persistQuietly(c);
    ctx.log.info({ container: c.id }, 'container %s kept running; managing it again', c.id);
    return;
  }
  if (alive) {
    ctx.log.info({ container: c.id }, 'container %s still runs but live-restore is off; stopping it', c.id);
    await killLeftover(ctx, c);
  }
  const report = task !== undefined && task.status === 'stopped' ? { exitStatus: task.exitStatus } : {};
  await handleInitExit(ctx, c, report, autoRemove);
  if (c.state.State.ExitCode === UNKNOWN_EXIT_CODE && !c.removed) {
    ctx.log.warn({ container: c.id }, 'exit code of container %s was lost while berthd was down', c.id);
  }
  await rm(c.execDir, { recursive: true, force: true }).catch(() => undefined);
}

export async function restoreContainers(ctx: ServiceContext, liveRestore: boolean, autoRemove: AutoRemove): Promise<void> {
  await ctx.store.init();
  const { states, interruptedRemovals } = await ctx.store.loadAll();
  await Promise.all(interruptedRemovals.map((id) => finishRemoval(ctx, id)));
  const containers = states.map((s) => ctx.newContainer(s));
  for (const c of containers) ctx.registry.add(c);
  // One listing instead of a request per container.
  const tasks = new Map((await ctx.client.tasks.list()).map((t) => [t.containerId, t]));
  await Promise.all(
    containers.map(async (c) => {
      try {
        await restoreOne(ctx, c, tasks.get(c.id), liveRestore, autoRemove);
        const s = c.state.State;
        s.Restarting = false;
        if (!c.removed && !s.Running && c.state.HostConfig.AutoRemove && s.StartedAt !== '0001-01-01T00:00:00Z') {
          await autoRemove(c);
        } else if (!c.removed && !s.Running && restartAtBoot(c)) {
          ctx.track(startContainer(ctx, c, true).catch((err: unknown) => ctx.log.warn({ err, container: c.id }, 'restarting container %s at start-up failed', c.id)));
        }
      } catch (err) {
        ctx.log.error({ err, container: c.id }, 'cannot restore container %s', c.id);
      }
    }),
  );
}

export interface ShutdownOptions {
  liveRestore: boolean;
  /** seconds for all containers together */
  timeout: number;
}

/** Without live-restore, stops every running container in parallel within the timeout. */
export async function shutdownContainers(ctx: ServiceContext, opts: ShutdownOptions): Promise<void> {
  ctx.shuttingDown = true;
  for (const c of ctx.registry.all()) if (cancelRestart(c)) await ctx.persistQuietly(c);
  if (opts.liveRestore) return;
  const running = ctx.registry.all().filter((c) => c.isRunning());
  const budget = Math.max(0, opts.timeout);
  await Promise.all(
    running.map(async (c) => {
      const own = c.state.Config.StopTimeout ?? 10;
      const seconds = own < 0 ? budget : Math.min(own, budget);
      try {
        await stopContainer(ctx, c, { timeout: seconds });
      } catch (err) {
        ctx.log.warn({ err, container: c.id }, 'stopping container %s at shutdown failed', c.id);
      }
    }),
  );
  await ctx.settled();
}
