// Turns the body of POST /containers/create into a typed CreateRequest, or a
// 400 naming the first field of the wrong type.
import { invalidParameter } from '../../errors/index.js';
import {
  asObject,
  bool,
  checkFields,
  int,
  str,
  stringMap,
  strings,
  strslice,
  type FieldKind,
  type Json,
} from './body-reader.js';
import type { ContainerConfig, CreateRequest, HostConfig } from './types.js';

const CONFIG_FIELDS: Readonly<Record<string, FieldKind>> = {
  Hostname: 'string',
  Domainname: 'string',
  User: 'string',
  AttachStdin: 'bool',
  AttachStdout: 'bool',
  AttachStderr: 'bool',
  ExposedPorts: 'object',
  Tty: 'bool',
  OpenStdin: 'bool',
  StdinOnce: 'bool',
  Env: 'strings',
  Cmd: 'strslice',
  Healthcheck: 'object',
  ArgsEscaped: 'bool',
  Image: 'string',
  Volumes: 'object',
  WorkingDir: 'string',
  Entrypoint: 'strslice',
  NetworkDisabled: 'bool',
  MacAddress: 'string',
  OnBuild: 'strings',
  Labels: 'map',
  StopSignal: 'string',
  StopTimeout: 'int?',
  Shell: 'strings',
  HostConfig: 'object',
  NetworkingConfig: 'object',
};

export const HOST_CONFIG_FIELDS: Readonly<Record<string, FieldKind>> = {
  Binds: 'strings',
  ContainerIDFile: 'string',
  LogConfig: 'object',
  NetworkMode: 'string',
  PortBindings: 'object',
  RestartPolicy: 'object',
  AutoRemove: 'bool',
  VolumeDriver: 'string',
  VolumesFrom: 'strings',
  ConsoleSize: 'ints',
  Annotations: 'map',
  CapAdd: 'strings',
  CapDrop: 'strings',
  CgroupnsMode: 'string',
  Dns: 'strings',
  DnsOptions: 'strings',
  DnsSearch: 'strings',
  ExtraHosts: 'strings',
  GroupAdd: 'strings',
  IpcMode: 'string',
  Cgroup: 'string',
  Links: 'strings',
  OomScoreAdj: 'int',
  PidMode: 'string',
  Privileged: 'bool',
  PublishAllPorts: 'bool',
  ReadonlyRootfs: 'bool',
  SecurityOpt: 'strings',
  StorageOpt: 'map',
  Tmpfs: 'map',
  UTSMode: 'string',
  UsernsMode: 'string',
  ShmSize: 'int',
  Sysctls: 'map',
  Runtime: 'string',
  Isolation: 'string',
  CpuShares: 'int',
  Memory: 'int',
  NanoCpus: 'int',
  CgroupParent: 'string',
  BlkioWeight: 'int',
  BlkioWeightDevice: 'array',
  BlkioDeviceReadBps: 'array',
  BlkioDeviceWriteBps: 'array',
  BlkioDeviceReadIOps: 'array',
  BlkioDeviceWriteIOps: 'array',
  CpuPeriod: 'int',
  CpuQuota: 'int',
  CpuRealtimePeriod: 'int',
  CpuRealtimeRuntime: 'int',
  CpusetCpus: 'string',
  CpusetMems: 'string',
  Devices: 'array',
  DeviceCgroupRules: 'strings',
  DeviceRequests: 'array',
  KernelMemory: 'int',
  KernelMemoryTCP: 'int',
  MemoryReservation: 'int',
  MemorySwap: 'int',
  MemorySwappiness: 'int?',
  OomKillDisable: 'bool?',
  PidsLimit: 'int?',
  Ulimits: 'array',
  CpuCount: 'int',
  CpuPercent: 'int',
  IOMaximumIOps: 'int',
  IOMaximumBandwidth: 'int',
  Mounts: 'array',
  MaskedPaths: 'strings',
  ReadonlyPaths: 'strings',
  Init: 'bool?',
};

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export function parseCreateBody(body: unknown): CreateRequest {
  const obj = asObject(body, 'container config');
  checkFields(obj, CONFIG_FIELDS);
  const host = asObject(obj.HostConfig, 'HostConfig');
  checkFields(host, HOST_CONFIG_FIELDS, 'HostConfig.');
  const restart = asObject(host.RestartPolicy, 'HostConfig.RestartPolicy');
  checkFields(restart, { Name: 'string', MaximumRetryCount: 'int' }, 'HostConfig.RestartPolicy.');
  const image = str(obj, 'Image');
  if (image === '') throw invalidParameter('config.Image must be set: say which image the container runs');
  const req: CreateRequest = { config: readConfig(obj, image), hostConfig: readHostConfig(host, restart) };
  const networking = obj.NetworkingConfig as { EndpointsConfig?: unknown } | null | undefined;
  const endpoints = networking?.EndpointsConfig;
  if (endpoints !== undefined && endpoints !== null) {
    if (typeof endpoints !== 'object' || Array.isArray(endpoints)) throw invalidParameter('NetworkingConfig.EndpointsConfig must be an object of network name to endpoint settings');
    req.endpoints = endpoints as CreateRequest['endpoints'];
  }
  return req;
}

