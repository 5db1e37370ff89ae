// Public face of the runtimes module: parsing, validation, derivation,
// wrapper scripts, resolution and the `info` view of runtimes.
import { join } from 'node:path';

export type { RuntimeConfig, ShimConfig, DerivedRuntime, DerivedRuntimes } from './types.js';
export {
  STOCK_RUNTIME,
  RUNC_SHIM,
  STOCK_RUNTIME_NAMES,
  DEFAULT_RUNTIME,
  isPermissibleShimName,
  isKubernetesName,
  shimBinaryName,
} from './names.js';
export { parseRuntimeEntries, type ParsedRuntimes } from './entries.js';
export { planRuntimes, validateRuntimes, type RuntimePlan, type PlannedRuntime, type PlanResult } from './plan.js';
export { deriveRuntimes } from './derive.js';
export { encodeShimOptions, acceptedOptions, decodeShimOptions, runcBinaryOptions, type EncodedOptions } from './options.js';
export { RUNC_OPTIONS_TYPE, RUNTIME_OPTIONS_TYPE } from './proto.js';
export { WrapperStore, cleanupStaleWrappers } from './wrapper-store.js';
export { wrapperScript, shellQuote, safeWrapperName, wrapperFileName } from './wrapper-script.js';
export { resolveRuntime, validateRuntimeName, type HasRuntimes } from './resolve.js';
export { findBinary, type BinaryStatus } from './binary.js';
export { runtimesInfoView, type RuntimeInfoView, type RuntimesInfo } from './info.js';
export { kubernetesNameWarnings } from './kubernetes.js';
export { FrozenMap } from './frozen-map.js';

/** The wrapper scripts' folder under a data root. */
export function wrapperDir(dataRoot: string): string {
  return join(dataRoot, 'runtimes');
}
