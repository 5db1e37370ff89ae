// The OCI runtime spec of a plugin's task, derived from its config and
// settings. Pure: host lookups (devices) are resolved by the caller.
import { invalidParameter } from '../errors/index.js';
import type { PluginObject } from './types.js';
import { DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, defaultMounts, type OciDevice, type OciDeviceRule, type OciMount } from '../oci/index.js';

export { DEFAULT_CAPABILITIES };

/** /dev/shm of a plugin: dockerd's 64 MiB default. */
const PLUGIN_SHM_SIZE = 64 * 1024 * 1024;

/** Where a plugin's sockets live inside it; bind-mounted from <exec-root>/plugins/<id>. */
export const PLUGIN_SOCKET_DIR = '/run/docker/plugins';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Character devices every plugin may use (null, zero, full, random, urandom, tty, console, ptmx, pts). */
const DEFAULT_ALLOWED_DEVICES: readonly OciDeviceRule[] = [
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  mounts: OciMount[];
  linux: {
    namespaces: { type: string }[];
    resources: { devices: OciDeviceRule[] };
    devices: OciDevice[];
    cgroupsPath: string;
    maskedPaths: string[];
    readonlyPaths: string[];
    rootfsPropagation?: string;
  };
}

export interface SpecPaths {
  /** absolute host path of the plugin's rootfs */
  rootfs: string;
  /** host directory bind-mounted at /run/docker/plugins */
  socketDir: string;
  /** host directory behind Config.PropagatedMount */
  propagatedMountDir: string;
  cgroupsPath: string;
}

function withCaps(extra: readonly string[]): string[] {
  return [...new Set([...DEFAULT_CAPABILITIES, ...extra])];
}

/**
 * The spec for `plugin`. `devices` holds the host devices its settings name,
 * already looked up (see resolveDevice).
 */
export function buildPluginSpec(plugin: PluginObject, paths: SpecPaths, devices: readonly OciDevice[] = []): OciSpec {
  const { Config: config, Settings: settings } = plugin;
  const userMounts: OciMount[] = [];
  for (const m of settings.Mounts) {
    if (m.Source === null && m.Type === 'bind') {
      throw invalidParameter(
        `plugin ${plugin.Name}: mount ${m.Name || m.Destination} has no source: give one with "docker plugin set ${plugin.Name} ${m.Name || '<mount>'}.source=/host/path"`,
      );
    }
    userMounts.push({ destination: m.Destination, type: m.Type, source: m.Source ?? m.Type, options: [...m.Options] });
  }
  userMounts.push({ destination: PLUGIN_SOCKET_DIR, type: 'bind', source: paths.socketDir, options: ['rbind', 'rw'] });
  if (config.Network.Type !== '') {
    for (const f of ['/etc/hosts', '/etc/resolv.conf']) userMounts.push({ destination: f, type: 'bind', source: f, options: ['rbind', 'ro'] });
  }
  let rootfsPropagation: string | undefined;
  if (config.PropagatedMount !== '') {
    userMounts.push({
      destination: config.PropagatedMount,
      type: 'bind',
      source: paths.propagatedMountDir,
      options: ['rbind', 'rw', 'rshared'],
    });
    rootfsPropagation = 'rshared';
  }
  const taken = new Set(userMounts.map((m) => m.destination));
  const mounts = [...defaultMounts(PLUGIN_SHM_SIZE, true).filter((m) => !taken.has(m.destination)), ...userMounts];

  const namespaces = ['mount', 'uts', 'pid', 'ipc', 'network'].filter((ns) => {
    if (ns === 'network') return config.Network.Type !== 'host';
    if (ns === 'pid') return !config.PidHost;
    if (ns === 'ipc') return !config.IpcHost;
    return true;
  });

  const rules: OciDeviceRule[] = [{ allow: false, access: 'rwm' }, ...DEFAULT_ALLOWED_DEVICES.map((r) => ({ ...r }))];
  if (config.Linux.AllowAllDevices) rules.push({ allow: true, access: 'rwm' });
  for (const d of devices) rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' });

  const caps = withCaps(config.Linux.Capabilities);
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: config.User?.UID ?? 0, gid: config.User?.GID ?? 0 },
      args: [...config.Entrypoint, ...settings.Args],
      env: settings.Env.some((e) => e.startsWith('PATH=')) ? [...settings.Env] : [`PATH=${DEFAULT_PATH}`, ...settings.Env],
      cwd: config.WorkDir === '' ? '/' : config.WorkDir,
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      noNewPrivileges: false,
    },
    root: { path: paths.rootfs, readonly: false },
    mounts,
    linux: {
      namespaces: namespaces.map((type) => ({ type })),
      resources: { devices: rules },
      devices: [...devices],
      cgroupsPath: paths.cgroupsPath,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (rootfsPropagation !== undefined) spec.linux.rootfsPropagation = rootfsPropagation;
  return spec;
}
