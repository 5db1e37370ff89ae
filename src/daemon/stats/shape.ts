// Container statistics: the neutral sample read from containerd's task
// metrics (cgroup v1 or v2 message, decoded) and the host, and dockerd's JSON
// shape of GET /containers/{id}/stats built from two samples. Pure.

/** Interface counters as /proc/<pid>/net/dev gives them. */
export interface NetworkCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** One reading of one container, whatever the cgroup version. */
export interface StatsSample {
  read: Date;
  cgroup: 'v1' | 'v2';
  /** the decoded io.containerd.cgroups.v{1,2}.Metrics message (camelCase fields) */
  metrics: Record<string, unknown>;
  /** host CPU time in ns (/proc/stat, first 7 fields of `cpu`) and online CPUs */
  systemCpuNs: number;
  onlineCpus: number;
  /** host MemTotal in bytes: a larger limit means none */
  memTotal: number;
  /** interfaces of the container's own network namespace, lo excluded; undefined on the host's */
  networks?: Record<string, NetworkCounters>;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : 0);

// v1 MemoryStat fields by the cgroup file's names, as dockerd reports them.
const V1_MEMORY_NAMES: ReadonlyArray<[string, string]> = [
  ['cache', 'cache'], ['rss', 'rss'], ['rssHuge', 'rss_huge'], ['mappedFile', 'mapped_file'], ['dirty', 'dirty'],
  ['writeback', 'writeback'], ['pgPgIn', 'pgpgin'], ['pgPgOut', 'pgpgout'], ['pgFault', 'pgfault'],
  ['pgMajFault', 'pgmajfault'], ['inactiveAnon', 'inactive_anon'], ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'], ['activeFile', 'active_file'], ['unevictable', 'unevictable'],
  ['hierarchicalMemoryLimit', 'hierarchical_memory_limit'], ['hierarchicalSwapLimit', 'hierarchical_memsw_limit'],
  ['totalCache', 'total_cache'], ['totalRss', 'total_rss'], ['totalRssHuge', 'total_rss_huge'],
  ['totalMappedFile', 'total_mapped_file'], ['totalDirty', 'total_dirty'], ['totalWriteback', 'total_writeback'],
  ['totalPgPgIn', 'total_pgpgin'], ['totalPgPgOut', 'total_pgpgout'], ['totalPgFault', 'total_pgfault'],
  ['totalPgMajFault', 'total_pgmajfault'], ['totalInactiveAnon', 'total_inactive_anon'],
  ['totalActiveAnon', 'total_active_anon'], ['totalInactiveFile', 'total_inactive_file'],
  ['totalActiveFile', 'total_active_file'], ['totalUnevictable', 'total_unevictable'],
];

const V2_MEMORY_NAMES: ReadonlyArray<[string, string]> = [
  ['anon', 'anon'], ['file', 'file'], ['kernelStack', 'kernel_stack'], ['slab', 'slab'], ['sock', 'sock'],
  ['shmem', 'shmem'], ['fileMapped', 'file_mapped'], ['fileDirty', 'file_dirty'], ['fileWriteback', 'file_writeback'],
  ['anonThp', 'anon_thp'], ['inactiveAnon', 'inactive_anon'], ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'], ['activeFile', 'active_file'], ['unevictable', 'unevictable'],
  ['slabReclaimable', 'slab_reclaimable'], ['slabUnreclaimable', 'slab_unreclaimable'], ['pgfault', 'pgfault'],
  ['pgmajfault', 'pgmajfault'], ['workingsetRefault', 'workingset_refault'], ['workingsetActivate', 'workingset_activate'],
  ['workingsetNodereclaim', 'workingset_nodereclaim'], ['pgrefill', 'pgrefill'], ['pgscan', 'pgscan'],
  ['pgsteal', 'pgsteal'], ['pgactivate', 'pgactivate'], ['pgdeactivate', 'pgdeactivate'], ['pglazyfree', 'pglazyfree'],
  ['pglazyfreed', 'pglazyfreed'], ['thpFaultAlloc', 'thp_fault_alloc'], ['thpCollapseAlloc', 'thp_collapse_alloc'],
];

const BLKIO_FIELDS: ReadonlyArray<[string, string]> = [
  ['ioServiceBytesRecursive', 'io_service_bytes_recursive'], ['ioServicedRecursive', 'io_serviced_recursive'],
  ['ioQueuedRecursive', 'io_queue_recursive'], ['ioServiceTimeRecursive', 'io_service_time_recursive'],
  ['ioWaitTimeRecursive', 'io_wait_time_recursive'], ['ioMergedRecursive', 'io_merged_recursive'],
  ['ioTimeRecursive', 'io_time_recursive'], ['sectorsRecursive', 'sectors_recursive'],
];

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

const EMPTY_CPU: CpuStats = {
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
};

