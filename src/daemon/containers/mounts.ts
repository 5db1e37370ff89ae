// A container's mount points: planned at create by the volume module and kept
// in its record; records written before that are planned again from their
// binds and tmpfs (they could name no volume).
import { parseVolumesFrom, planMounts, type MountPoint } from '../../volumes/index.js';
import type { ServiceContext } from './context.js';
import type { ContainerConfig, ContainerRecordState, HostConfig } from './types.js';

export function fallbackMountPoints(host: HostConfig): MountPoint[] {
  return planMounts({ binds: host.Binds, mounts: null, tmpfs: host.Tmpfs, volumesFrom: [], configVolumes: null });
}

export function mountPointsOf(s: Pick<ContainerRecordState, 'MountPoints' | 'HostConfig'>): MountPoint[] {
  return s.MountPoints ?? fallbackMountPoints(s.HostConfig);
}

/** Create-time planning: the --volumes-from sources are looked up here, the rest is the volume module's pure planner. */
export function planContainerMounts(ctx: ServiceContext, config: ContainerConfig, host: HostConfig): MountPoint[] {
  const from = ((host.VolumesFrom as string[] | null | undefined) ?? []).map((spec) => {
    const { container, mode } = parseVolumesFrom(spec);
    return { mode, points: mountPointsOf(ctx.registry.get(container).state) };
  });
  return planMounts({
    binds: host.Binds,
    mounts: (host.Mounts as unknown[] | null | undefined) ?? null,
    tmpfs: host.Tmpfs,
    volumesFrom: from,
    configVolumes: config.Volumes,
  });
}

/**
 * dockerd's volume events around a container's run: `mount` of each named
 * volume as it starts (with destination, read/write and propagation),
 * `unmount` as it stops.
 */
export function publishVolumeEvents(ctx: ServiceContext, containerId: string, points: readonly MountPoint[], action: 'mount' | 'unmount'): void {
  for (const p of points) {
    if (p.Type !== 'volume' || p.Name === '') continue;
    const attrs: Record<string, string> = { driver: p.Driver, container: containerId };
    if (action === 'mount') Object.assign(attrs, { destination: p.Destination, 'read/write': String(p.RW), propagation: p.Propagation });
    ctx.deps.events.publish('volume', action, p.Name, attrs);
  }
}
