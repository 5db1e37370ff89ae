// Semantic checks at create, after the image's config is merged in: every
// problem found here is a 400 instead of a failed start later.
import { invalidParameter, notFound } from '../../errors/index.js';
import { checkEnv, pathAndArgs } from './command.js';
import { parseSignal } from './signals.js';
import { validateRestartPolicy } from './restart-policy.js';
import { buildProcess } from './spec.js';
import { capabilityLimits, checkSecurity } from '../../security/index.js';
import { checkHealthcheck } from '../health/index.js';
import type { ContainerConfig, HostConfig } from './types.js';

const NETWORK_MODES = new Set(['default', 'bridge', 'none', 'host']);
// The modes dockerd accepts for each namespace; `container:<ref>` is checked apart.
const NAMESPACE_MODES = {
  IpcMode: { modes: new Set(['', 'host', 'private', 'shareable', 'none']), joinable: true, what: 'IPC' },
  PidMode: { modes: new Set(['', 'host']), joinable: true, what: 'PID' },
  UTSMode: { modes: new Set(['', 'host']), joinable: false, what: 'UTS' },
} as const;

function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== '';
}

export function checkNetworkMode(mode: string, delegated = false): void {
  // With the network module, it checks networks and container: modes itself.
  if (NETWORK_MODES.has(mode) || delegated) return;
  if (mode.startsWith('container:')) {
    throw invalidParameter(`network mode ${mode} is not supported by berth: use none or host`);
  }
  throw notFound(`network ${mode} not found`);
}

function checkUnsupported(host: HostConfig): void {
  const unsupported: Array<[string, string]> = [
    ['Links', 'links are legacy: use a user-defined network, where containers find each other by name'],
    ['DeviceRequests', 'device requests are not supported'],
  ];
  for (const [field, hint] of unsupported) {
    if (nonEmpty(host[field])) throw invalidParameter(`HostConfig.${field} is not supported by berth: ${hint}`);
  }
  validateRestartPolicy(host);
  for (const [field, rule] of Object.entries(NAMESPACE_MODES)) {
    const v = host[field];
    if (typeof v !== 'string' || rule.modes.has(v)) continue;
    if (rule.joinable && v.startsWith('container:') && v.length > 'container:'.length) continue;
    throw invalidParameter(`invalid ${rule.what} mode: ${v}`);
  }
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

function checkHostname(name: string, what: string): void {
  if (name.length > 64 || !HOSTNAME.test(name)) {
    throw invalidParameter(`invalid ${what} format: ${JSON.stringify(name)} (letters, digits, '.', '-' and '_', at most 64 characters)`);
  }
}

/** Checks a merged config; returns the container's Path and Args. */
export function validateContainer(config: ContainerConfig, host: HostConfig, networkDelegated = false): { path: string; args: string[] } {
  checkNetworkMode(host.NetworkMode, networkDelegated);
  checkUnsupported(host);
  checkEnv(config.Env);
  if (config.WorkingDir !== '' && !config.WorkingDir.startsWith('/')) {
    throw invalidParameter(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  if (config.StopSignal !== undefined) parseSignal(config.StopSignal);
  if (config.StopTimeout !== undefined && config.StopTimeout < -1) {
    throw invalidParameter(`invalid StopTimeout ${config.StopTimeout}: use -1 (wait forever) or a number of seconds`);
  }
  if (host.ShmSize < 0) throw invalidParameter('SHM size can not be less than 0');
  checkHostname(config.Hostname, 'hostname');
  if (config.Domainname !== '') checkHostname(config.Domainname, 'domainname');
  for (const field of ['CpusetCpus', 'CpusetMems'] as const) {
    if (!/^[0-9,-]*$/.test(host[field])) throw invalidParameter(`invalid value for ${field}: ${JSON.stringify(host[field])} (use a list such as 0-2,4)`);
  }
  for (const key of Object.keys(host.Sysctls ?? {})) {
    if (!/^[a-z0-9_][a-z0-9_./-]*$/i.test(key)) throw invalidParameter(`invalid sysctl name ${JSON.stringify(key)}`);
  }
  checkSecurity(host, capabilityLimits());
  checkHealthcheck(config.Healthcheck);
  const cmd = pathAndArgs(config);
  // Capabilities are checked by building the process once.
  buildProcess({ config, hostConfig: host, path: cmd.path, args: cmd.args, user: { uid: 0, gid: 0, additionalGids: [] } });
  return cmd;
}
