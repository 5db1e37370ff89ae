// A plan made real: wrapper scripts written, every runtime's shim config final.
import type { DerivedRuntime, DerivedRuntimes } from './types.js';
import type { RuntimePlan, PlannedRuntime } from './plan.js';
import type { WrapperStore } from './wrapper-store.js';
import { FrozenMap } from './frozen-map.js';
import { RUNC_SHIM } from './names.js';
import { runcBinaryOptions } from './options.js';

async function derive(p: PlannedRuntime, store: WrapperStore): Promise<DerivedRuntime> {
  const base = { name: p.name, config: p.config, stock: p.stock };
  const withBinary = p.binaryPath === undefined ? base : { ...base, binaryPath: p.binaryPath };
  if (p.wrapper !== undefined) {
    const wrapperPath = await store.ensure(p.name, p.wrapper.binary, p.wrapper.args);
    return { ...withBinary, shim: { shim: RUNC_SHIM, options: runcBinaryOptions(wrapperPath) }, wrapperPath };
  }
  if (p.shim === undefined) throw new Error(`runtime ${p.name}: plan has neither a shim nor a wrapper`);
  return { ...withBinary, shim: p.shim };
}

/** Writes the wrappers a plan needs (new ones only) and returns the derived runtimes. */
export async function deriveRuntimes(plan: RuntimePlan, store: WrapperStore): Promise<DerivedRuntimes> {
  const derived = await Promise.all(plan.runtimes.map((p) => derive(p, store)));
  return { defaultRuntime: plan.defaultRuntime, byName: new FrozenMap(derived.map((d) => [d.name, d] as const)) };
}
