// Contract of the runtimes module (owned by src/runtimes).
import type { AnyMessage } from '../containerd/types.js';

/** A runtime as the user wrote it in daemon.json `runtimes` or --add-runtime. */
export interface RuntimeConfig {
  path?: string;
  runtimeArgs?: string[];
  runtimeType?: string;
  options?: Record<string, unknown>;
}

/** What containerd needs to run a task with a runtime: locked in at start. */
export interface ShimConfig {
  /** shim name (io.containerd.runc.v2) or absolute path of a shim binary */
  shim: string;
  /** typed options (runc Options or generic runtimeoptions), protobuf-encoded */
  options?: AnyMessage;
}

/** Derived state for one runtime (immutable, part of a snapshot). */
export interface DerivedRuntime {
  name: string;
  /** the user's entry as configured (stock runtimes: { path: 'runc' }) */
  config: RuntimeConfig;
  shim: ShimConfig;
  /** absolute path of the content-addressed wrapper script, for path+args runtimes */
  wrapperPath?: string;
  /** binary that must exist at start for path runtimes (wrapper target or path) */
  binaryPath?: string;
  stock: boolean;
}

export interface DerivedRuntimes {
  defaultRuntime: string;
  byName: ReadonlyMap<string, DerivedRuntime>;
}
