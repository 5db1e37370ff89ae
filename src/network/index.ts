// Public face of the network module: networks on berth's bridges through the
// CNI plugins, each container's sandbox (namespace, endpoints, published
// ports), and the pure helpers (port plans, subnets, conflists, forwarding
// rules) its routes
// and tests use.
export { NetworkService, DEFAULT_PLUGIN_DIRS, rootTag, type NetworkServiceDeps, type ContainerRef, type EtcFiles, type SandboxSetup, type EndpointConfigBody, type CreateNetworkBody } from './service.js';
export { CniRuntime, CniError, type CniInvocation, type CniResult } from './cni.js';
export { bridgeConflist, iccEnabled, CNI_VERSION, type Conflist, type PluginConf } from './conflist.js';
export { planPorts, parsePortKey, parseHostPort, portKeys, portsView, listPorts, type PortBinding, type PortRequest, type PublishedPort, type ListPort, type Protocol } from './ports.js';
export { parseCidr, parseIPv4, formatCidr, formatIPv4, chooseSubnet, overlaps, routeSubnets, type Subnet, type AddressPool } from './ipam.js';
export { splitRule, namesContainer, namesDevice } from './host.js';
export { filterPlan, restoreInput, jumpFixes, type FilteredBridge, type FilterChains, type FilterPlan } from './filter.js';
export type { ContainerFacts, NetworkRecord, NetworkSettings, AttachRequest, Endpoint } from './types.js';
export { DEFAULT_NETWORK_SETTINGS, networkSettingsFrom } from './settings.js';
export { localAnswer, reverseAnswer, ptrAddress, errorAnswer, parseUpstream, resolvConfServers, RESOLVER_IP, type Upstream } from './dns.js';
