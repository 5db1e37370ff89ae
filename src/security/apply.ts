// The security part of a container's OCI spec: capabilities, seccomp,
// no-new-privileges, rlimits, devices and --init. `checkSecurity` runs at
// create (pure, every 4xx found before a start); `secureSpec` at start with
// the facts the edge gathered.
import { internal } from '../errors/index.js';
import { DEFAULT_DEVICES, type OciDevice, type OciDeviceRule, type OciMount } from '../oci/index.js';
import { containerCapabilities, type CapabilityLimits } from './capabilities.js';
import { checkDeviceMappings, parseDeviceCgroupRule, type DeviceMapping } from './devices.js';
import { checkSysctls, checkUlimits, rlimits, type Ulimit } from './limits.js';
import { parseSecurityOpts } from './options.js';
import { defaultSeccomp, resolveProfile, type OciSeccomp } from './seccomp.js';
import { INIT_DESTINATION, withInit } from './init.js';

/** The HostConfig fields this module reads. */
export interface SecurityHostConfig {
  Privileged?: boolean;
  CapAdd?: readonly string[] | null;
  CapDrop?: readonly string[] | null;
  SecurityOpt?: readonly string[] | null;
  Ulimits?: unknown;
  Sysctls?: Readonly<Record<string, string>>;
  Devices?: unknown;
  DeviceCgroupRules?: readonly string[] | null;
  Init?: boolean | null;
  BlkioWeight?: unknown;
  BlkioWeightDevice?: unknown;
  BlkioDeviceReadBps?: unknown;
  BlkioDeviceWriteBps?: unknown;
  BlkioDeviceReadIOps?: unknown;
  BlkioDeviceWriteIOps?: unknown;
  NetworkMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  PidMode?: string;
}

/** The daemon's settings (daemon.json) as the module uses them. */
export interface SecurityDefaults {
  /** undefined: berth's profile; `unconfined`; or the JSON text of a profile */
  seccompProfile?: string;
  noNewPrivileges?: boolean;
  defaultUlimits?: readonly Ulimit[];
  init?: boolean;
  initBinary?: string;
}

/** Facts of the host, gathered at the edge. */
export interface SecurityFacts {
  capabilityLimits: CapabilityLimits;
  kernel: string;
  apparmor: boolean;
  /** the host's devices (for --privileged) */
  hostDevices: () => OciDevice[];
  /** the blkio controller takes a weight (with CFQ or BFQ; dockerd discards it otherwise) */
  blkioWeight: boolean;
  /** major and minor of a host device node */
  deviceNumber: (path: string) => { major: number; minor: number };
  /** a --device mapping resolved against the host */
  mapDevice: (m: DeviceMapping) => { devices: OciDevice[]; rules: OciDeviceRule[] };
}

/** The parts of the OCI spec this module sets. */
export interface SecurableSpec {
  process: {
    args: string[];
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
    [field: string]: unknown;
  };
  mounts: OciMount[];
  linux: Record<string, unknown>;
}

function wantsInit(host: SecurityHostConfig, defaults: SecurityDefaults): boolean {
  // dockerd adds its init only to a PID namespace of the container's own.
  return (host.Init ?? defaults.init ?? false) === true && (host.PidMode ?? '') === '';
}

/** Every check that can fail a create; throws 400s with dockerd's texts. */
export function checkSecurity(host: SecurityHostConfig, limits: CapabilityLimits = {}): void {
  const opts = parseSecurityOpts(host.SecurityOpt);
  const caps = containerCapabilities(host, limits);
  if (opts.seccomp?.kind === 'profile') resolveProfile(opts.seccomp.json, { capabilities: caps, kernel: '0.0' });
  checkUlimits(host.Ulimits);
  checkSysctls(host.Sysctls, {
    hostNetwork: host.NetworkMode === 'host',
    hostIpc: host.IpcMode === 'host',
    hostUts: host.UTSMode === 'host',
  });
  checkDeviceMappings(host.Devices);
  for (const rule of host.DeviceCgroupRules ?? []) parseDeviceCgroupRule(rule);
}

function seccompFor(
  host: SecurityHostConfig,
  caps: string[],
  defaults: SecurityDefaults,
  facts: SecurityFacts,
): OciSeccomp | undefined {
  const choice = parseSecurityOpts(host.SecurityOpt).seccomp;
  const ctx = { capabilities: caps, kernel: facts.kernel };
  if (choice?.kind === 'unconfined') return undefined;
  if (choice?.kind === 'profile') return resolveProfile(choice.json, ctx);
  if (choice?.kind === 'builtin') return defaultSeccomp(caps);
  // --privileged runs unfiltered unless a profile was asked for.
  if (choice === undefined && host.Privileged === true) return undefined;
  if (defaults.seccompProfile === 'unconfined') return undefined;
  if (defaults.seccompProfile !== undefined) return resolveProfile(defaults.seccompProfile, ctx);
  return defaultSeccomp(caps);
}

