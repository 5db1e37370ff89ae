// Validation and derivation of runtimes without any I/O: the plan says what
// each runtime becomes; only wrapper scripts remain to be written.
import type { RuntimeConfig, ShimConfig } from './types.js';
import { encodeShimOptions, runcBinaryOptions } from './options.js';
import { DEFAULT_RUNTIME, isPermissibleShimName, RUNC_SHIM, STOCK_RUNTIME, STOCK_RUNTIME_NAMES } from './names.js';

export interface PlannedRuntime {
  name: string;
  config: RuntimeConfig;
  stock: boolean;
  /** complete shim config, for runtimes that need no wrapper */
  shim?: ShimConfig;
  /** binary and args a wrapper script must exec (path runtimes with runtimeArgs) */
  wrapper?: { binary: string; args: readonly string[] };
  /** binary that must exist at start (path runtimes) */
  binaryPath?: string;
}

export interface RuntimePlan {
  defaultRuntime: string;
  runtimes: readonly PlannedRuntime[];
}

export type PlanResult = { ok: true; plan: RuntimePlan } | { ok: false; errors: string[] };

function stockRuntime(name: string): PlannedRuntime {
  return {
    name,
    config: { path: STOCK_RUNTIME },
    stock: true,
    shim: { shim: RUNC_SHIM, options: runcBinaryOptions(STOCK_RUNTIME) },
    binaryPath: STOCK_RUNTIME,
  };
}

function isBinaryPath(path: string): boolean {
  if (path.includes('\0')) return false;
  if (path.startsWith('/')) return true;
  return !path.includes('/') && !path.startsWith('-');
}

function isShimReference(runtimeType: string): boolean {
  return !runtimeType.includes('\0') && (runtimeType.startsWith('/') || isPermissibleShimName(runtimeType));
}

/** One configured runtime: its errors, or what it becomes. */
function planOne(name: string, rt: RuntimeConfig): { planned?: PlannedRuntime; errors: string[] } {
  if (name === STOCK_RUNTIME) return { errors: [`runtime name '${STOCK_RUNTIME}' is reserved`] };
  if (name === '') return { errors: ['runtime name must not be empty: an empty name means the default runtime'] };
  const path = rt.path ?? '';
  const runtimeType = rt.runtimeType ?? '';
  const args = rt.runtimeArgs ?? [];
  const options = rt.options ?? {};
  const hasOptions = Object.keys(options).length > 0;

  if (path === '' && runtimeType === '') {
    return { errors: [`runtime ${name}: either a runtimeType or a path must be configured`] };
  }
  if (path !== '' && runtimeType !== '') {
    return { errors: [`runtime ${name}: cannot configure both path and runtimeType for the same runtime`] };
  }

  const errors: string[] = [];
  if (path !== '') {
    if (hasOptions) errors.push(`runtime ${name}: options cannot be used with a path runtime`);
    if (!isBinaryPath(path)) {
      errors.push(`runtime ${name}: path '${path}' must be an absolute path or the name of a binary on PATH`);
    }
    if (args.some((a) => a.includes('\0'))) errors.push(`runtime ${name}: runtimeArgs cannot contain NUL characters`);
    if (errors.length > 0) return { errors };
    if (args.length > 0) {
      return { planned: { name, config: rt, stock: false, wrapper: { binary: path, args }, binaryPath: path }, errors };
    }
    return {
      planned: { name, config: rt, stock: false, shim: { shim: RUNC_SHIM, options: runcBinaryOptions(path) }, binaryPath: path },
      errors,
    };
  }

  if (args.length > 0) errors.push(`runtime ${name}: args cannot be used with a runtimeType runtime`);
  if (!isShimReference(runtimeType)) {
    errors.push(
      `runtime ${name}: runtimeType '${runtimeType}' must be a shim name like io.containerd.runsc.v1 or the absolute path of a shim binary`,
    );
  }
  const encoded = rt.options === undefined ? { errors: [] } : encodeShimOptions(name, runtimeType, options);
  errors.push(...encoded.errors);
  if (errors.length > 0) return { errors };
  const shim: ShimConfig = encoded.options === undefined ? { shim: runtimeType } : { shim: runtimeType, options: encoded.options };
  return { planned: { name, config: rt, stock: false, shim }, errors };
}

/** Validates every configured runtime and the default, collecting every error. */
export function planRuntimes(configured: Readonly<Record<string, RuntimeConfig>>, defaultRuntime: string): PlanResult {
  const errors: string[] = [];
  const planned = new Map<string, PlannedRuntime>();
  for (const name of STOCK_RUNTIME_NAMES) planned.set(name, stockRuntime(name));
  for (const [name, rt] of Object.entries(configured)) {
    const one = planOne(name, rt);
    errors.push(...one.errors);
    // A configured name replaces a stock one of the same name (io.containerd.runc.v2).
    if (one.planned !== undefined) planned.set(name, one.planned);
  }
  const effectiveDefault = defaultRuntime === '' ? DEFAULT_RUNTIME : defaultRuntime;
  const defaultExists =
    planned.has(effectiveDefault) || Object.hasOwn(configured, effectiveDefault) || isPermissibleShimName(effectiveDefault);
  if (!defaultExists) errors.push(`specified default runtime '${effectiveDefault}' does not exist`);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, plan: { defaultRuntime: effectiveDefault, runtimes: [...planned.values()] } };
}

/** Every validation error of a runtimes configuration (empty when valid). */
export function validateRuntimes(configured: Readonly<Record<string, RuntimeConfig>>, defaultRuntime: string): string[] {
  const result = planRuntimes(configured, defaultRuntime);
  return result.ok ? [] : result.errors;
}
