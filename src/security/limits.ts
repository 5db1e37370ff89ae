// --ulimit and --sysctl: checks with dockerd's and runc's messages, and their
// OCI form. Pure.
import { invalidParameter } from '../errors/index.js';

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

const ULIMIT_NAMES = new Set([
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss',
  'rtprio', 'rttime', 'sigpending', 'stack',
]);

function readUlimit(v: unknown): Ulimit {
  if (typeof v !== 'object' || v === null) throw invalidParameter('invalid ulimit: expected {"Name","Soft","Hard"}');
  const o = v as Record<string, unknown>;
  const name = o.Name;
  const soft = o.Soft ?? 0;
  const hard = o.Hard ?? 0;
  if (typeof name !== 'string' || !ULIMIT_NAMES.has(name)) throw invalidParameter(`invalid ulimit type: ${String(name)}`);
  if (typeof soft !== 'number' || typeof hard !== 'number' || !Number.isInteger(soft) || !Number.isInteger(hard)) {
    throw invalidParameter(`invalid ulimit ${name}: limits must be integers`);
  }
  // -1 is unlimited: dockerd makes the limits uint64, and -1 becomes RLIM_INFINITY.
  if (soft < -1 || hard < -1) throw invalidParameter(`invalid ulimit ${name}: limits must be 0 or more, or -1 for unlimited`);
  if (rlimitValue(soft) > rlimitValue(hard)) throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/** Checks HostConfig.Ulimits (or daemon.json default-ulimits values). */
export function checkUlimits(list: unknown): Ulimit[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidParameter('invalid ulimits: expected a list');
  return list.map(readUlimit);
}

/** The daemon's defaults overridden by the container's, by name. */
export function rlimits(defaults: readonly Ulimit[], own: readonly Ulimit[]): OciRlimit[] {
  const byName = new Map<string, Ulimit>();
  for (const u of [...defaults, ...own]) byName.set(u.Name, u);
  return [...byName.values()].map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, hard: rlimitValue(u.Hard), soft: rlimitValue(u.Soft) }));
}

/**
 * RLIM_INFINITY (2^64-1) as a JavaScript number: 2^64, the double that
 * JSON.parse makes of it too; jsonAny (containerd) writes it back exactly.
 */
export const RLIM_INFINITY = 2 ** 64;

function rlimitValue(limit: number): number {
  return limit === -1 ? RLIM_INFINITY : limit;
}

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax',
  'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/** Only sysctls of namespaces the container has of its own can be set. */
export function checkSysctls(
  sysctls: Readonly<Record<string, string>> | undefined,
  ns: { hostNetwork: boolean; hostIpc: boolean; hostUts: boolean },
): void {
  for (const key of Object.keys(sysctls ?? {})) {
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (ns.hostIpc) throw invalidParameter(`sysctl "${key}" not allowed with host ipc namespace`);
    } else if (key.startsWith('net.')) {
      if (ns.hostNetwork) throw invalidParameter(`sysctl "${key}" not allowed in host network namespace`);
    } else if (key === 'kernel.domainname' || key === 'kernel.hostname') {
      if (ns.hostUts) throw invalidParameter(`sysctl "${key}" not allowed with host uts namespace`);
    } else {
      throw invalidParameter(`sysctl "${key}" is not in a separate kernel namespace`);
    }
  }
}

/**
 * OomScoreAdj as the host lets it be applied: dockerd's range check, then,
 * when berthd may not go below its own value (no CAP_SYS_RESOURCE; runc then
 * fails the start), the closest value it may set and a create warning.
 */
export function clampOomScoreAdj(requested: number, floor: number | undefined): { value: number; warning?: string } {
  if (requested < -1000 || requested > 1000) throw invalidParameter(`Invalid value ${requested}, range for oom score adj is [-1000, 1000]`);
  if (floor === undefined || requested >= floor) return { value: requested };
  return {
    value: floor,
    warning: `OomScoreAdj ${requested} is below the daemon's own oom_score_adj (${floor}) and the daemon lacks CAP_SYS_RESOURCE: ${floor} is applied instead`,
  };
}
