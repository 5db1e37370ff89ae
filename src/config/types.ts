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
