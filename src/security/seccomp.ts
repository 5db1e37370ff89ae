// berth's default seccomp profile and the resolution of user profiles (in
// Docker's profile format) into the OCI `linux.seccomp` section. Pure.
//
// The default denies with EPERM, allows every syscall name Linux defines
// except the ones below, grants the capability-gated ones to containers that
// hold the capability, and argument-filters clone, clone3, socket and
// personality. It is built once per (architecture, capability set).
import { invalidParameter } from '../errors/index.js';
import { SYSCALL_NAMES } from './syscall-names.js';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** OCI runtime spec `linux.seccomp`. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls: SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;
/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID and NEWNET: a clone without namespaces has them all zero. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** Syscalls a container may make only while it holds one of the capabilities. */
const CAPABILITY_GATED: ReadonlyArray<{ caps: readonly string[]; names: readonly string[] }> = [
  {
    caps: ['CAP_SYS_ADMIN'],
    names: [
      'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lsm_set_self_attr', 'mount',
      'mount_setattr', 'move_mount', 'open_tree', 'open_tree_attr', 'pivot_root', 'quotactl', 'quotactl_fd',
      'setdomainname', 'sethostname', 'setns', 'umount', 'umount2', 'unshare',
    ],
  },
  { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'], names: ['bpf'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_PERFMON'], names: ['perf_event_open'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'], names: ['syslog'] },
  { caps: ['CAP_SYS_ADMIN', 'CAP_DAC_READ_SEARCH'], names: ['name_to_handle_at', 'open_by_handle_at'] },
  { caps: ['CAP_SYS_BOOT'], names: ['reboot', 'kexec_load', 'kexec_file_load'] },
  { caps: ['CAP_SYS_CHROOT'], names: ['chroot'] },
  {
    caps: ['CAP_SYS_MODULE'],
    names: ['init_module', 'finit_module', 'delete_module', 'create_module', 'query_module', 'get_kernel_syms'],
  },
  { caps: ['CAP_SYS_PACCT'], names: ['acct'] },
  {
    caps: ['CAP_SYS_PTRACE'],
    names: ['ptrace', 'kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev'],
  },
  { caps: ['CAP_SYS_RAWIO'], names: ['iopl', 'ioperm'] },
  {
    caps: ['CAP_SYS_TIME'],
    names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'],
  },
  { caps: ['CAP_SYS_TTY_CONFIG'], names: ['vhangup'] },
  {
    caps: ['CAP_SYS_NICE'],
    names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages'],
  },
];

/**
 * Never allowed by the default profile: kernel keyrings (not namespaced),
 * swap, userfaultfd and io_uring (frequent sources of kernel exploits), the
 * vm86 and LDT interfaces, and obsolete or unimplemented calls.
 */
const DENIED: readonly string[] = [
  'add_key', 'keyctl', 'request_key', 'swapon', 'swapoff', 'userfaultfd', 'io_uring_setup', 'io_uring_enter',
  'io_uring_register', 'vm86', 'vm86old', 'modify_ldt', 'uselib', 'ustat', 'sysfs', '_sysctl', 'nfsservctl',
  'lookup_dcookie', 'bdflush', 'afs_syscall', 'tuxcall', 'security', 'vserver', 'putpmsg', 'getpmsg', 'break',
  'ftime', 'gtty', 'stty', 'lock', 'mpx', 'prof', 'profil', 'idle',
];

/** Handled by argument-filtered rules below. */
const FILTERED: readonly string[] = ['socket', 'personality'];

/** personality(2) values programs use to query or set the plain Linux persona. */
const PERSONALITIES: readonly number[] = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const ARCHITECTURES: Readonly<Record<string, readonly string[]>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ia32: ['SCMP_ARCH_X86'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_ARM'],
  ppc64: ['SCMP_ARCH_PPC64LE'],
  s390x: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
  riscv64: ['SCMP_ARCH_RISCV64'],
  loong64: ['SCMP_ARCH_LOONGARCH64'],
};

const allGated = new Set(CAPABILITY_GATED.flatMap((g) => g.names));
const ALWAYS_ALLOWED: readonly string[] = SYSCALL_NAMES.filter(
  (n) => !allGated.has(n) && !DENIED.includes(n) && !FILTERED.includes(n),
);

const cache = new Map<string, OciSeccomp>();

/** The default profile for a process with these (bounding) capabilities; the same object for the same set. */
export function defaultSeccomp(capabilities: readonly string[], arch: string = process.arch): OciSeccomp {
  const caps = new Set(capabilities);
  const key = `${arch}:${[...caps].sort().join(',')}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const granted = CAPABILITY_GATED.filter((g) => g.caps.some((c) => caps.has(c))).flatMap((g) => g.names);
  const sysAdmin = caps.has('CAP_SYS_ADMIN');
  const syscalls: SeccompRule[] = [{ names: [...ALWAYS_ALLOWED, ...new Set(granted)], action: 'SCMP_ACT_ALLOW' }];
  if (!sysAdmin) {
    // clone without namespace flags; clone3 cannot be filtered by its
    // flags (they sit behind a pointer), so it says ENOSYS and glibc falls back to clone.
    const cloneArg = arch === 's390x' ? 1 : 0;
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: cloneArg, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  syscalls.push({ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] });
  for (const value of PERSONALITIES) {
    syscalls.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });
  }
  const profile: OciSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, syscalls };
  const archs = ARCHITECTURES[arch];
  if (archs !== undefined) profile.architectures = [...archs];
  deepFreeze(profile);
  cache.set(key, profile);
  return profile;
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

// ---- user profiles in Docker's format ----

const ACTIONS = new Set([
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
]);
const OPS = new Set([
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
]);
const NATIVE_ARCH: Readonly<Record<string, string>> = {
  x64: 'SCMP_ARCH_X86_64', ia32: 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM',
  ppc64: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64', loong64: 'SCMP_ARCH_LOONGARCH64',
};

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

type Obj = Record<string, unknown>;

function bad(message: string): Error {
  return invalidParameter(`invalid seccomp profile: ${message}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`${what} must be a list of strings`);
  return v as string[];
}

