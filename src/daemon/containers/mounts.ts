// A container's mount points: planned at create by the volume module and kept
// in its record; records written before that are planned again from their
// binds and tmpfs (they could name no volume).
import { planMounts, type MountPoint } from '../../volumes/index.js';
import type { ContainerRecordState, HostConfig } from './types.js';

export function fallbackMountPoints(host: HostConfig): MountPoint[] {
  return planMounts({ binds: host.Binds, mounts: null, tmpfs: host.Tmpfs, volumesFrom: [], configVolumes: null });
}

export function mountPointsOf(s: Pick<ContainerRecordState, 'MountPoints' | 'HostConfig'>): MountPoint[] {
  return s.MountPoints ?? fallbackMountPoints(s.HostConfig);
}
