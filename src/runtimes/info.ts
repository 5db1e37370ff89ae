// The runtimes part of `docker info`: what is configured, and whether it can run.
import type { DerivedRuntime } from './types.js';
import type { HasRuntimes } from './resolve.js';
import { findBinary } from './binary.js';
import { shimBinaryName } from './names.js';

/** One entry of Info.Runtimes, in the Engine API's shape. */
export interface RuntimeInfoView {
  path?: string;
  runtimeArgs?: string[];
  runtimeType?: string;
  options?: Record<string, unknown>;
  /** string values only, as the API's status map */
  status: Record<string, string>;
}

export interface RuntimesInfo {
  Runtimes: Record<string, RuntimeInfoView>;
  DefaultRuntime: string;
}

function status(rt: DerivedRuntime): Record<string, string> {
  const out: Record<string, string> = { shim: rt.shim.shim };
  let binary: string | undefined;
  if (rt.binaryPath !== undefined) {
    binary = rt.binaryPath;
    if (rt.wrapperPath !== undefined) out.wrapper = rt.wrapperPath;
  } else if (rt.shim.shim.startsWith('/')) {
    binary = rt.shim.shim;
  } else {
    binary = shimBinaryName(rt.shim.shim);
  }
  if (binary === undefined) {
    out.found = 'false';
    out.error = `no shim binary name can be derived from ${rt.shim.shim}`;
    return out;
  }
  const found = findBinary(binary);
  out.binary = found.path ?? binary;
  out.found = String(found.problem === undefined);
  if (found.problem !== undefined) out.error = `${binary}: ${found.problem}`;
  return out;
}

function view(rt: DerivedRuntime): RuntimeInfoView {
  const c = rt.config;
  return {
    ...(c.path !== undefined && { path: c.path }),
    ...(c.runtimeArgs !== undefined && c.runtimeArgs.length > 0 && { runtimeArgs: [...c.runtimeArgs] }),
    ...(c.runtimeType !== undefined && { runtimeType: c.runtimeType }),
    ...(c.options !== undefined && { options: structuredClone(c.options) }),
    status: status(rt),
  };
}

/** Info.Runtimes (sorted by name) and Info.DefaultRuntime; looks binaries up on each call. */
export function runtimesInfoView(snapshot: HasRuntimes): RuntimesInfo {
  const names = [...snapshot.runtimes.byName.keys()].sort();
  const entries = names.map((name) => [name, view(snapshot.runtimes.byName.get(name)!)] as const);
  return { Runtimes: Object.fromEntries(entries), DefaultRuntime: snapshot.runtimes.defaultRuntime };
}
