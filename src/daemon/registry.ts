// The registry hosts of the configuration in force: rebuilt when a reload
// commits a new snapshot, so a pull sees one consistent set of mirrors,
// insecure registries and limits from start to end.
import { dirname, join } from 'node:path';
import type { DaemonConfig, Snapshot } from '../config/index.js';
import { RegistryHosts, type RegistrySettings } from '../distribution/index.js';

export function registrySettings(config: Readonly<DaemonConfig>): RegistrySettings {
  return {
    mirrors: config.registryMirrors,
    insecure: config.insecureRegistries,
    // certs.d sits next to daemon.json, as /etc/docker/certs.d does for dockerd.
    certsDir: join(dirname(config.configFile), 'certs.d'),
    maxConcurrentDownloads: config.maxConcurrentDownloads,
    maxConcurrentUploads: config.maxConcurrentUploads,
    maxDownloadAttempts: config.maxDownloadAttempts,
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