const THROTTLES = [
  ['BlkioDeviceReadBps', 'throttleReadBpsDevice', 'Rate'],
  ['BlkioDeviceWriteBps', 'throttleWriteBpsDevice', 'Rate'],
  ['BlkioDeviceReadIOps', 'throttleReadIOPSDevice', 'Rate'],
  ['BlkioDeviceWriteIOps', 'throttleWriteIOPSDevice', 'Rate'],
  ['BlkioWeightDevice', 'weightDevice', 'Weight'],
] as const;

/** OCI linux.resources.blockIO from --blkio-weight and the per-device limits. */
function blkio(host: SecurityHostConfig, facts: SecurityFacts): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (typeof host.BlkioWeight === 'number' && host.BlkioWeight > 0 && facts.blkioWeight) out.weight = host.BlkioWeight;
  for (const [field, oci, key] of THROTTLES) {
    const list = host[field];
    if (!Array.isArray(list) || list.length === 0) continue;
    if (key === 'Weight' && !facts.blkioWeight) continue;
    out[oci] = list.map((e: unknown) => {
      const o = (e ?? {}) as Record<string, unknown>;
      const { major, minor } = facts.deviceNumber(String(o.Path ?? ''));
      return key === 'Weight' ? { major, minor, weight: Number(o.Weight ?? 0) } : { major, minor, rate: Number(o.Rate ?? 0) };
    });
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function mergeDevices(base: readonly OciDevice[], extra: readonly OciDevice[]): OciDevice[] {
  const byPath = new Map<string, OciDevice>();
  for (const d of [...base, ...extra]) byPath.set(d.path, d);
  return [...byPath.values()];
}

/** Sets the security fields of a spec built by the container module. */
export function secureSpec(spec: SecurableSpec, host: SecurityHostConfig, defaults: SecurityDefaults, facts: SecurityFacts): void {
  const opts = parseSecurityOpts(host.SecurityOpt);
  const caps = containerCapabilities(host, facts.capabilityLimits);
  spec.process.capabilities = { bounding: caps, effective: caps.slice(), permitted: caps.slice() };
  spec.process.noNewPrivileges = opts.noNewPrivileges ?? defaults.noNewPrivileges ?? false;
  if (facts.apparmor && opts.apparmor !== undefined && opts.apparmor !== 'unconfined') spec.process.apparmorProfile = opts.apparmor;
  const limits = rlimits(defaults.defaultUlimits ?? [], checkUlimits(host.Ulimits));
  if (limits.length > 0) spec.process.rlimits = limits;

  const seccomp = seccompFor(host, caps, defaults, facts);
  if (seccomp !== undefined) spec.linux.seccomp = seccomp;
  else delete spec.linux.seccomp;

  const current = (spec.linux.devices as OciDevice[] | undefined) ?? DEFAULT_DEVICES.map((d) => ({ ...d }));
  const resources = (spec.linux.resources ??= {}) as { devices?: OciDeviceRule[] };
  const rules = resources.devices ?? [];
  const extra: OciDevice[] = host.Privileged === true ? facts.hostDevices() : [];
  for (const m of checkDeviceMappings(host.Devices)) {
    const mapped = facts.mapDevice(m);
    extra.push(...mapped.devices);
    rules.push(...mapped.rules);
  }
  for (const rule of host.DeviceCgroupRules ?? []) rules.push(parseDeviceCgroupRule(rule));
  resources.devices = rules;
  spec.linux.devices = mergeDevices(current, extra);

  const blockIO = blkio(host, facts);
  if (blockIO !== undefined) (spec.linux.resources as Record<string, unknown>).blockIO = blockIO;

  if (wantsInit(host, defaults)) {
    if (defaults.initBinary === undefined) {
      throw internal('docker-init binary not found: install tini (tini-static) or set init-path in daemon.json');
    }
    spec.process.args = withInit(spec.process.args);
    spec.mounts = spec.mounts.filter((m) => m.destination !== INIT_DESTINATION);
    spec.mounts.push({ destination: INIT_DESTINATION, type: 'bind', source: defaults.initBinary, options: ['bind', 'ro'] });
  }
}
