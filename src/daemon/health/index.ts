// Healthchecks: the settings and their checks, the probe loop per running
// container, and probes run as execs.
export {
  checkHealthcheck,
  goDuration,
  healthSuffix,
  mergeHealthcheck,
  nextHealth,
  probePlan,
  type HealthcheckConfig,
  type HealthLogEntry,
  type HealthState,
  type HealthStatus,
  type ProbePlan,
} from './config.js';
export { HealthMonitor, type HealthTarget, type ProbeResult, type ProbeRunner } from './monitor.js';
export { execProbeRunner } from './probe.js';
