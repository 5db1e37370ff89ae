// POST /containers/{id}/update: new resources and restart policy, checked,
// applied to the running task through containerd and persisted, so that the
// next start builds its spec with them. Nothing changes when a check fails.
import { jsonAny } from '../../containerd/index.js';
import { invalidParameter } from '../../errors/index.js';
import { asObject, checkFields, type FieldKind } from './body-reader.js';
import { HOST_CONFIG_FIELDS } from './create-request.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { validateRestartPolicy } from './restart-policy.js';
import { linuxResources } from './spec.js';
import type { HostConfig } from './types.js';

export const LINUX_RESOURCES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

/** The HostConfig fields an update may carry, typed as at create. */
const UPDATE_FIELDS: Readonly<Record<string, FieldKind>> = Object.fromEntries(
  [
    'BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems',
    'CpuShares', 'Memory', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'KernelMemory', 'KernelMemoryTCP',
    'NanoCpus', 'PidsLimit', 'OomKillDisable',
  ].map((f) => [f, HOST_CONFIG_FIELDS[f] as FieldKind]),
);

/** Fields where 0 or "" means "leave as it is" (the CLI sends every field). */
const KEEP_ZERO = ['BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpuShares', 'Memory', 'MemoryReservation', 'MemorySwap', 'NanoCpus'] as const;
const MIN_MEMORY = 6 * 1024 * 1024;

export interface UpdateResult {
  Warnings: string[];
}

/** The HostConfig after the update (a copy); throws the 400s dockerd gives. */
export function plannedHostConfig(current: HostConfig, body: Record<string, unknown>): HostConfig {
  checkFields(body, { ...UPDATE_FIELDS, RestartPolicy: 'object' });
  const next: HostConfig = structuredClone(current);
  for (const f of KEEP_ZERO) {
    const v = body[f];
    if (typeof v === 'number' && v !== 0) next[f] = v;
  }
  for (const f of ['CpusetCpus', 'CpusetMems'] as const) {
    const v = body[f];
    if (typeof v === 'string' && v !== '') {
      if (!/^[0-9,-]*$/.test(v)) throw invalidParameter(`invalid value for ${f}: ${JSON.stringify(v)} (use a list such as 0-2,4)`);
      next[f] = v;
    }
  }
  if (typeof body.PidsLimit === 'number') next.PidsLimit = body.PidsLimit > 0 ? body.PidsLimit : 0;
  if (typeof body.MemorySwappiness === 'number' && body.MemorySwappiness >= 0) next.MemorySwappiness = body.MemorySwappiness;
  if (typeof body.OomKillDisable === 'boolean') next.OomKillDisable = body.OomKillDisable;
  if (typeof body.Memory === 'number' && body.Memory !== 0 && body.Memory < MIN_MEMORY) {
    throw invalidParameter('Minimum memory limit allowed is 6MB');
  }
  if (typeof body.Memory === 'number' && body.Memory > 0 && (body.MemorySwap ?? 0) === 0 && current.MemorySwap > 0 && body.Memory > current.MemorySwap) {
    throw invalidParameter('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
  }
  if (next.MemorySwap > 0 && next.Memory > 0 && next.MemorySwap < next.Memory) {
    throw invalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (typeof body.BlkioWeight === 'number' && body.BlkioWeight !== 0 && (body.BlkioWeight < 10 || body.BlkioWeight > 1000)) {
    throw invalidParameter('Range of blkio weight is from 10 to 1000');
  }
  if (next.NanoCpus > 0 && (typeof body.CpuQuota === 'number' && body.CpuQuota !== 0)) {
    throw invalidParameter('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  }
  if (next.CpuQuota > 0 && typeof body.NanoCpus === 'number' && body.NanoCpus !== 0 && current.CpuQuota > 0) {
    throw invalidParameter('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  }
  const restart = body.RestartPolicy;
  if (restart !== undefined && restart !== null) {
    const r = asObject(restart, 'RestartPolicy');
    checkFields(r, { Name: 'string', MaximumRetryCount: 'int' }, 'RestartPolicy.');
    const name = typeof r.Name === 'string' ? r.Name : '';
    if (name !== '') {
      if (current.AutoRemove && name !== 'no') {
        throw invalidParameter('Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      next.RestartPolicy = { Name: name, MaximumRetryCount: typeof r.MaximumRetryCount === 'number' ? r.MaximumRetryCount : 0 };
      validateRestartPolicy(next);
    }
  }
  return next;
}

export async function updateContainer(ctx: ServiceContext, c: Container, body: unknown): Promise<UpdateResult> {
  const obj = asObject(body, 'update config');
  return c.lock.run(async () => {
    if (c.removing || c.removed) throw invalidParameter(`Cannot update container ${c.id}: container is marked for removal and cannot be "update"`);
    const next = plannedHostConfig(c.state.HostConfig, obj);
    if (c.isRunning()) {
      const resources = linuxResources(next);
      // Device rules stay as the container started with them.
      delete resources.devices;
      if (next.PidsLimit === 0) resources.pids = { limit: -1 };
      await ctx.client.tasks.update(c.id, jsonAny(LINUX_RESOURCES_TYPE_URL, resources));
    }
    c.state.HostConfig = next;
    await ctx.persist(c);
    c.publish('update');
    return { Warnings: [] };
  });
}
