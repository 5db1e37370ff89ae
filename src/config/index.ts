// Public face of the config module: flags, daemon.json, snapshots, reload.
export type { DaemonConfig, Snapshot } from './types.js';
export { DEFAULTS, FILE_KEYS, RELOADABLE_KEYS, ALL_FILE_KEYS, type FileKey } from './defaults.js';
export { ConfigError, isConfigError } from './errors.js';
export { buildCommand, flagsFromCommand, parseFlags, parseAddRuntime, type DaemonFlags } from './flags.js';
export { findJsonSyntaxError, lineColumn, type JsonSyntaxError } from './json-syntax.js';
export { parseConfigText, type FileValues } from './file.js';
export { loadConfig } from './load.js';
export { readConfigFile, readDaemonConfig, configFileOf } from './read.js';
export { buildSnapshot } from './snapshot.js';
export { deepFreeze } from './freeze.js';
export { mergeReloadable, reloadEventAttributes, type ReloadOutcome } from './reload.js';
export { ConfigStore, type CommitHook, type PrepareHook, type ReloadListener, type ConfigReader, type ConfigStoreOptions } from './store.js';
export { validateConfigFile, type ValidationReport } from './validate-file.js';
export { effectiveLogLevel } from './log-level.js';
