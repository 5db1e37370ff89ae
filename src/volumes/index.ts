// Public face of the volume module: the local volume store and driver, and
// the pure mount planning the container service uses at create.
export { VolumeService, type VolumeServiceOptions } from './service.js';
export { planMounts, parseBindSpec, parseMountConfig, parseVolumesFrom, tmpfsPoint, ociMount, mountView, validMountMode, tmpfsSize, type PlanInput } from './plan.js';
export { validateVolumeName, validateLocalOptions, localMountArgs } from './names.js';
export { LOCAL_DRIVER, ANONYMOUS_LABEL, type MountPoint, type MountView, type MountType, type VolumeView, type CreateVolumeOptions } from './types.js';
