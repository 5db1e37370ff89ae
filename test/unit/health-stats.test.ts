// Pure parts of healthchecks (plan, transitions, texts), of the stats shape
// (cgroup v1 and v2 metrics into dockerd's JSON, /proc parsing) and of the
// update planner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHealthcheck, goDuration, healthSuffix, mergeHealthcheck, nextHealth, probePlan, type HealthState } from '../../src/daemon/health/index.js';
import { cgroupVersionOf, dockerStats, emptyStats, parseNetDev, parseProcStat, type StatsSample } from '../../src/daemon/stats/index.js';
import { plannedHostConfig, parseCreateBody } from '../../src/daemon/containers/index.js';

test('probe plans: CMD, CMD-SHELL with the container shell, NONE, defaults', () => {
  assert.deepEqual(probePlan({ Test: ['CMD-SHELL', 'curl -f x'] }, undefined), {
    cmd: ['/bin/sh', '-c', 'curl -f x'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3,
  });
  assert.deepEqual(probePlan({ Test: ['CMD-SHELL', 'x'] }, ['/bin/ash', '-ec'])?.cmd, ['/bin/ash', '-ec', 'x']);
  assert.deepEqual(probePlan({ Test: ['CMD', 'true', 'a'], Interval: 2e9, Retries: 1 }, undefined)?.cmd, ['true', 'a']);
  assert.equal(probePlan({ Test: ['CMD', 'true'], Interval: 2e9 }, undefined)?.intervalMs, 2000);
  assert.equal(probePlan({ Test: ['NONE'] }, undefined), undefined);
  assert.equal(probePlan({ Test: [] }, undefined), undefined);
  assert.equal(probePlan(undefined, undefined), undefined);
});

test('health transitions: success resets, failures count to retries, the start period forgives', () => {
  const plan = probePlan({ Test: ['CMD', 'x'], Retries: 2 }, undefined)!;
  const r = (code: number) => ({ Start: 's', End: 'e', ExitCode: code, Output: '' });
  let h: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  h = nextHealth(h, r(1), plan, true);
  assert.deepEqual([h.Status, h.FailingStreak, h.Log.length], ['starting', 0, 1]);
  h = nextHealth(h, r(1), plan, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
  h = nextHealth(h, r(1), plan, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  h = nextHealth(h, r(0), plan, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  for (let i = 0; i < 10; i++) h = nextHealth(h, r(0), plan, false);
  assert.equal(h.Log.length, 5);
  assert.equal(healthSuffix(undefined), '');
  assert.equal(healthSuffix({ Status: 'starting', FailingStreak: 0, Log: [] }), ' (health: starting)');
  assert.equal(healthSuffix(h), ' (healthy)');
  assert.equal(goDuration(300), '300ms');
  assert.equal(goDuration(30_000), '30s');
  assert.equal(goDuration(1500), '1.5s');
  assert.equal(goDuration(90_000), '1m30s');
});

test('healthchecks merge field by field with the image', () => {
  const image = { Test: ['CMD', 'img'], Interval: 5e9, Retries: 4 };
  assert.deepEqual(mergeHealthcheck({ Test: [], Interval: 1e9 }, image), { Test: ['CMD', 'img'], Interval: 1e9, Retries: 4 });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image), { Test: ['NONE'], Interval: 5e9, Retries: 4 });
  assert.equal(mergeHealthcheck(undefined, image), image);
  assert.deepEqual(mergeHealthcheck({ Test: ['CMD', 'x'] }, undefined), { Test: ['CMD', 'x'] });
});

test('healthcheck checks', () => {
  checkHealthcheck({ Test: ['CMD', 'true'], Interval: 0, Timeout: 1_000_000 });
  assert.throws(() => checkHealthcheck({ Interval: 999_999 }), /Interval in Healthcheck cannot be less than 1ms/);
  assert.throws(() => checkHealthcheck({ StartInterval: -5 }), /StartInterval in Healthcheck cannot be less than 1ms/);
  assert.throws(() => checkHealthcheck({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
  assert.throws(() => checkHealthcheck({ Test: ['SHELL', 'x'] }), /unknown Healthcheck type/);
});

const base = { read: new Date('2024-01-01T00:00:01Z'), systemCpuNs: 2e12, onlineCpus: 2, memTotal: 8 * 2 ** 30 };
const fmt = (d: Date): string => d.toISOString();

test('stats from cgroup v1 metrics', () => {
  const cur: StatsSample = {
    ...base,
    cgroup: 'v1',
    metrics: {
      pids: { current: 3, limit: 0 },
      cpu: { usage: { total: 5e9, kernel: 1e9, user: 4e9, perCpu: [3e9, 2e9] }, throttling: { periods: 7, throttledPeriods: 1, throttledTime: 9 } },
      memory: { totalInactiveFile: 100, cache: 200, usage: { usage: 1000, max: 1500, failcnt: 2, limit: 9223372036854771712 } },
      blkio: { ioServiceBytesRecursive: [{ op: 'Read', major: 8, minor: 0, value: 4096 }] },
    },
    networks: { eth0: { rx_bytes: 1, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 2, tx_packets: 2, tx_errors: 0, tx_dropped: 0 } },
  };
  const pre: StatsSample = { ...cur, read: new Date('2024-01-01T00:00:00Z'), systemCpuNs: 1e12, metrics: { cpu: { usage: { total: 4e9 } } } };
  const s = dockerStats('/c', 'id1', cur, pre, fmt) as Record<string, any>;
  assert.equal(s.name, '/c');
  assert.equal(s.preread, '2024-01-01T00:00:00.000Z');
  assert.deepEqual(s.cpu_stats.cpu_usage, { total_usage: 5e9, usage_in_kernelmode: 1e9, usage_in_usermode: 4e9, percpu_usage: [3e9, 2e9] });
  assert.equal(s.cpu_stats.system_cpu_usage, 2e12);
  assert.equal(s.precpu_stats.cpu_usage.total_usage, 4e9);
  assert.deepEqual(s.cpu_stats.throttling_data, { periods: 7, throttled_periods: 1, throttled_time: 9 });
  assert.equal(s.memory_stats.usage, 1000);
  assert.equal(s.memory_stats.max_usage, 1500);
  assert.equal(s.memory_stats.limit, 8 * 2 ** 30, 'no limit shows as the host memory');
  assert.equal(s.memory_stats.stats.total_inactive_file, 100);
  assert.equal(s.memory_stats.stats.cache, 200);
  assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, [{ major: 8, minor: 0, op: 'Read', value: 4096 }]);
  assert.deepEqual(s.pids_stats, { current: 3 });
  assert.equal(s.networks.eth0.tx_bytes, 2);
});

test('stats from cgroup v2 metrics', () => {
  const cur: StatsSample = {
    ...base,
    cgroup: 'v2',
    metrics: {
      pids: { current: 2, limit: 10 },
      cpu: { usageUsec: 5, userUsec: 3, systemUsec: 2, nrPeriods: 1, nrThrottled: 0, throttledUsec: 4 },
      memory: { usage: 5000, usageLimit: 1 << 20, inactiveFile: 7, anon: 9 },
      io: { usage: [{ major: 254, minor: 0, rbytes: 10, wbytes: 20, rios: 1, wios: 2 }] },
    },
  };
  const s = dockerStats('/c', 'id', cur, undefined, fmt) as Record<string, any>;
  assert.deepEqual(s.cpu_stats.cpu_usage, { total_usage: 5000, usage_in_kernelmode: 2000, usage_in_usermode: 3000 });
  assert.equal(s.cpu_stats.throttling_data.throttled_time, 4000);
  assert.equal(s.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(s.memory_stats.limit, 1 << 20);
  assert.equal(s.memory_stats.stats.inactive_file, 7);
  assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, [
    { major: 254, minor: 0, op: 'read', value: 10 },
    { major: 254, minor: 0, op: 'write', value: 20 },
  ]);
  assert.deepEqual(s.pids_stats, { current: 2, limit: 10 });
  assert.equal('networks' in s, false);
  assert.equal((emptyStats('/x', 'i') as Record<string, unknown>).read, '0001-01-01T00:00:00Z');
  assert.equal(cgroupVersionOf('types.containerd.io/io.containerd.cgroups.v1.Metrics'), 'v1');
  assert.equal(cgroupVersionOf('io.containerd.cgroups.v2.Metrics'), 'v2');
  assert.equal(cgroupVersionOf('other'), undefined);
});

test('/proc parsing', () => {
  const stat = 'cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 50 0 25 500 5 0 2 3 0 0\ncpu1 50 0 25 500 5 0 3 4 0 0\nintr 1\n';
  assert.deepEqual(parseProcStat(stat), { systemCpuNs: 1165 * 1e7, onlineCpus: 2 });
  const dev = 'Inter-|   Receive\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n    lo: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n  eth0: 100 2 1 0 0 0 0 0 200 3 0 1 0 0 0 0\n';
  assert.deepEqual(parseNetDev(dev), { eth0: { rx_bytes: 100, rx_packets: 2, rx_errors: 1, rx_dropped: 0, tx_bytes: 200, tx_packets: 3, tx_errors: 0, tx_dropped: 1 } });
});

test('update plans: zero keeps, limits checked, restart policy', () => {
  const host = parseCreateBody({ Image: 'x', HostConfig: { Memory: 64 << 20, MemorySwap: 128 << 20 } }).hostConfig;
  const next = plannedHostConfig(host, { Memory: 0, CpuShares: 512, PidsLimit: 0, RestartPolicy: { Name: 'always' } });
  assert.equal(next.Memory, 64 << 20);
  assert.equal(next.CpuShares, 512);
  assert.equal(next.PidsLimit, 0);
  assert.equal(next.RestartPolicy.Name, 'always');
  assert.equal(host.CpuShares, 0, 'the current config is left alone');
  assert.throws(() => plannedHostConfig(host, { Memory: 1 << 20 }), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => plannedHostConfig(host, { Memory: 256 << 20 }), /update the memoryswap at the same time/);
  assert.throws(() => plannedHostConfig(host, { BlkioWeight: 5 }), /Range of blkio weight is from 10 to 1000/);
  assert.throws(() => plannedHostConfig(host, { RestartPolicy: { Name: 'sometimes' } }), /invalid restart policy/);
  assert.throws(() => plannedHostConfig(host, { Memory: 'lots' }), /Memory/);
  const rm = parseCreateBody({ Image: 'x', HostConfig: { AutoRemove: true } }).hostConfig;
  assert.throws(() => plannedHostConfig(rm, { RestartPolicy: { Name: 'always' } }), /AutoRemove is enabled/);
});