function action(v: unknown, what: string): string {
  if (typeof v !== 'string' || !ACTIONS.has(v)) throw bad(`unknown action ${JSON.stringify(v)} in ${what}`);
  return v;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (s: string): number[] => (s.match(/^(\d+)\.(\d+)/) ?? ['', '0', '0']).slice(1).map(Number);
  const [a = 0, b = 0] = parse(kernel);
  const [c = 0, d = 0] = parse(min);
  return a > c || (a === c && b >= d);
}

function matches(f: Filter | undefined, ctx: ProfileContext, arch: string): boolean {
  if (f === undefined) return true;
  if (f.arches !== undefined && f.arches.length > 0 && !f.arches.includes(arch)) return false;
  if (f.caps !== undefined && f.caps.length > 0 && !f.caps.every((c) => ctx.capabilities.includes(c))) return false;
  if (f.minKernel !== undefined && f.minKernel !== '' && !kernelAtLeast(ctx.kernel, f.minKernel)) return false;
  return true;
}

function excluded(f: Filter | undefined, ctx: ProfileContext, arch: string): boolean {
  if (f === undefined) return false;
  if (f.arches?.includes(arch) === true) return true;
  if (f.caps?.some((c) => ctx.capabilities.includes(c)) === true) return true;
  return f.minKernel !== undefined && f.minKernel !== '' && kernelAtLeast(ctx.kernel, f.minKernel);
}

function readFilter(v: unknown, what: string): Filter | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(`${what} must be an object`);
  const f: Filter = { caps: stringList(v.caps, `${what}.caps`), arches: stringList(v.arches, `${what}.arches`) };
  if (typeof v.minKernel === 'string') f.minKernel = v.minKernel;
  return f;
}

export interface ProfileContext {
  capabilities: readonly string[];
  /** running kernel release, e.g. 6.1.0 */
  kernel: string;
  arch?: string;
}

/** Docker goes by Go's names in includes/excludes arches. */
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** Checks a JSON profile (Docker's format, or already OCI-shaped) and resolves it for one container. */
export function resolveProfile(text: string, ctx: ProfileContext): OciSeccomp {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidParameter(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (!isObj(raw)) throw bad('the profile must be a JSON object');
  const arch = ctx.arch ?? process.arch;
  const goArch = GO_ARCH[arch] ?? arch;
  const out: OciSeccomp = { defaultAction: action(raw.defaultAction, 'defaultAction'), syscalls: [] };
  if (typeof raw.defaultErrnoRet === 'number') out.defaultErrnoRet = raw.defaultErrnoRet;
  if (raw.architectures !== undefined && raw.archMap !== undefined) {
    throw bad('use either architectures or archMap, not both');
  }
  const archs = stringList(raw.architectures, 'architectures');
  if (Array.isArray(raw.archMap)) {
    const native = NATIVE_ARCH[arch];
    for (const m of raw.archMap as unknown[]) {
      if (!isObj(m) || typeof m.architecture !== 'string') throw bad('archMap entries need an architecture');
      if (m.architecture === native) archs.push(m.architecture, ...stringList(m.subArchitectures, 'archMap.subArchitectures'));
    }
  }
  if (archs.length > 0) out.architectures = archs;
  const flags = stringList(raw.flags, 'flags');
  if (flags.length > 0) out.flags = flags;
  if (typeof raw.listenerPath === 'string' && raw.listenerPath !== '') out.listenerPath = raw.listenerPath;
  if (raw.syscalls !== undefined && !Array.isArray(raw.syscalls)) throw bad('syscalls must be a list');
  for (const [i, s] of ((raw.syscalls as unknown[] | undefined) ?? []).entries()) {
    if (!isObj(s)) throw bad(`syscalls[${i}] must be an object`);
    if (typeof s.name === 'string' && s.names !== undefined) throw bad(`syscalls[${i}] has both name and names`);
    const names = typeof s.name === 'string' ? [s.name] : stringList(s.names, `syscalls[${i}].names`);
    const rule: SeccompRule = { names, action: action(s.action, `syscalls[${i}]`) };
    if (typeof s.errnoRet === 'number') rule.errnoRet = s.errnoRet;
    if (s.args !== undefined && s.args !== null) {
      if (!Array.isArray(s.args)) throw bad(`syscalls[${i}].args must be a list`);
      rule.args = (s.args as unknown[]).map((a, j) => {
        if (!isObj(a) || typeof a.index !== 'number' || typeof a.value !== 'number' || typeof a.op !== 'string' || !OPS.has(a.op)) {
          throw bad(`syscalls[${i}].args[${j}] needs an index, a value and a known op`);
        }
        const arg: SeccompArg = { index: a.index, value: a.value, op: a.op };
        if (typeof a.valueTwo === 'number') arg.valueTwo = a.valueTwo;
        return arg;
      });
    }
    if (!matches(readFilter(s.includes, `syscalls[${i}].includes`), ctx, goArch)) continue;
    if (excluded(readFilter(s.excludes, `syscalls[${i}].excludes`), ctx, goArch)) continue;
    if (names.length > 0) out.syscalls.push(rule);
  }
  return out;
}
