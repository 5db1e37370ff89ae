// Create-time mount planning: the container's --volumes-from sources are
// looked up here, the rest is the volume module's pure planner.
import { parseVolumesFrom, planMounts, type MountPoint } from '../../volumes/index.js';
import type { ServiceContext } from './context.js';
import { mountPointsOf } from './mounts.js';
import type { ContainerConfig, HostConfig } from './types.js';

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
