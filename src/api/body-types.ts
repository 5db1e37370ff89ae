// The Engine API's JSON request body types (moby's api/types, up to API
// 1.47), as shapes for the body decoder, and which route takes which. The
// table lists every body dockerd decodes, whether berth serves the route yet
// or not, so a route added later is decoded the same way.
import { ANY, STRING, list, map, struct, type Shape } from './body-decode.js';

const strings = list(STRING);
const stringMap = map(STRING);
const keys = map(struct({}));

const HEALTHCHECK = struct({ Test: ANY, Interval: ANY, Timeout: ANY, StartPeriod: ANY, StartInterval: ANY, Retries: ANY });

const CONFIG_FIELDS = {
  Hostname: STRING, Domainname: STRING, User: STRING, AttachStdin: ANY, AttachStdout: ANY, AttachStderr: ANY,
  ExposedPorts: keys, Tty: ANY, OpenStdin: ANY, StdinOnce: ANY, Env: strings, Cmd: ANY, Healthcheck: HEALTHCHECK,
  ArgsEscaped: ANY, Image: STRING, Volumes: keys, WorkingDir: STRING, Entrypoint: ANY, NetworkDisabled: ANY,
  MacAddress: STRING, OnBuild: strings, Labels: stringMap, StopSignal: STRING, StopTimeout: ANY, Shell: strings,
};

const weightDevice = list(struct({ Path: STRING, Weight: ANY }));
const throttleDevice = list(struct({ Path: STRING, Rate: ANY }));

const RESOURCES_FIELDS = {
  CpuShares: ANY, Memory: ANY, NanoCpus: ANY, CgroupParent: STRING, BlkioWeight: ANY, BlkioWeightDevice: weightDevice,
  BlkioDeviceReadBps: throttleDevice, BlkioDeviceWriteBps: throttleDevice, BlkioDeviceReadIOps: throttleDevice,
  BlkioDeviceWriteIOps: throttleDevice, CpuPeriod: ANY, CpuQuota: ANY, CpuRealtimePeriod: ANY, CpuRealtimeRuntime: ANY,
  CpusetCpus: STRING, CpusetMems: STRING,
  Devices: list(struct({ PathOnHost: STRING, PathInContainer: STRING, CgroupPermissions: STRING })),
  DeviceCgroupRules: strings,
  DeviceRequests: list(struct({ Driver: STRING, Count: ANY, DeviceIDs: strings, Capabilities: list(strings), Options: stringMap })),
  KernelMemory: ANY, KernelMemoryTCP: ANY, MemoryReservation: ANY, MemorySwap: ANY, MemorySwappiness: ANY,
  OomKillDisable: ANY, PidsLimit: ANY, Ulimits: list(struct({ Name: STRING, Soft: ANY, Hard: ANY })), CpuCount: ANY,
  CpuPercent: ANY, IOMaximumIOps: ANY, IOMaximumBandwidth: ANY,
};

const RESTART_POLICY = struct({ Name: STRING, MaximumRetryCount: ANY });

const MOUNT = struct({
  Type: STRING, Source: STRING, Target: STRING, ReadOnly: ANY, Consistency: STRING,
  BindOptions: struct({ Propagation: STRING, NonRecursive: ANY, CreateMountpoint: ANY, ReadOnlyNonRecursive: ANY, ReadOnlyForceRecursive: ANY }),
  VolumeOptions: struct({ NoCopy: ANY, Labels: stringMap, Subpath: STRING, DriverConfig: struct({ Name: STRING, Options: stringMap }) }),
  TmpfsOptions: struct({ SizeBytes: ANY, Mode: ANY, Options: ANY }),
  ClusterOptions: ANY,
});

const HOST_CONFIG = struct({
  Binds: strings, ContainerIDFile: STRING, LogConfig: struct({ Type: STRING, Config: stringMap }), NetworkMode: STRING,
  PortBindings: map(list(struct({ HostIp: STRING, HostPort: STRING }))), RestartPolicy: RESTART_POLICY, AutoRemove: ANY,
  VolumeDriver: STRING, VolumesFrom: strings, ConsoleSize: ANY, Annotations: stringMap, CapAdd: strings, CapDrop: strings,
  CgroupnsMode: STRING, Dns: strings, DnsOptions: strings, DnsSearch: strings, ExtraHosts: strings, GroupAdd: strings,
  IpcMode: STRING, Cgroup: STRING, Links: strings, OomScoreAdj: ANY, PidMode: STRING, Privileged: ANY,
  PublishAllPorts: ANY, ReadonlyRootfs: ANY, SecurityOpt: strings, StorageOpt: stringMap, Tmpfs: stringMap, UTSMode: STRING,
  UsernsMode: STRING, ShmSize: ANY, Sysctls: stringMap, Runtime: STRING, Isolation: STRING, ...RESOURCES_FIELDS,
  Mounts: list(MOUNT), MaskedPaths: strings, ReadonlyPaths: strings, Init: ANY,
});

