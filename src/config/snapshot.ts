// One immutable snapshot: the user's configuration plus what is derived from
// it (runtimes with their wrapper scripts written), deep-frozen.
import { deriveRuntimes, planRuntimes, type WrapperStore } from '../runtimes/index.js';
import type { DaemonConfig, Snapshot } from './types.js';
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';

/**
 * Validates the runtimes again (the config may come from anywhere), writes the
 * wrappers not yet written, and returns the frozen snapshot. The config is
 * copied first, so the caller's object is never frozen or shared.
 */
export async function buildSnapshot(config: DaemonConfig, generation: number, wrappers: WrapperStore): Promise<Snapshot> {
  const own = structuredClone(config);
  const planned = planRuntimes(own.runtimes, own.defaultRuntime);
  if (!planned.ok) throw new ConfigError(planned.errors, own.configFile);
  const runtimes = await deriveRuntimes(planned.plan, wrappers);
  return deepFreeze({ generation, config: own, runtimes });
}
