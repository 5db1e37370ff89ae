// A configuration that cannot be used: every problem found, in order.
import { BerthError } from '../errors/index.js';

export class ConfigError extends BerthError {
  readonly errors: readonly string[];
  /** the configuration file involved, when there is one */
  readonly fileName: string | undefined;

  constructor(errors: readonly string[], fileName?: string) {
    super('invalid-parameter', errors.join('\n'));
    this.name = 'ConfigError';
    this.errors = Object.freeze([...errors]);
    this.fileName = fileName;
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