const ENDPOINT_SETTINGS = struct({
  IPAMConfig: struct({ IPv4Address: STRING, IPv6Address: STRING, LinkLocalIPs: strings }), Links: strings,
  MacAddress: STRING, Aliases: strings, DriverOpts: stringMap, GwPriority: ANY, NetworkID: STRING, EndpointID: STRING,
  Gateway: STRING, IPAddress: STRING, IPPrefixLen: ANY, IPv6Gateway: STRING, GlobalIPv6Address: STRING,
  GlobalIPv6PrefixLen: ANY, DNSNames: strings,
});

export const CONTAINER_CONFIG = struct(CONFIG_FIELDS);

export const CONTAINER_CREATE = struct({
  ...CONFIG_FIELDS,
  HostConfig: HOST_CONFIG,
  NetworkingConfig: struct({ EndpointsConfig: map(ENDPOINT_SETTINGS) }),
});

export const CONTAINER_UPDATE = struct({ ...RESOURCES_FIELDS, RestartPolicy: RESTART_POLICY });

export const EXEC_CREATE = struct({
  User: STRING, Privileged: ANY, Tty: ANY, ConsoleSize: ANY, AttachStdin: ANY, AttachStderr: ANY, AttachStdout: ANY,
  Detach: ANY, DetachKeys: STRING, Env: strings, WorkingDir: STRING, Cmd: ANY,
});

export const EXEC_START = struct({ Detach: ANY, Tty: ANY, ConsoleSize: ANY });

export const NETWORK_CREATE = struct({
  Name: STRING, CheckDuplicate: ANY, Driver: STRING, Scope: STRING, EnableIPv4: ANY, EnableIPv6: ANY,
  IPAM: struct({
    Driver: STRING,
    Config: list(struct({ Subnet: STRING, IPRange: STRING, Gateway: STRING, AuxiliaryAddresses: stringMap })),
    Options: stringMap,
  }),
  Internal: ANY, Attachable: ANY, Ingress: ANY, ConfigOnly: ANY, ConfigFrom: struct({ Network: STRING }), Options: stringMap,
  Labels: stringMap,
});

export const NETWORK_CONNECT = struct({ Container: STRING, EndpointConfig: ENDPOINT_SETTINGS });
export const NETWORK_DISCONNECT = struct({ Container: STRING, Force: ANY });

export const VOLUME_CREATE = struct({ Name: STRING, Driver: STRING, DriverOpts: stringMap, Labels: stringMap, ClusterVolumeSpec: ANY });

export const AUTH_CONFIG = struct({
  username: STRING, password: STRING, auth: STRING, email: STRING, serveraddress: STRING, identitytoken: STRING, registrytoken: STRING,
});

export const PLUGIN_PRIVILEGES = list(struct({ Name: STRING, Description: STRING, Value: strings }));
export const PLUGIN_SET = strings;

/** Body type by METHOD and route pattern, parameters written as ':' (see bodyShapeOf). */
const BY_ROUTE: ReadonlyMap<string, Shape> = new Map([
  ['POST /containers/create', CONTAINER_CREATE],
  ['POST /containers/:/update', CONTAINER_UPDATE],
  ['POST /containers/:/exec', EXEC_CREATE],
  ['POST /exec/:/start', EXEC_START],
  ['POST /commit', CONTAINER_CONFIG],
  ['POST /networks/create', NETWORK_CREATE],
  ['POST /networks/:/connect', NETWORK_CONNECT],
  ['POST /networks/:/disconnect', NETWORK_DISCONNECT],
  ['POST /volumes/create', VOLUME_CREATE],
  ['POST /auth', AUTH_CONFIG],
  ['POST /plugins/pull', PLUGIN_PRIVILEGES],
  ['POST /plugins/:/upgrade', PLUGIN_PRIVILEGES],
  ['POST /plugins/:/set', PLUGIN_SET],
]);

/** The body type of a route, whatever its parameters are called. */
export function bodyShapeOf(method: string, pattern: string): Shape | undefined {
  return BY_ROUTE.get(`${method} ${pattern.replace(/:[A-Za-z_][A-Za-z0-9_]*\*?/g, ':')}`);
}
