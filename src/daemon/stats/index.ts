// Container statistics from containerd's task metrics (cgroup v1 and v2):
// the neutral sample, dockerd's JSON shape, and the stats stream.
export { StatsService, NO_STREAM_WINDOW_MS, type StatsOptions, type StatsTarget } from './service.js';
export { readSamples, type SampleTarget } from './sampler.js';
export {
  cgroupVersionOf,
  dockerStats,
  emptyStats,
  parseNetDev,
  parseProcStat,
  type NetworkCounters,
  type StatsSample,
} from './shape.js';
