// Builds the OCI runtime spec of a container from its stored config. Pure:
// everything it needs (resolved user, file paths) is passed in.
import { processEnv } from './command.js';
import { containerCapabilities, secureSpec, type SecurityDefaults, type SecurityFacts } from '../../security/index.js';
import {
  DEFAULT_DEVICE_RULES,
  DEFAULT_DEVICES,
  MASKED_PATHS,
  READONLY_PATHS,
  defaultMounts,
  type OciMount,
} from '../../oci/index.js';
import { ociMount, type MountPoint } from '../../volumes/index.js';
import { fallbackMountPoints } from './mounts.js';
import type { ContainerConfig, HostConfig } from './types.js';
import type { ProcessUser } from './user.js';

export const OCI_VERSION = '1.0.2';

export interface SpecInput {
  id: string;
  namespace: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  path: string;
  args: readonly string[];
  user: ProcessUser;
  /** berth-written files bind-mounted over the image's */
  etc: { hosts: string; hostname: string; resolvConf: string };
  /** volumes, binds and tmpfs (planned at create) */
  mountPoints?: readonly MountPoint[];
  /** the host runs the unified cgroup hierarchy: give the container its own cgroup namespace */
  cgroupV2?: boolean;
  /** the network namespace berth made (or another container's) for the task to join */
  netnsPath?: string;
  /** namespaces of other containers (IpcMode/PidMode container:) and the /dev/shm a joiner shares */
  joined?: JoinedNamespaces;
  /** daemon security settings and host facts: seccomp, devices, --init, ulimits */
  security?: { defaults: SecurityDefaults; facts: SecurityFacts };
}

/** What a start resolved for the `container:` and `host` IPC/PID modes. */
export interface JoinedNamespaces {
  ipc?: string;
  pid?: string;
  /** bind-mounted at /dev/shm instead of a tmpfs of its own */
  shmSource?: string;
}

/** `container:<ref>` → ref; anything else → undefined. */
export function containerModeTarget(mode: string | undefined): string | undefined {
  return mode !== undefined && mode.startsWith('container:') ? mode.slice('container:'.length) : undefined;
}

export interface OciProcess {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; additionalGids: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  noNewPrivileges: boolean;
  oomScoreAdj: number;
  [field: string]: unknown;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  /** absent with the host's UTS namespace, which runc cannot name */
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: Record<string, unknown>;
  annotations?: Record<string, string>;
}

export function isHostNetwork(host: Pick<HostConfig, 'NetworkMode'>): boolean {
  return host.NetworkMode === 'host';
}

export function buildProcess(input: Pick<SpecInput, 'config' | 'hostConfig' | 'path' | 'args' | 'user'>): OciProcess {
  const { config, hostConfig } = input;
  const caps = containerCapabilities(hostConfig);
  const proc: OciProcess = {
    terminal: config.Tty,
    user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids.slice() },
    args: [input.path, ...input.args],
    env: processEnv(config),
    cwd: config.WorkingDir === '' ? '/' : config.WorkingDir,
    capabilities: { bounding: caps, effective: caps.slice(), permitted: caps.slice() },
    noNewPrivileges: false,
    oomScoreAdj: hostConfig.OomScoreAdj,
  };
  const size = hostConfig.ConsoleSize;
  if (config.Tty && Array.isArray(size) && size.length === 2 && (size[0] as number) > 0 && (size[1] as number) > 0) {
    proc.consoleSize = { height: size[0] as number, width: size[1] as number };
  }
  return proc;
}

function mounts(input: SpecInput): OciMount[] {
  const host = input.hostConfig;
  const user: OciMount[] = (input.mountPoints ?? fallbackMountPoints(host)).map(ociMount);
  const taken = new Set(user.map((m) => m.destination));
  const etc: OciMount[] = [
    { destination: '/etc/resolv.conf', type: 'bind', source: input.etc.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: input.etc.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: input.etc.hosts, options: ['rbind', 'rprivate'] },
  ];
  return [...defaultMounts(host.ShmSize, !host.Privileged).flatMap((m) => (m.destination === '/dev/shm' ? shmMounts(host, input.joined) : [m])), ...etc]
    .filter((m) => !taken.has(m.destination))
    .concat(user);
}

/**
 * /dev/shm as dockerd sets it: none for IpcMode none, the host's for host,
 * the donor's for container: (its SysV segments come with the namespace,
 * its POSIX ones live in this directory), a tmpfs of its own otherwise.
 */
function shmMounts(host: HostConfig, joined: JoinedNamespaces | undefined): OciMount[] {
  if (host.IpcMode === 'none') return [];
  if (host.IpcMode === 'host') return [{ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }];
  if (joined?.shmSource !== undefined) return [{ destination: '/dev/shm', type: 'bind', source: joined.shmSource, options: ['rbind', 'rprivate'] }];
  return defaultMounts(host.ShmSize, true).filter((m) => m.destination === '/dev/shm');
}

