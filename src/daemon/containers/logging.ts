// A container's log driver: completed and checked at create (daemon default,
// dockerd's messages), turned into the log file's options at each start, and
// refused for `docker logs` when the driver keeps nothing to read.
import { invalidParameter, notImplemented } from '../../errors/index.js';
import { READ_NOT_SUPPORTED, logAttributes, resolveLogConfig, rotationOf, type DaemonLogDefaults, type LogConfig } from '../../logdrivers/index.js';
import type { LogFileOptions } from '../io/index.js';
import type { ContainerRecordState } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** HostConfig.LogConfig of a create request, completed from the daemon's default; 400 when unknown or malformed. */
export function createLogConfig(requested: unknown, defaults: DaemonLogDefaults): LogConfig {
  if (requested !== undefined && requested !== null && !isObject(requested)) {
    throw invalidParameter('invalid field HostConfig.LogConfig: expected an object');
  }
  const type = requested?.Type;
  if (type !== undefined && type !== null && typeof type !== 'string') throw invalidParameter('invalid field HostConfig.LogConfig.Type: expected a string');
  const config = requested?.Config;
  if (config !== undefined && config !== null) {
    if (!isObject(config)) throw invalidParameter('invalid field HostConfig.LogConfig.Config: expected an object of strings');
    for (const [k, v] of Object.entries(config)) {
      if (typeof v !== 'string') throw invalidParameter(`invalid field HostConfig.LogConfig.Config.${k}: expected a string`);
    }
  }
  return resolveLogConfig({ Type: type ?? '', Config: (config ?? {}) as Record<string, string> }, defaults);
}

/** The driver a container logs with; records made before drivers existed use json-file. */
export function logConfigOf(s: Pick<ContainerRecordState, 'HostConfig'>): LogConfig {
  const lc = s.HostConfig.LogConfig as Partial<LogConfig> | undefined;
  return { Type: lc?.Type || 'json-file', Config: lc?.Config ?? {} };
}

/** Where the init process's output is logged, and how: undefined for the none driver. */
export function initLogOptions(s: ContainerRecordState): { path: string; options: LogFileOptions } | undefined {
  const lc = logConfigOf(s);
  if (lc.Type === 'none' || s.LogPath === '') return undefined;
  const rotation = rotationOf(lc.Type, lc.Config);
  const options: LogFileOptions = {
    maxFile: rotation.maxFile,
    compress: rotation.compress,
    attrs: logAttributes(lc.Config, {
      id: s.Id,
      name: s.Name,
      imageName: s.ImageName ?? s.Config.Image,
      imageId: s.Image,
      command: [s.Path, ...s.Args].join(' '),
      labels: s.Config.Labels ?? {},
      env: s.Config.Env ?? [],
      daemonName: 'berth',
    }),
  };
  if (rotation.maxSize !== undefined) options.maxSize = rotation.maxSize;
  return { path: s.LogPath, options };
}

/** `docker logs` of a container whose driver keeps nothing: dockerd's 501. */
export function checkLogsReadable(s: Pick<ContainerRecordState, 'HostConfig'>): void {
  if (logConfigOf(s).Type === 'none') throw notImplemented(READ_NOT_SUPPORTED);
}

/** dockerd's answer to --storage-opt on overlay without an xfs project quota, which is what berth's snapshots are. */
export function refuseStorageOpt(storageOpt: unknown): void {
  if (isObject(storageOpt) && Object.keys(storageOpt).length > 0) {
    throw invalidParameter("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  }
}
