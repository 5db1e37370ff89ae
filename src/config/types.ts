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
}

/** One immutable, deep-frozen view: user config + state derived from it. */
export interface Snapshot {
  readonly generation: number;
  readonly config: Readonly<DaemonConfig>;
  readonly runtimes: DerivedRuntimes;
}