function namespaces(input: SpecInput): Array<{ type: string; path?: string }> {
  const host = input.hostConfig;
  const ns: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  if (input.netnsPath !== undefined) ns.push({ type: 'network', path: input.netnsPath });
  else if (!isHostNetwork(host)) ns.push({ type: 'network' });
  if (host.UTSMode !== 'host') ns.push({ type: 'uts' });
  for (const [type, mode, path] of [['pid', host.PidMode, input.joined?.pid], ['ipc', host.IpcMode, input.joined?.ipc]] as const) {
    if (path !== undefined) ns.push({ type, path });
    else if (mode !== 'host') ns.push({ type });
  }
  if (host.CgroupnsMode === 'private' || (input.cgroupV2 && host.CgroupnsMode !== 'host')) ns.push({ type: 'cgroup' });
  return ns;
}

/** OCI linux.resources of a HostConfig (also what `docker update` sends to a running task). */
export function linuxResources(host: HostConfig): Record<string, unknown> {
  const res: Record<string, unknown> = {
    devices: host.Privileged ? [{ allow: true, access: 'rwm' }] : DEFAULT_DEVICE_RULES.map((r) => ({ ...r })),
  };
  const memory: Record<string, unknown> = {};
  if (host.Memory > 0) {
    memory.limit = host.Memory;
    memory.swap = host.MemorySwap !== 0 ? host.MemorySwap : host.Memory * 2;
  }
  if (host.OomKillDisable === true) memory.disableOOMKiller = true;
  if (typeof host.MemoryReservation === 'number' && host.MemoryReservation > 0) memory.reservation = host.MemoryReservation;
  if (typeof host.MemorySwappiness === 'number' && host.MemorySwappiness >= 0) memory.swappiness = host.MemorySwappiness;
  if (Object.keys(memory).length > 0) res.memory = memory;
  const cpu: Record<string, unknown> = {};
  if (host.CpuShares > 0) cpu.shares = host.CpuShares;
  if (host.NanoCpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.floor((host.NanoCpus * 100_000) / 1e9);
  } else {
    if (host.CpuPeriod > 0) cpu.period = host.CpuPeriod;
    if (host.CpuQuota > 0) cpu.quota = host.CpuQuota;
  }
  if (host.CpusetCpus !== '') cpu.cpus = host.CpusetCpus;
  if (host.CpusetMems !== '') cpu.mems = host.CpusetMems;
  if (typeof host.CpuRealtimePeriod === 'number' && host.CpuRealtimePeriod > 0) cpu.realtimePeriod = host.CpuRealtimePeriod;
  if (typeof host.CpuRealtimeRuntime === 'number' && host.CpuRealtimeRuntime > 0) cpu.realtimeRuntime = host.CpuRealtimeRuntime;
  if (Object.keys(cpu).length > 0) res.cpu = cpu;
  if (host.PidsLimit !== null && host.PidsLimit > 0) res.pids = { limit: host.PidsLimit };
  return res;
}

export function buildSpec(input: SpecInput): OciSpec {
  const { config, hostConfig: host } = input;
  const sysctl: Record<string, string> = isHostNetwork(host)
    ? {}
    : { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' };
  Object.assign(sysctl, host.Sysctls ?? {});
  const parent = typeof host.CgroupParent === 'string' && host.CgroupParent !== '' ? host.CgroupParent : `/berth/${input.namespace}`;
  const linux: Record<string, unknown> = {
    sysctl,
    resources: linuxResources(host),
    cgroupsPath: `${parent.replace(/\/+$/, '')}/${input.id}`,
    namespaces: namespaces(input),
    devices: DEFAULT_DEVICES.map((d) => ({ ...d })),
    maskedPaths: host.Privileged ? [] : (host.MaskedPaths ?? [...MASKED_PATHS]),
    readonlyPaths: host.Privileged ? [] : (host.ReadonlyPaths ?? [...READONLY_PATHS]),
  };
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: buildProcess(input),
    root: host.ReadonlyRootfs ? { path: 'rootfs', readonly: true } : { path: 'rootfs' },
    mounts: mounts(input),
    linux,
  };
  if (host.UTSMode !== 'host') {
    spec.hostname = config.Hostname;
    if (config.Domainname !== '') spec.domainname = config.Domainname;
  }
  const annotations = host.Annotations as Record<string, string> | null | undefined;
  if (annotations && Object.keys(annotations).length > 0) spec.annotations = { ...annotations };
  if (input.security !== undefined) secureSpec(spec, host, input.security.defaults, input.security.facts);
  return spec;
}
