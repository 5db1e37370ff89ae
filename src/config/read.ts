// Reading daemon.json: the only file I/O of configuration loading.
import { readFile } from 'node:fs/promises';
import type { DaemonConfig } from './types.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError } from './errors.js';
import type { DaemonFlags } from './flags.js';
import { loadConfig } from './load.js';

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
};

/**
 * The file's text; undefined when the default file does not exist (berthd
 * runs on defaults). A missing file named with --config-file is an error.
 */
export async function readConfigFile(fileName: string, explicit: boolean): Promise<string | undefined> {
  try {
    return await readFile(fileName, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT' && !explicit) return undefined;
    const why = ERRNO_TEXT[code] ?? (err as Error).message;
    throw new ConfigError([`cannot read configuration file ${fileName}: ${why}`], fileName);
  }
}

export function configFileOf(flags: DaemonFlags): { fileName: string; explicit: boolean } {
  return flags.configFile === undefined
    ? { fileName: DEFAULTS.configFile, explicit: false }
    : { fileName: flags.configFile, explicit: true };
}

/** Reads the configuration file named by the flags and loads it with them. */
export async function readDaemonConfig(flags: DaemonFlags): Promise<DaemonConfig> {
  const { fileName, explicit } = configFileOf(flags);
  return loadConfig(flags, await readConfigFile(fileName, explicit), fileName);
}
