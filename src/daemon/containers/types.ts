// Shapes of the container module: Docker's container config as the API takes
// it, the record persisted per container, and the services the module uses.
import type { ContainerdClient, Mount } from '../../containerd/types.js';
import type { Snapshot } from '../../config/types.js';
import type { EventBus } from '../../events/index.js';
import type { Logger } from '../../log/index.js';
import type { ImageConfig, ResolvedImage } from '../images/index.js';
import type { LogReader, OpenIOOptions, ProcessIO } from '../io/types.js';
import type { EndpointConfigBody } from '../../network/index.js';
import type { NetworkBackend } from './network.js';
import type { MountPoint } from '../../volumes/index.js';
import type { HealthState } from '../health/index.js';

/** Docker's container `Config` (the top level of a create body minus HostConfig). */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Healthcheck?: object;
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

/**
 * The HostConfig fields berth acts on, plus every other field the client
 * sent (type-checked, kept so that inspect shows them back).
 */
export interface HostConfig {
  NetworkMode: string;
  Runtime: string;
  AutoRemove: boolean;
  RestartPolicy: RestartPolicy;
  Binds: string[] | null;
  GroupAdd: string[] | null;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  ShmSize: number;
  Dns: string[];
  DnsOptions: string[];
  DnsSearch: string[];
  ExtraHosts: string[] | null;
  Sysctls?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  Memory: number;
  MemorySwap: number;
  CpuShares: number;
  CpuPeriod: number;
  CpuQuota: number;
  NanoCpus: number;
  CpusetCpus: string;
  CpusetMems: string;
  PidsLimit: number | null;
  OomKillDisable: boolean | null;
  OomScoreAdj: number;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  [key: string]: unknown;
}

/** What a create request carries once validated. */
export interface CreateRequest {
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** NetworkingConfig.EndpointsConfig: network name → endpoint settings */
  endpoints?: Record<string, EndpointConfigBody>;
}

/** The runtime locked in at start (SPEC §1.3): never re-resolved afterwards. */
export interface LockedRuntime {
  shim: string;
  /** typed shim options as containerd receives them; value base64 */
  options?: { typeUrl: string; value: string };
}

export interface ContainerStateFields {
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339 with nanoseconds; Docker's zero time when never */
  StartedAt: string;
  FinishedAt: string;
  /** present only when the container has a healthcheck */
  Health?: HealthState;
}

/** The record persisted in <data-root>/containers/<id>/state.json. */
export interface ContainerRecordState {
  Id: string;
  /** without the leading slash */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** image id (sha256:…) */
  Image: string;
  /** the image reference as resolved at create */
  ImageName: string;
  /** snapshot parent the rootfs was prepared from */
  ImageChainId: string;
  Runtime?: LockedRuntime;
  State: ContainerStateFields;
  LogPath: string;
  RestartCount: number;
  /** stopped or killed by a user: restart policies leave it alone */
  ManuallyStopped?: boolean;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  /** volumes, binds and tmpfs planned at create (records from before volumes existed have none) */
  MountPoints?: MountPoint[];
  /** bumped at every write; lets a reader tell two versions apart */
  Version: number;
}

export type { ImageConfig, ResolvedImage };

/** What the container module needs from the image service. */
export interface ImageBackend {
  resolveForContainer(ref: string): Promise<ResolvedImage>;
  prepareRootfs(key: string, chainId: string): Promise<Mount[]>;
  removeRootfs(key: string): Promise<void>;
  /** unpacked size of an image by ID (for SizeRootFs) */
  unpackedSize?(id: string): Promise<number>;
}

export interface IoBackend {
  openProcessIO(opts: OpenIOOptions): ProcessIO | Promise<ProcessIO>;
  readLogs: LogReader;
}

/** What the container module needs from the volume service. */
export interface VolumeBackend {
  attach(containerId: string, points: MountPoint[], rootfs: readonly Mount[], tmpRoot: string): Promise<void>;
  settle(containerId: string): void;
  prepareStart(points: readonly MountPoint[]): Promise<void>;
  release(containerId: string, points: readonly MountPoint[], removeAnonymous: boolean): Promise<void>;
}

export interface ConfigSource {
  current(): Snapshot;
}

export interface ContainerServiceDeps {
  /** bound to the container namespace */
  client: ContainerdClient;
  configStore: ConfigSource;
  images: ImageBackend;
  io: IoBackend;
  /** named and anonymous volumes; without it only binds and tmpfs work */
  volumes?: VolumeBackend;
  events: EventBus;
  logger: Logger;
  dataRoot: string;
  execRoot: string;
  namespace: string;
  /** re-attach to running containers after a restart instead of stopping them */
  liveRestore?: boolean;
  /** override of the host's /etc/resolv.conf and /etc/hosts (tests) */
  hostFiles?: { resolvConf?: string; hosts?: string };
  /** bridge networking; without it the default bridge behaves like none */
  network?: NetworkBackend;
}

export const SNAPSHOTTER = 'overlayfs';
export const ZERO_TIME = '0001-01-01T00:00:00Z';
