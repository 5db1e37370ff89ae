// The registry hosts of the configuration in force: rebuilt when a reload
// commits a new snapshot, so a pull sees one consistent set of mirrors,
// insecure registries and limits from start to end.
import { dirname, join } from 'node:path';
import type { DaemonConfig, Snapshot } from '../config/index.js';
import { RegistryHosts, type RegistrySettings } from '../distribution/index.js';

const DEFAULT_UPLOADS = 5;
const DEFAULT_ATTEMPTS = 5;

/** Registry keys are optional in DaemonConfig so that configurations written before them still type-check. */
type RegistryKeys = Partial<Pick<RegistrySettings, 'maxConcurrentUploads' | 'maxDownloadAttempts'>> & {
  registryMirrors?: readonly string[];
  insecureRegistries?: readonly string[];
};

export function registrySettings(config: Readonly<DaemonConfig>): RegistrySettings {
  const c = config as Readonly<DaemonConfig> & RegistryKeys;
  return {
    mirrors: c.registryMirrors ?? [],
    insecure: c.insecureRegistries ?? [],
    // certs.d sits next to daemon.json, as /etc/docker/certs.d does for dockerd.
    certsDir: join(dirname(config.configFile), 'certs.d'),
    maxConcurrentDownloads: config.maxConcurrentDownloads,
    maxConcurrentUploads: c.maxConcurrentUploads ?? DEFAULT_UPLOADS,
    maxDownloadAttempts: c.maxDownloadAttempts ?? DEFAULT_ATTEMPTS,
  };
}

export class CurrentRegistry {
  private generation = -1;
  private hosts: RegistryHosts | undefined;

  constructor(private readonly current: () => Snapshot) {}

  get(): RegistryHosts {
    const snap = this.current();
    if (!this.hosts || snap.generation !== this.generation) {
      this.hosts?.close();
      this.hosts = new RegistryHosts(registrySettings(snap.config));
      this.generation = snap.generation;
    }
    return this.hosts;
  }
}
