// Contract of the config module (owned by src/config).
import type { RuntimeConfig, DerivedRuntimes } from '../runtimes/types.js';
import type { LogLevel } from '../log/index.js';

/** The daemon configuration as the user supplied it (file merged with flags). Never mutated. */
export interface DaemonConfig {
  configFile: string;
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  containerd: string;
  containerdNamespace: string;
  runtimes: Record<string, RuntimeConfig>;
  defaultRuntime: string;
  debug: boolean;
  logLevel: LogLevel;
  labels: string[];
  liveRestore: boolean;
  shutdownTimeout: number;
  maxConcurrentDownloads: number;
  group: string;
  /** log driver of containers that name none (json-file when unset) */
  logDriver: string;
  /** options of the default log driver */
  logOpts: Record<string, string>;
  /** --tls: undefined when not given (a TCP host off loopback then needs TLS or an explicit false) */
  tls: boolean | undefined;
  /** --tlsverify: given at all (true or false), it turns TLS on, as with dockerd */
  tlsVerify: boolean | undefined;
  tlsCaCert: string;
  tlsCert: string;
  tlsKey: string;
  /** docker.io mirrors (registry-mirrors) */
  registryMirrors: string[];
  /** host[:port] and CIDR entries (insecure-registries); loopback is always insecure */
  insecureRegistries: string[];
  maxConcurrentUploads: number;
  maxDownloadAttempts: number;
  /** networking (daemon.json only, dockerd's names); unset means the network module's default */
  bip?: string;
  bridge?: string;
  defaultAddressPools?: Array<{ base: string; size: number }>;
  iptables?: boolean;
  ipForward?: boolean;
  ipMasq?: boolean;
  icc?: boolean;
  mtu?: number;
  dns?: string[];
  dnsSearch?: string[];
  dnsOpts?: string[];
  userlandProxy?: boolean;
  /** berth's own: where the embedded resolver forwards outside names ("IP" or "IP:PORT") */
  dnsUpstream?: string[];
  /** berth's own: the folders searched for CNI plugin binaries, in order (default /usr/lib/cni, /opt/cni/bin) */
  cniPluginDirs?: string[];
  /** daemon.json `seccomp-profile`: builtin, unconfined or a file path */
  seccompProfile?: string;
  noNewPrivileges?: boolean;
  /** daemon.json `default-ulimits`, keyed by name */
  defaultUlimits?: Record<string, { Name: string; Soft: number; Hard: number }>;
  init?: boolean;
  initPath?: string;
}

/** One immutable, deep-frozen view: user config + state derived from it. */
export interface Snapshot {
  readonly generation: number;
  readonly config: Readonly<DaemonConfig>;
  readonly runtimes: DerivedRuntimes;
}