function readConfig(obj: Json, image: string): ContainerConfig {
  const config: ContainerConfig = {
    Hostname: str(obj, 'Hostname'),
    Domainname: str(obj, 'Domainname'),
    User: str(obj, 'User'),
    AttachStdin: bool(obj, 'AttachStdin'),
    AttachStdout: bool(obj, 'AttachStdout'),
    AttachStderr: bool(obj, 'AttachStderr'),
    Tty: bool(obj, 'Tty'),
    OpenStdin: bool(obj, 'OpenStdin'),
    StdinOnce: bool(obj, 'StdinOnce'),
    Env: strings(obj, 'Env') ?? [],
    Cmd: strslice(obj, 'Cmd'),
    Image: image,
    Volumes: (obj.Volumes as Record<string, object> | null | undefined) ?? null,
    WorkingDir: str(obj, 'WorkingDir'),
    Entrypoint: strslice(obj, 'Entrypoint'),
    OnBuild: strings(obj, 'OnBuild'),
    Labels: stringMap(obj, 'Labels') ?? {},
  };
  if (obj.ExposedPorts) config.ExposedPorts = obj.ExposedPorts as Record<string, object>;
  if (obj.Healthcheck) config.Healthcheck = obj.Healthcheck as object;
  if (typeof obj.ArgsEscaped === 'boolean') config.ArgsEscaped = obj.ArgsEscaped;
  if (typeof obj.NetworkDisabled === 'boolean') config.NetworkDisabled = obj.NetworkDisabled;
  if (typeof obj.MacAddress === 'string') config.MacAddress = obj.MacAddress;
  if (typeof obj.StopSignal === 'string' && obj.StopSignal !== '') config.StopSignal = obj.StopSignal;
  if (typeof obj.StopTimeout === 'number') config.StopTimeout = obj.StopTimeout;
  if (Array.isArray(obj.Shell)) config.Shell = obj.Shell as string[];
  return config;
}

function readHostConfig(host: Json, restart: Json): HostConfig {
  // Keep every field the client sent (already type-checked) so that inspect
  // reports it back; the ones berth acts on are normalised below.
  const known = Object.fromEntries(Object.entries(host).filter(([k]) => k in HOST_CONFIG_FIELDS));
  return {
    ...known,
    NetworkMode: str(host, 'NetworkMode') || 'default',
    Runtime: str(host, 'Runtime'),
    AutoRemove: bool(host, 'AutoRemove'),
    RestartPolicy: { Name: str(restart, 'Name') || 'no', MaximumRetryCount: int(restart, 'MaximumRetryCount') },
    Binds: strings(host, 'Binds'),
    GroupAdd: strings(host, 'GroupAdd'),
    CapAdd: strings(host, 'CapAdd'),
    CapDrop: strings(host, 'CapDrop'),
    Privileged: bool(host, 'Privileged'),
    ReadonlyRootfs: bool(host, 'ReadonlyRootfs'),
    ShmSize: int(host, 'ShmSize') || DEFAULT_SHM_SIZE,
    Dns: strings(host, 'Dns') ?? [],
    DnsOptions: strings(host, 'DnsOptions') ?? [],
    DnsSearch: strings(host, 'DnsSearch') ?? [],
    ExtraHosts: strings(host, 'ExtraHosts'),
    Memory: int(host, 'Memory'),
    MemorySwap: int(host, 'MemorySwap'),
    CpuShares: int(host, 'CpuShares'),
    CpuPeriod: int(host, 'CpuPeriod'),
    CpuQuota: int(host, 'CpuQuota'),
    NanoCpus: int(host, 'NanoCpus'),
    CpusetCpus: str(host, 'CpusetCpus'),
    CpusetMems: str(host, 'CpusetMems'),
    PidsLimit: typeof host.PidsLimit === 'number' ? host.PidsLimit : null,
    OomKillDisable: typeof host.OomKillDisable === 'boolean' ? host.OomKillDisable : null,
    OomScoreAdj: int(host, 'OomScoreAdj'),
  };
}
