// Shapes of the network module: network definitions (persisted plain data),
// the per-container attachments, and the settings the module works with.
import type { PublishedPort } from './ports.js';
import type { AddressPool } from './ipam.js';

export type Driver = 'bridge' | 'host' | 'null';

export interface IpamConfigEntry {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

/** A network as `docker network inspect` shows it, plus the bridge device berth made for it. */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Driver: Driver;
  Internal: boolean;
  Attachable: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfigEntry[] };
  /** the Linux bridge device (bridge driver only) */
  bridge?: string;
  /** the default `bridge` network */
  isDefault?: boolean;
}

/** What a container asks of one network (docker run --network-alias/--ip, docker network connect). */
export interface AttachRequest {
  aliases: string[];
  ipv4?: string;
  mac?: string;
}

/** A live attachment: the CNI result boiled down to what views and names need. */
export interface Endpoint {
  networkId: string;
  ifName: string;
  endpointId: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
}

/** The container facts the network module needs; given by the container service. */
export interface ContainerFacts {
  id: string;
  name: string;
  hostname: string;
  domainname: string;
  /** HostConfig.NetworkMode as stored */
  mode: string;
  exposedPorts?: Record<string, unknown>;
  portBindings?: Record<string, unknown>;
  publishAll: boolean;
  extraHosts: string[];
  /** --dns: the resolver's upstreams for this container */
  dns: string[];
}

/** Persisted per container under <data-root>: which networks it is on, and the host ports it last held. */
export interface ContainerNetworks {
  name: string;
  attachments: Record<string, AttachRequest>;
  lastPorts?: PublishedPort[];
}

/** Persisted per running container under <exec-root>: its namespace and endpoints. */
export interface SandboxRecord {
  netns: string;
  /** joined another container's namespace (container:NAME) */
  joined?: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
  /** names the resolver answers for it (kept for a berthd restart) */
  hostname?: string;
  dns?: string[];
}

export interface NetworkSettings {
  /** dockerd's bip: the default bridge's address and prefix */
  bip?: string;
  bridge?: string;
  defaultAddressPools: AddressPool[];
  iptables: boolean;
  ipForward: boolean;
  ipMasq: boolean;
  icc: boolean;
  mtu: number;
  dns: string[];
  dnsSearch: string[];
  dnsOpts: string[];
  userlandProxy: boolean;
  /** where the resolver forwards names it does not own; "IP" or "IP:PORT" */
  dnsUpstream: string[];
}
