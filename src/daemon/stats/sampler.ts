// Reads samples: containerd's task metrics for the cgroup numbers, /proc for
// the host CPU time and the container's network interfaces.
import { readFile, readlink } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { anyTypeName, messageCodec, type ContainerdClient } from '../../containerd/index.js';
import { cgroupVersionOf, parseNetDev, parseProcStat, type NetworkCounters, type StatsSample } from './shape.js';

export interface SampleTarget {
  id: string;
  /** host pid of the init, for the network counters (0: none) */
  pid: number;
}

let hostNetNs: Promise<string> | undefined;

async function networksOf(pid: number): Promise<Record<string, NetworkCounters> | undefined> {
  if (pid <= 0) return undefined;
  try {
    hostNetNs ??= readlink('/proc/self/ns/net');
    const [own, host] = await Promise.all([readlink(`/proc/${pid}/ns/net`), hostNetNs]);
    if (own === host) return undefined; // --network host: the host's counters are not the container's
    return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** One sample per running target (absent: no task or no metrics). */
export async function readSamples(client: ContainerdClient, targets: readonly SampleTarget[]): Promise<Map<string, StatsSample>> {
  const out = new Map<string, StatsSample>();
  if (targets.length === 0) return out;
  const [metrics, stat, nets] = await Promise.all([
    client.tasks.metrics(targets.map((t) => `id==${t.id}`)),
    readFile('/proc/stat', 'utf8').then(parseProcStat),
    Promise.all(targets.map((t) => networksOf(t.pid))),
  ]);
  const memTotal = totalmem();
  const netById = new Map(targets.map((t, i) => [t.id, nets[i]]));
  for (const m of metrics) {
    if (m.data === undefined) continue;
    const name = anyTypeName(m.data.typeUrl);
    const cgroup = cgroupVersionOf(name);
    const codec = cgroup === undefined ? undefined : messageCodec(`io.containerd.cgroups.${cgroup}.Metrics`);
    if (cgroup === undefined || codec === undefined) continue;
    const sample: StatsSample = {
      read: m.timestamp ?? new Date(),
      cgroup,
      metrics: codec.deserialize(m.data.value) as Record<string, unknown>,
      systemCpuNs: stat.systemCpuNs,
      onlineCpus: stat.onlineCpus,
      memTotal,
    };
    const networks = netById.get(m.id);
    if (networks !== undefined) sample.networks = networks;
    out.set(m.id, sample);
  }
  return out;
}
