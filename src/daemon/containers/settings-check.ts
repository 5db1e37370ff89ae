// HostConfig fields that berth does not turn into container settings. Each is
// either refused (it would change what the container is) or discarded with a
// warning that the client prints: never dropped silently. Pure: mutates only
// the host config it is given.
import { invalidParameter, notFound } from '../../errors/index.js';
import type { ContainerConfig, HostConfig } from './types.js';

/** Settings only Windows containers have: dockerd on Linux discards them too. */
const WINDOWS_ONLY = ['CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth'] as const;

function stringField(host: HostConfig, field: string): string {
  const v = host[field];
  return typeof v === 'string' ? v : '';
}

function numberField(host: HostConfig, field: string): number {
  const v = host[field];
  return typeof v === 'number' ? v : 0;
}

/** Refuses what cannot be applied; returns the create warnings for what is discarded. */
export function checkUnappliedSettings(config: ContainerConfig, host: HostConfig): string[] {
  const warnings: string[] = [];
  const userns = stringField(host, 'UsernsMode');
  if (userns !== '' && userns !== 'host') {
    throw invalidParameter(`invalid UsernsMode ${JSON.stringify(userns)}: user namespace remapping is not enabled in this daemon (use "host" or leave it empty)`);
  }
  const isolation = stringField(host, 'Isolation');
  if (isolation !== '' && isolation !== 'default') {
    throw invalidParameter(`Invalid isolation: ${JSON.stringify(isolation)} - linux only supports 'default'`);
  }
  if (stringField(host, 'Cgroup') !== '') {
    throw invalidParameter('HostConfig.Cgroup is not supported by berth: use CgroupnsMode "host" or "private"');
  }
  const cgroupns = stringField(host, 'CgroupnsMode');
  if (cgroupns !== '' && cgroupns !== 'host' && cgroupns !== 'private') {
    throw invalidParameter(`invalid cgroup namespace mode: ${cgroupns}`);
  }
  const driver = stringField(host, 'VolumeDriver');
  if (driver !== '' && driver !== 'local') {
    throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  }
  for (const field of WINDOWS_ONLY) {
    if (numberField(host, field) === 0) continue;
    host[field] = 0;
    warnings.push(`${field} applies only to Windows containers: discarded`);
  }
  // runc no longer applies kernel memory limits (the kernel deprecated them).
  for (const field of ['KernelMemory', 'KernelMemoryTCP'] as const) {
    if (numberField(host, field) === 0) continue;
    host[field] = 0;
    warnings.push(`Specifying a kernel memory limit is deprecated and will be removed in a future release: the runtime does not apply ${field}, discarded`);
  }
  // As dockerd: a container with networking disabled has only its loopback.
  if (config.NetworkDisabled === true && (host.NetworkMode === 'default' || host.NetworkMode === 'bridge')) host.NetworkMode = 'none';
  return warnings;
}
