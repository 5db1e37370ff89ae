// The /info and /version facts. Everything slow is gathered once; info() reads
// the snapshot once and the live counters of the services.
import { DRIVERS as LOG_DRIVERS } from '../logdrivers/index.js';
import type { Snapshot } from '../config/index.js';
import type { ContainerdClient } from '../containerd/index.js';
import { runtimesInfoView } from '../runtimes/index.js';
import { dockerArch } from '../oci/index.js';
import { hostFacts, runcVersion, type HostFacts } from './host-facts.js';
import { securityInfo } from '../security/index.js';

export interface ContainerCounts {
  total: number;
  running: number;
  paused: number;
  stopped: number;
}

interface ComponentVersions {
  containerd: { version: string; revision: string };
  runc: { version: string; commit: string };
}

export interface SystemDeps {
  engineId: string;
  berthVersion: string;
  current: () => Snapshot;
  client: ContainerdClient;
  containerCounts: () => ContainerCounts;
  imageCount: () => Promise<number>;
  eventListeners: () => number;
  /** warnings about how the API is exposed (plain or unverified TCP) */
  apiWarnings?: () => string[];
  /** `docker info`'s RegistryConfig of the configuration in force */
  registryConfig?: () => unknown;
}

export interface ComponentVersion {
  name: string;
  version: string;
  details?: Record<string, string>;
}

export interface VersionInfo {
  /** berth's own version */
  version: string;
  gitCommit: string;
  /** RFC 3339 */
  buildTime: string;
  kernelVersion: string;
  /** containerd, runc… as far as they are known */
  components: ComponentVersion[];
}

export interface SystemBackend {
  version(): Promise<VersionInfo>;
  /** Docker's /info object, passed through as is */
  info(): Promise<Record<string, unknown>>;
}

export class SystemService implements SystemBackend {
  readonly #deps: SystemDeps;
  readonly #facts: HostFacts = hostFacts();

  get hostname(): string {
    return this.#facts.hostname;
  }
  #components: Promise<ComponentVersions> | undefined;

  constructor(deps: SystemDeps) {
    this.#deps = deps;
  }

  #componentVersions(): Promise<ComponentVersions> {
    if (this.#components === undefined) {
      const pending = Promise.all([
        this.#deps.client.version().catch(() => ({ version: '', revision: '' })),
        runcVersion(),
      ]).then(([containerd, runc]) => ({ containerd, runc }));
      this.#components = pending;
      // Retry later when containerd was down the first time.
      void pending.then((c) => {
        if (c.containerd.version === '') this.#components = undefined;
      });
    }
    return this.#components;
  }

  async version(): Promise<VersionInfo> {
    const { containerd, runc } = await this.#componentVersions();
    return {
      version: this.#deps.berthVersion,
      gitCommit: '',
      buildTime: '',
      kernelVersion: this.#facts.kernelVersion,
      components: [
        { name: 'containerd', version: containerd.version, details: { GitCommit: containerd.revision } },
        { name: 'runc', version: runc.version, details: { GitCommit: runc.commit } },
      ],
    };
  }

  async info(): Promise<Record<string, unknown>> {
    const snapshot = this.#deps.current();
    const { config } = snapshot;
    const counts = this.#deps.containerCounts();
    const [{ containerd, runc }, images, security] = await Promise.all([this.#componentVersions(), this.#deps.imageCount(), securityInfo(config)]);
    const runtimes = runtimesInfoView(snapshot);
    return {
      ID: this.#deps.engineId,
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: images,
      Driver: 'overlayfs',
      DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
      Plugins: { Volume: ['local'], Network: ['host', 'null'], Authorization: null, Log: [...LOG_DRIVERS] },
      MemoryLimit: true,
      SwapLimit: false,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: false,
      Debug: config.debug,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: config.logDriver || 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: this.#facts.cgroupVersion,
      NEventsListener: this.#deps.eventListeners(),
      KernelVersion: this.#facts.kernelVersion,
      OperatingSystem: this.#facts.operatingSystem,
      OSVersion: this.#facts.osVersion,
      OSType: 'linux',
      Architecture: dockerArch() === 'amd64' ? 'x86_64' : dockerArch(),
      IndexServerAddress: this.#deps.registryConfig ? 'https://index.docker.io/v1/' : '',
      RegistryConfig: this.#deps.registryConfig?.() ?? null,
      NCPU: this.#facts.ncpu,
      MemTotal: this.#facts.memTotal,
      GenericResources: null,
      DockerRootDir: config.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: this.#facts.hostname,
      Labels: [...config.labels],
      ExperimentalBuild: false,
      ServerVersion: this.#deps.berthVersion,
      Runtimes: runtimes.Runtimes,
      DefaultRuntime: runtimes.DefaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: config.liveRestore,
      Isolation: '',
      ContainerdCommit: { ID: containerd.revision },
      RuncCommit: { ID: runc.commit },
      Warnings: [...(this.#deps.apiWarnings?.() ?? [])],
      ...security,
    };
  }
}
