// Checks of the registry keys, with dockerd's wording.
import { normalizeInsecureEntry, normalizeMirror } from '../distribution/index.js';
import { messageOf } from '../errors/index.js';
import type { DaemonConfig } from './types.js';

export function registryErrors(config: DaemonConfig): string[] {
  const errors: string[] = [];
  for (const m of config.registryMirrors) {
    try {
      normalizeMirror(m);
    } catch (err) {
      errors.push(messageOf(err));
    }
  }
  for (const e of config.insecureRegistries) {
    try {
      normalizeInsecureEntry(e);
    } catch (err) {
      errors.push(messageOf(err));
    }
  }
  if (config.maxDownloadAttempts < 1) errors.push(`invalid max download attempts: ${config.maxDownloadAttempts}`);
  return errors;
}
