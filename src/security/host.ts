// Facts about the host the security settings depend on, read once.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { invalidParameter } from '../errors/index.js';
import type { SecurityDefaults, SecurityFacts } from './apply.js';
import { deviceNumber, hostDevices, mappedDevices } from './devices.js';

const BLKIO_WEIGHT = ((): boolean => {
  if (existsSync('/sys/fs/cgroup/blkio/blkio.weight') || existsSync('/sys/fs/cgroup/blkio/blkio.bfq.weight')) return true;
  try {
    // v2: io.weight appears in the children of a hierarchy with the io controller
    return readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('io');
  } catch {
    return false;
  }
})();
import { findInitBinary, INIT_BINARY_NAME, initVersion } from './init.js';
import type { Ulimit } from './limits.js';
import type { CapabilityLimits } from './capabilities.js';

let limits: CapabilityLimits | undefined;

/** /proc/sys/kernel/cap_last_cap and berthd's own CapBnd (what is missing there no child can get). */
export function capabilityLimits(): CapabilityLimits {
  if (limits === undefined) {
    limits = {};
    try {
      const n = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim(), 10);
      if (Number.isInteger(n)) limits.lastCap = n;
    } catch {
      /* unknown: all of Linux's */
    }
    try {
      const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m?.[1] !== undefined) limits.bounding = BigInt(`0x${m[1]}`);
    } catch {
      /* unknown */
    }
  }
  return limits;
}

/**
 * The lowest oom_score_adj berthd can give a child: its own, unless it holds
 * CAP_SYS_RESOURCE (capability 24), which lets it go lower; undefined then.
 */
export function oomScoreAdjFloor(): number | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1] !== undefined && (BigInt(`0x${m[1]}`) & (1n << 24n)) !== 0n) return undefined;
    return Number.parseInt(readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
}

export const kernelRelease = release();

export interface Lsms {
  apparmor: boolean;
  selinux: boolean;
}

let lsms: Lsms | undefined;

export function hostLsms(): Lsms {
  lsms ??= {
    apparmor: (() => {
      try {
        return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
      } catch {
        return false;
      }
    })(),
    selinux: existsSync('/sys/fs/selinux/enforce'),
  };
  return lsms;
}

const profiles = new Map<string, string>();

/**
 * daemon.json `seccomp-profile`: `builtin`, `unconfined`, or the path of a
 * JSON profile, read once (as dockerd, a changed file takes a restart).
 */
export function daemonSeccompProfile(setting: string | undefined): string | undefined {
  if (setting === undefined || setting === '' || setting === 'builtin') return undefined;
  if (setting === 'unconfined') return setting;
  let text = profiles.get(setting);
  if (text === undefined) {
    try {
      text = readFileSync(setting, 'utf8');
    } catch (err) {
      throw invalidParameter(`opening seccomp profile (${setting}) failed: ${(err as Error).message}`);
    }
    profiles.set(setting, text);
  }
  return text;
}

/** The host facts secureSpec needs, from this machine. */
export function hostSecurityFacts(): SecurityFacts {
  return {
    capabilityLimits: capabilityLimits(),
    kernel: kernelRelease,
    apparmor: hostLsms().apparmor,
    hostDevices: () => hostDevices(),
    mapDevice: mappedDevices,
    blkioWeight: BLKIO_WEIGHT,
    deviceNumber,
  };
}

const initBinaries = new Map<string, string | undefined>();

/** The daemon's security settings for secureSpec, from its configuration. */
export function securityDefaults(config: {
  seccompProfile?: string;
  noNewPrivileges?: boolean;
  defaultUlimits?: Record<string, Ulimit>;
  init?: boolean;
  initPath?: string;
}): SecurityDefaults {
  const key = config.initPath ?? '';
  if (!initBinaries.has(key)) initBinaries.set(key, findInitBinary(config.initPath));
  const out: SecurityDefaults = {};
  const profile = daemonSeccompProfile(config.seccompProfile);
  if (profile !== undefined) out.seccompProfile = profile;
  if (config.noNewPrivileges !== undefined) out.noNewPrivileges = config.noNewPrivileges;
  if (config.defaultUlimits !== undefined) out.defaultUlimits = Object.values(config.defaultUlimits);
  if (config.init !== undefined) out.init = config.init;
  const binary = initBinaries.get(key);
  if (binary !== undefined) out.initBinary = binary;
  return out;
}

const initCommits = new Map<string, Promise<string>>();

/** docker info's SecurityOptions, InitBinary and InitCommit for this configuration. */
export async function securityInfo(config: { seccompProfile?: string; noNewPrivileges?: boolean; initPath?: string }): Promise<{
  SecurityOptions: string[];
  InitBinary: string;
  InitCommit: { ID: string };
}> {
  const opts: string[] = [];
  const l = hostLsms();
  if (l.apparmor) opts.push('name=apparmor');
  if (l.selinux) opts.push('name=selinux');
  // as dockerd: builtin, unconfined, or the profile file's path
  const profile = config.seccompProfile === undefined || config.seccompProfile === '' ? 'builtin' : config.seccompProfile;
  opts.push(`name=seccomp,profile=${profile}`);
  if (config.noNewPrivileges === true) opts.push('name=no-new-privileges');
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) opts.push('name=cgroupns');
  const key = config.initPath ?? '';
  let commit = initCommits.get(key);
  if (commit === undefined) {
    commit = initVersion(findInitBinary(config.initPath));
    initCommits.set(key, commit);
  }
  return { SecurityOptions: opts, InitBinary: INIT_BINARY_NAME, InitCommit: { ID: await commit } };
}
