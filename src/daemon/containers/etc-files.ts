// The /etc/hosts, /etc/hostname and /etc/resolv.conf that berth writes for a
// container and bind-mounts over the image's.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig, HostConfig } from './types.js';

export interface EtcPaths {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export function etcPaths(containerDir: string): EtcPaths {
  return {
    hosts: join(containerDir, 'hosts'),
    hostname: join(containerDir, 'hostname'),
    resolvConf: join(containerDir, 'resolv.conf'),
  };
}

const LOCAL_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** hosts for a container with its own network namespace (loopback only). */
export function hostsFile(extraHosts: readonly string[], ownLines: readonly string[] = []): string {
  return [...LOCAL_HOSTS, ...extraHostLines(extraHosts), ...ownLines].join('\n') + '\n';
}

/** What the network module adds: the container's own address line, --add-host with host-gateway resolved. */
export interface EtcNetwork {
  hostsLines?: string[];
  extraHosts?: string[];
  /** name servers in place of the host's (the embedded resolver on user-defined networks) */
  nameservers?: string[];
}

/** --add-host NAME:IP entries as hosts lines. */
function extraHostLines(extraHosts: readonly string[]): string[] {
  return extraHosts.map((entry) => {
    const i = entry.indexOf(':');
    return i < 0 ? entry : `${entry.slice(i + 1)}\t${entry.slice(0, i)}`;
  });
}

/**
 * resolv.conf: the host's, with loopback name servers dropped when the
 * container has its own network namespace (they would point at itself), and
 * the request's --dns, --dns-search, --dns-option in place of the host's.
 */
export function resolvConf(hostText: string, hostNetwork: boolean, host: Pick<HostConfig, 'Dns' | 'DnsSearch' | 'DnsOptions'>): string {
  const lines = hostText.split('\n');
  const keep = lines.filter((l) => {
    const t = l.trim();
    if (host.Dns.length > 0 && /^nameserver\s/.test(t)) return false;
    if (host.DnsSearch.length > 0 && /^(search|domain)\s/.test(t)) return false;
    if (host.DnsOptions.length > 0 && /^options\s/.test(t)) return false;
    if (!hostNetwork && /^nameserver\s+(127\.|::1\b|0:0:0:0:0:0:0:1\b)/.test(t)) return false;
    return true;
  });
  const text = keep.join('\n').trimEnd();
  const out = text === '' ? [] : text.split('\n');
  for (const ns of host.Dns) out.push(`nameserver ${ns}`);
  if (host.DnsSearch.length > 0) out.push(`search ${host.DnsSearch.join(' ')}`);
  if (host.DnsOptions.length > 0) out.push(`options ${host.DnsOptions.join(' ')}`);
  return out.join('\n') + '\n';
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return fallback;
  }
}

export interface HostFiles {
  resolvConf?: string;
  hosts?: string;
}

export async function writeEtcFiles(
  paths: EtcPaths,
  config: Pick<ContainerConfig, 'Hostname'>,
  host: HostConfig,
  hostFiles: HostFiles = {},
  net: EtcNetwork = {},
): Promise<void> {
  const hostNetwork = host.NetworkMode === 'host';
  const hostResolv = await readOr(hostFiles.resolvConf ?? '/etc/resolv.conf', '');
  const extra = net.extraHosts ?? host.ExtraHosts ?? [];
  let hosts = hostsFile(extra, net.hostsLines);
  if (hostNetwork) {
    const own = (await readOr(hostFiles.hosts ?? '/etc/hosts', hosts)).trimEnd();
    hosts = [own, ...extraHostLines(extra)].join('\n') + '\n';
  }
  await Promise.all([
    writeFile(paths.hostname, `${config.Hostname}\n`, { mode: 0o644 }),
    writeFile(paths.hosts, hosts, { mode: 0o644 }),
    writeFile(
      paths.resolvConf,
      net.nameservers === undefined
        ? resolvConf(hostResolv, hostNetwork, host)
        : resolvConf(hostResolv, false, { Dns: net.nameservers, DnsSearch: host.DnsSearch, DnsOptions: host.DnsOptions.length > 0 ? host.DnsOptions : ['ndots:0'] }),
      { mode: 0o644 },
    ),
  ]);
}
