// Docker's API views of a container: GET /containers/{id}/json (inspect) and
// one entry of GET /containers/json (list). Pure functions of the record.
import type { Container } from './container.js';
import { commandLine } from './command.js';
import { mountView } from '../../volumes/index.js';
import { mountPointsOf } from './mounts.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../oci/index.js';
import { statusText, timestampMs } from './status.js';
import type { ContainerRecordState, HostConfig } from './types.js';

/** HostConfig fields dockerd always reports, with its defaults. */
function hostConfigDefaults(): Record<string, unknown> {
  return {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'default',
    PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '',
    VolumesFrom: null, ConsoleSize: [0, 0], CapAdd: null, CapDrop: null, CgroupnsMode: 'host', Dns: [],
    DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: 'private', Cgroup: '', Links: null,
    OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null,
    UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: '', Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0,
    CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null, DeviceRequests: null,
    MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: [],
    CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
  };
}

export function inspectHostConfig(host: HostConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...hostConfigDefaults(), ...host };
  if (host.IpcMode === undefined || host.IpcMode === '') out.IpcMode = 'private';
  out.MaskedPaths = host.Privileged ? [] : (host.MaskedPaths ?? [...MASKED_PATHS]);
  out.ReadonlyPaths = host.Privileged ? [] : (host.ReadonlyPaths ?? [...READONLY_PATHS]);
  return out;
}

/** The network a container reports being on: its mode, with `default` shown as `bridge` as dockerd does. */
export function networkName(host: Pick<HostConfig, 'NetworkMode'>): string {
  return host.NetworkMode === 'default' ? 'bridge' : host.NetworkMode;
}

function endpoint(): Record<string, unknown> {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, NetworkID: '', EndpointID: '',
    Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

function networkSettings(s: ContainerRecordState): Record<string, unknown> {
  return {
    Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: {},
    SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '',
    GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
    Networks: { [networkName(s.HostConfig)]: endpoint() },
  };
}

/** inspect's and ps's Mounts: dockerd lists no `--tmpfs` mount there (HostConfig.Tmpfs shows those), only `--mount type=tmpfs`. */
export function mountsView(s: Pick<ContainerRecordState, 'MountPoints' | 'HostConfig'>): Array<Record<string, unknown>> {
  const flagTmpfs = new Set(Object.keys(s.HostConfig.Tmpfs ?? {}).map((k) => k.replace(/\/+$/, '') || '/'));
  return mountPointsOf(s)
    .filter((p) => !(p.Type === 'tmpfs' && flagTmpfs.has(p.Destination)))
    .map((p) => ({ ...mountView(p) }));
}

/** `net`: the network module's NetworkSettings, when it runs. */
export function inspectView(c: Container, execIds: string[] | null, net?: Record<string, unknown>): Record<string, unknown> {
  const s = c.state;
  return {
    Id: s.Id,
    Created: s.Created,
    Path: s.Path,
    Args: s.Args,
    State: { Status: c.stateName(), ...s.State },
    Image: s.Image,
    ResolvConfPath: s.ResolvConfPath,
    HostnamePath: s.HostnamePath,
    HostsPath: s.HostsPath,
    LogPath: s.LogPath,
    Name: `/${s.Name}`,
    RestartCount: s.RestartCount,
    Driver: 'overlayfs',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds !== null && execIds.length > 0 ? execIds : null,
    HostConfig: inspectHostConfig(s.HostConfig),
    GraphDriver: { Data: null, Name: 'overlayfs' },
    Mounts: mountsView(s),
    Config: s.Config,
    NetworkSettings: net ?? networkSettings(s),
  };
}

export interface ListEntry {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: unknown[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts: unknown[];
}

export function listView(c: Container, nowMs: number, net?: { Ports: unknown[]; Networks: Record<string, unknown> }): ListEntry {
  const s = c.state;
  return {
    Id: s.Id,
    Names: [`/${s.Name}`],
    Image: s.Config.Image,
    ImageID: s.Image,
    Command: commandLine(s.Path, s.Args),
    Created: Math.floor(timestampMs(s.Created) / 1000),
    Ports: net?.Ports ?? [],
    Labels: s.Config.Labels,
    State: c.stateName(),
    Status: statusText(s.State, c.removing, nowMs),
    HostConfig: { NetworkMode: s.HostConfig.NetworkMode },
    NetworkSettings: { Networks: net?.Networks ?? { [networkName(s.HostConfig)]: endpoint() } },
    Mounts: mountsView(s),
  };
}