function cpuStats(s: StatsSample): CpuStats {
  const cpu = obj(s.metrics.cpu);
  if (s.cgroup === 'v1') {
    const usage = obj(cpu.usage);
    const thr = obj(cpu.throttling);
    const per = Array.isArray(usage.perCpu) ? (usage.perCpu as unknown[]).map(num) : [];
    const out: CpuStats = {
      cpu_usage: { total_usage: num(usage.total), usage_in_kernelmode: num(usage.kernel), usage_in_usermode: num(usage.user) },
      system_cpu_usage: s.systemCpuNs,
      online_cpus: s.onlineCpus,
      throttling_data: { periods: num(thr.periods), throttled_periods: num(thr.throttledPeriods), throttled_time: num(thr.throttledTime) },
    };
    if (per.length > 0) out.cpu_usage.percpu_usage = per;
    return out;
  }
  return {
    cpu_usage: {
      total_usage: num(cpu.usageUsec) * 1000,
      usage_in_kernelmode: num(cpu.systemUsec) * 1000,
      usage_in_usermode: num(cpu.userUsec) * 1000,
    },
    system_cpu_usage: s.systemCpuNs,
    online_cpus: s.onlineCpus,
    throttling_data: { periods: num(cpu.nrPeriods), throttled_periods: num(cpu.nrThrottled), throttled_time: num(cpu.throttledUsec) * 1000 },
  };
}

function memoryStats(s: StatsSample): Obj {
  const mem = obj(s.metrics.memory);
  const cap = (limit: number): number => (limit === 0 || limit > s.memTotal ? s.memTotal : limit);
  if (s.cgroup === 'v1') {
    const usage = obj(mem.usage);
    const stats: Record<string, number> = {};
    for (const [field, name] of V1_MEMORY_NAMES) stats[name] = num(mem[field]);
    return { usage: num(usage.usage), max_usage: num(usage.max), stats, failcnt: num(usage.failcnt), limit: cap(num(usage.limit)) };
  }
  const stats: Record<string, number> = {};
  for (const [field, name] of V2_MEMORY_NAMES) stats[name] = num(mem[field]);
  return { usage: num(mem.usage), stats, limit: cap(num(mem.usageLimit)) };
}

function blkioStats(s: StatsSample): Obj {
  const out: Obj = {};
  if (s.cgroup === 'v1') {
    const b = obj(s.metrics.blkio);
    for (const [field, name] of BLKIO_FIELDS) {
      const list = Array.isArray(b[field]) ? (b[field] as unknown[]) : [];
      out[name] = list.map((e) => {
        const o = obj(e);
        return { major: num(o.major), minor: num(o.minor), op: String(o.op ?? ''), value: num(o.value) };
      });
    }
    return out;
  }
  const usage = Array.isArray(obj(s.metrics.io).usage) ? (obj(s.metrics.io).usage as unknown[]).map(obj) : [];
  const entries = (r: string, w: string): Obj[] =>
    usage.flatMap((e) => [
      { major: num(e.major), minor: num(e.minor), op: 'read', value: num(e[r]) },
      { major: num(e.major), minor: num(e.minor), op: 'write', value: num(e[w]) },
    ]);
  out.io_service_bytes_recursive = entries('rbytes', 'wbytes');
  out.io_serviced_recursive = entries('rios', 'wios');
  for (const [, name] of BLKIO_FIELDS.slice(2)) out[name] = null;
  return out;
}

function pidsStats(s: StatsSample): Obj {
  const p = obj(s.metrics.pids);
  const out: Obj = { current: num(p.current) };
  if (num(p.limit) > 0) out.limit = num(p.limit);
  return out;
}

/** A container that is not running: name and id, every number zero. */
export function emptyStats(name: string, id: string): Obj {
  return {
    name,
    id,
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: Object.fromEntries(BLKIO_FIELDS.map(([, n]) => [n, null])),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: EMPTY_CPU,
    precpu_stats: EMPTY_CPU,
    memory_stats: {},
  };
}

/** dockerd's stats object for `cur`, with `pre` (the sample before, if any) as precpu. */
export function dockerStats(name: string, id: string, cur: StatsSample, pre: StatsSample | undefined, formatTime: (d: Date) => string): Obj {
  const out: Obj = {
    name,
    id,
    read: formatTime(cur.read),
    preread: pre === undefined ? ZERO_TIME : formatTime(pre.read),
    pids_stats: pidsStats(cur),
    blkio_stats: blkioStats(cur),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: pre === undefined ? EMPTY_CPU : cpuStats(pre),
    memory_stats: memoryStats(cur),
  };
  if (cur.networks !== undefined && Object.keys(cur.networks).length > 0) out.networks = cur.networks;
  return out;
}

/** The cgroup version of a Metrics Any's type name (some writers prefix it). */
export function cgroupVersionOf(typeName: string): 'v1' | 'v2' | undefined {
  if (typeName.endsWith('io.containerd.cgroups.v1.Metrics')) return 'v1';
  if (typeName.endsWith('io.containerd.cgroups.v2.Metrics')) return 'v2';
  return undefined;
}

/** /proc/stat → host CPU ns (user..steal, in USER_HZ=100 ticks) and the number of CPUs. */
export function parseProcStat(text: string): { systemCpuNs: number; onlineCpus: number } {
  let systemCpuNs = 0;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1, 8).map(Number);
      systemCpuNs = f.reduce((a, b) => a + b, 0) * 1e7;
    } else if (/^cpu\d+ /.test(line)) {
      onlineCpus++;
    }
  }
  return { systemCpuNs, onlineCpus };
}

/** /proc/<pid>/net/dev → counters per interface, lo excluded. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || name === '') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, rx_errors: f[2] ?? 0, rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0, tx_errors: f[10] ?? 0, tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}
