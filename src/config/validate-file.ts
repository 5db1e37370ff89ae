// `berthd --validate`: check a configuration file without touching anything.
import { messageOf } from '../errors/index.js';
import { kubernetesNameWarnings } from '../runtimes/index.js';
import { isConfigError } from './errors.js';
import type { DaemonFlags } from './flags.js';
import { loadConfig } from './load.js';
import { configFileOf, readConfigFile } from './read.js';
import { loadTlsMaterial, tlsSettings } from '../tls/index.js';

export interface ValidationReport {
  ok: boolean;
  fileName: string;
  errors: string[];
  /** runtime names Kubernetes cannot use, with the alias to add */
  warnings: string[];
}

/**
 * Loads the file (default: the one the flags name) with the flags, as a
 * start would, but writes no wrapper and prints nothing.
 */
export async function validateConfigFile(fileName: string | undefined, flags: DaemonFlags): Promise<ValidationReport> {
  const named = fileName ?? configFileOf(flags).fileName;
  const explicit = fileName !== undefined || flags.configFile !== undefined;
  try {
    const config = loadConfig(flags, await readConfigFile(named, explicit), named);
    // the TLS files as a start would read them
    const tls = tlsSettings(config);
    if (tls.enabled) await loadTlsMaterial(tls);
    return { ok: true, fileName: named, errors: [], warnings: kubernetesNameWarnings(config.runtimes) };
  } catch (err) {
    const errors = isConfigError(err) ? [...err.errors] : [messageOf(err)];
    return { ok: false, fileName: named, errors, warnings: [] };
  }
}
