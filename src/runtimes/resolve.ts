// Runtime name → what containerd needs, against one snapshot.
import { invalidParameter } from '../errors/index.js';
import type { DerivedRuntimes, ShimConfig } from './types.js';
import { findBinary } from './binary.js';
import { isPermissibleShimName } from './names.js';

/** Anything that carries derived runtimes; a config Snapshot does. */
export interface HasRuntimes {
  readonly runtimes: DerivedRuntimes;
}

function unknownRuntime(name: string): Error {
  return invalidParameter(`unknown or invalid runtime name: ${name}`);
}

/**
 * The name a container records at create: empty → the default runtime's
 * name; a configured (or stock) name or a permissible shim name as is.
 * Throws invalid-parameter `unknown or invalid runtime name: NAME` otherwise.
 */
export function validateRuntimeName(snapshot: HasRuntimes, name: string): string {
  const effective = name === '' ? snapshot.runtimes.defaultRuntime : name;
  if (snapshot.runtimes.byName.has(effective) || isPermissibleShimName(effective)) return effective;
  throw unknownRuntime(effective);
}

/**
 * The shim config to lock in at start. Configured names win over the shim
 * name rule; path runtimes first check that their binary exists (message
 * `runtime NAME: PATH: no such file or directory`). The options bytes are a
 * copy, so the snapshot cannot be changed through the result.
 */
export function resolveRuntime(snapshot: HasRuntimes, name: string): ShimConfig {
  const effective = name === '' ? snapshot.runtimes.defaultRuntime : name;
  const rt = snapshot.runtimes.byName.get(effective);
  if (rt === undefined) {
    if (isPermissibleShimName(effective)) return { shim: effective };
    throw unknownRuntime(effective);
  }
  if (rt.binaryPath !== undefined) {
    const status = findBinary(rt.binaryPath);
    if (status.problem !== undefined) {
      const where = rt.binaryPath.startsWith('/') ? '' : ' (searched in PATH)';
      throw invalidParameter(`runtime ${effective}: ${rt.binaryPath}: ${status.problem}${where}`);
    }
  }
  if (rt.wrapperPath !== undefined && findBinary(rt.wrapperPath).problem !== undefined) {
    throw invalidParameter(`runtime ${effective}: wrapper script ${rt.wrapperPath} is missing (removed outside berthd); restart berthd to write it again`);
  }
  const { options } = rt.shim;
  return options === undefined ? { shim: rt.shim.shim } : { shim: rt.shim.shim, options: { typeUrl: options.typeUrl, value: Buffer.from(options.value) } };
}
