// What a reload takes from a freshly loaded configuration: the reloadable
// keys; everything else stays as the daemon started with it.
import type { DaemonConfig } from './types.js';
import { ALL_FILE_KEYS, FILE_KEYS, RELOADABLE_KEYS, type FileKey } from './defaults.js';
import type { Snapshot } from './types.js';

export interface ReloadOutcome {
  ok: boolean;
  configFile: string;
  /** the snapshot in force after the reload: the new one, or the untouched previous one when refused */
  snapshot: Snapshot;
  previous: Snapshot;
  /** why the reload was refused (empty when ok) */
  errors: string[];
  /** reloadable keys whose value changed */
  changed: FileKey[];
  /** keys that changed but need a restart; they were not applied */
  ignored: FileKey[];
  durationMs: number;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * A copy of `current` with the reloadable keys of `loaded`. The result for
 * those keys is what a restart with the same flags and file would give.
 */
export function mergeReloadable(
  current: DaemonConfig,
  loaded: DaemonConfig,
): { config: DaemonConfig; changed: FileKey[]; ignored: FileKey[] } {
  const reloadable = new Set<FileKey>(RELOADABLE_KEYS);
  const taken = RELOADABLE_KEYS.map((key) => [FILE_KEYS[key], loaded[FILE_KEYS[key]]] as const);
  const config = { ...current, ...Object.fromEntries(taken) } as DaemonConfig;
  const changed: FileKey[] = [];
  const ignored: FileKey[] = [];
  for (const key of ALL_FILE_KEYS) {
    const field = FILE_KEYS[key];
    if (same(current[field], loaded[field])) continue;
    (reloadable.has(key) ? changed : ignored).push(key);
  }
  return { config, changed, ignored };
}

/**
 * Attributes of the `daemon` `reload` event: every runtime name (sorted,
 * comma-separated), the default runtime and the other reloadable settings
 * in force; a refused reload adds `error`.
 */
export function reloadEventAttributes(outcome: ReloadOutcome): Record<string, string> {
  const { config, runtimes } = outcome.snapshot;
  const attrs: Record<string, string> = {
    runtimes: [...runtimes.byName.keys()].sort().join(','),
    'default-runtime': runtimes.defaultRuntime,
    debug: String(config.debug),
    'log-level': config.logLevel,
    labels: JSON.stringify(config.labels),
    'live-restore': String(config.liveRestore),
    'shutdown-timeout': String(config.shutdownTimeout),
    'max-concurrent-downloads': String(config.maxConcurrentDownloads),
    'registry-mirrors': JSON.stringify(config.registryMirrors),
    'insecure-registries': JSON.stringify(config.insecureRegistries),
    'max-concurrent-uploads': String(config.maxConcurrentUploads),
    'max-download-attempts': String(config.maxDownloadAttempts),
  };
  if (!outcome.ok) attrs.error = outcome.errors.join('; ');
  return attrs;
}
