// Restart policies (--restart no|always|unless-stopped|on-failure[:N]), with
// dockerd's back-off: 100 ms doubling up to a minute, reset after a run of
// ten seconds; a container stopped by hand stays stopped.
import { invalidParameter } from '../../errors/index.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { startContainer } from './start.js';
import { timestampMs } from './status.js';
import type { HostConfig } from './types.js';

const POLICIES = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);
const MIN_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
const STABLE_RUN_MS = 10_000;

export function validateRestartPolicy(host: HostConfig): void {
  const { Name: name, MaximumRetryCount: max } = host.RestartPolicy;
  if (!POLICIES.has(name)) {
    throw invalidParameter(`invalid restart policy '${name}': use no, always, unless-stopped or on-failure`);
  }
  if (max < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
  if (max > 0 && name !== 'on-failure') {
    throw invalidParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (host.AutoRemove && name !== '' && name !== 'no') {
    throw invalidParameter(`can't create 'AutoRemove' container with restart policy`);
  }
}

/** Whether the exit that just happened calls for a restart. */
export function wantsRestart(c: Container): boolean {
  const { Name: name, MaximumRetryCount: max } = c.state.HostConfig.RestartPolicy;
  if (c.state.ManuallyStopped === true) return false;
  switch (name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return c.state.State.ExitCode !== 0 && (max === 0 || c.state.RestartCount < max);
    default:
      return false;
  }
}

/** Whether berthd's start-up should start this stopped container again. */
export function restartAtBoot(c: Container): boolean {
  const name = c.state.HostConfig.RestartPolicy.Name;
  if (name === 'always') return true;
  if (name === 'unless-stopped') return c.state.ManuallyStopped !== true;
  return name === 'on-failure' && wantsRestart(c) && c.state.State.StartedAt !== '0001-01-01T00:00:00Z';
}

/** Drops a pending policy restart; true when there was one. A start already under way sees the flag gone and gives up. */
export function cancelRestart(c: Container): boolean {
  const pending = c.restartTimer !== undefined || c.state.State.Restarting;
  clearTimeout(c.restartTimer);
  c.restartTimer = undefined;
  c.state.State.Restarting = false;
  return pending;
}

export async function scheduleRestart(ctx: ServiceContext, c: Container): Promise<void> {
  const s = c.state.State;
  const ran = timestampMs(s.FinishedAt) - timestampMs(s.StartedAt);
  c.restartDelayMs = ran >= STABLE_RUN_MS ? MIN_DELAY_MS : Math.min(Math.max(c.restartDelayMs * 2, MIN_DELAY_MS), MAX_DELAY_MS);
  s.Restarting = true;
  c.restartTimer = setTimeout(() => {
    c.restartTimer = undefined;
    if (c.removed || c.removing || ctx.shuttingDown) return;
    c.state.RestartCount += 1;
    startContainer(ctx, c).catch(async (err: unknown) => {
      ctx.log.warn({ err, container: c.id }, 'restarting container %s failed', c.id);
      c.state.State.Restarting = false;
      if (wantsRestart(c) && !ctx.shuttingDown) await scheduleRestart(ctx, c);
      else await ctx.persistQuietly(c);
    });
  }, c.restartDelayMs);
  await ctx.persistQuietly(c);
}
