import type { LogLevel } from '../log/index.js';
import type { DaemonConfig } from './types.js';

/** `debug: true` means at least debug logging (trace stays trace), as dockerd. */
export function effectiveLogLevel(config: Pick<DaemonConfig, 'debug' | 'logLevel'>): LogLevel {
  if (config.debug && config.logLevel !== 'trace') return 'debug';
  return config.logLevel;
}
