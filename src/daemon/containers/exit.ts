// What happens when a container's init process exits: drain its output,
// delete the task, record the exit, tell waiters, and honour --rm.
import { releaseShareableShm } from './namespaces.js';
import { isKind } from '../../errors/index.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { mountPointsOf, publishVolumeEvents } from './mounts.js';
import { nowTimestamp, timestampMs } from './status.js';
import { formatRfc3339Nano } from '../io/index.js';
import { scheduleRestart, wantsRestart } from './restart-policy.js';

/** How long output may keep flowing after the exit before berth stops waiting for it. */
const DRAIN_TIMEOUT_MS = 5_000;
/** dockerd's exit code when the real one is lost. */
export const UNKNOWN_EXIT_CODE = 255;

export interface ExitReport {
  exitStatus?: number;
  exitedAt?: Date;
  /** pid of the process that exited; a stale report (an older run) is ignored */
  pid?: number;
}

function bounded(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}

function exitTimestamp(at: Date | undefined): string {
  if (at === undefined || at.getTime() <= 0) return nowTimestamp();
  return formatRfc3339Nano(BigInt(at.getTime()) * 1_000_000n, false);
}

export type AutoRemove = (c: Container) => Promise<void>;

/**
 * Records the exit of the container's init. Idempotent: a second report for
 * the same run (event plus reconciliation) finds the container stopped.
 */
export async function handleInitExit(ctx: ServiceContext, c: Container, report: ExitReport, autoRemove: AutoRemove): Promise<void> {
  const handled = await c.lock.run(async () => {
    const s = c.state.State;
    if (!s.Running || c.removed) return false;
    if (report.pid !== undefined && report.pid !== 0 && s.Pid !== 0 && report.pid !== s.Pid) return false;
    if (c.io !== undefined) await bounded(c.io.drained(), DRAIN_TIMEOUT_MS);
    // The process is gone: its network comes down while the task is deleted.
    const networkDown = ctx.deps.network?.tearDown(c.id).catch((err: unknown) => ctx.log.warn({ err, container: c.id }, 'tearing down the network of container %s failed', c.id));
    let exitStatus = report.exitStatus;
    let exitedAt = report.exitedAt;
    try {
      const deleted = await ctx.client.tasks.delete(c.id);
      exitStatus ??= deleted.exitStatus;
      exitedAt ??= deleted.exitedAt;
    } catch (err) {
      if (!isKind(err, 'not-found')) ctx.log.warn({ err, container: c.id }, 'cannot delete the task of container %s', c.id);
    }
    const io = c.io;
    c.io = undefined;
    await io?.close().catch((err: unknown) => ctx.log.warn({ err, container: c.id }, 'closing container I/O failed'));
    const shmReleased = releaseShareableShm(c);
    // A --rm container's removal waits for its network (forget queues behind
    // the teardown) while containerd removes the rest: only a container that
    // stays has to be down before its exit is told.
    if ((!c.state.HostConfig.AutoRemove && !c.goesAfterExit) || c.restarting) await networkDown;
    else if (networkDown !== undefined) ctx.track(networkDown);
    await shmReleased;
    const startedMs = timestampMs(s.StartedAt);
    Object.assign(s, {
      Running: false,
      Paused: false,
      Restarting: false,
      Pid: 0,
      ExitCode: exitStatus ?? UNKNOWN_EXIT_CODE,
      OOMKilled: c.oomSeen,
      FinishedAt: exitTimestamp(exitedAt),
    });
    c.oomSeen = false;
    c.initProcess = undefined;
    await ctx.persistQuietly(c);
    const durationS = Math.max(0, Math.round((timestampMs(s.FinishedAt) - startedMs) / 1000));
    publishVolumeEvents(ctx, c.id, mountPointsOf(c.state), 'unmount');
    c.publish('die', { exitCode: String(s.ExitCode), execDuration: String(durationS) });
    c.signalExit(c.waitResult());
    return true;
  });
  if (handled && !c.restarting && !c.stopping && !ctx.shuttingDown && wantsRestart(c)) {
    await scheduleRestart(ctx, c);
    return;
  }
  if (handled && c.state.HostConfig.AutoRemove && !c.restarting) {
    const removal = autoRemove(c).catch((err: unknown) =>
      ctx.log.error({ err, container: c.id }, 'cannot remove --rm container %s', c.id),
    );
    ctx.track(removal);
    await removal;
  }
}
