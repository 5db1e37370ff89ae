// Warnings for runtime names Kubernetes cannot use as RuntimeClass handlers.
import type { RuntimeConfig } from './types.js';
import { isKubernetesName, kubernetesNameFor, RUNC_SHIM } from './names.js';

function freeName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const candidate = `${base.slice(0, 63 - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** One warning per configured name that is not a lowercase RFC 1123 label, with an alias to add. */
export function kubernetesNameWarnings(runtimes: Readonly<Record<string, RuntimeConfig>>): string[] {
  const taken = new Set(Object.keys(runtimes));
  const warnings: string[] = [];
  for (const [name, rt] of Object.entries(runtimes)) {
    if (isKubernetesName(name)) continue;
    const alias = freeName(kubernetesNameFor(name), taken);
    taken.add(alias);
    const head = `runtime ${JSON.stringify(name)} cannot be a Kubernetes RuntimeClass handler (not a lowercase RFC 1123 label)`;
    let entry: RuntimeConfig | undefined;
    let how: string;
    if (rt.runtimeType !== undefined && rt.runtimeType !== '') {
      entry = rt.options === undefined ? { runtimeType: rt.runtimeType } : { runtimeType: rt.runtimeType, options: rt.options };
      how = 'add an alias for it';
    } else if (rt.path !== undefined && rt.path !== '' && (rt.runtimeArgs ?? []).length === 0) {
      // The runc shim with BinaryName is exactly what a path runtime is.
      entry = { runtimeType: RUNC_SHIM, options: { BinaryName: rt.path } };
      how = 'add an alias for it';
    } else {
      entry = rt;
      how = 'configure it also under a valid name';
    }
    warnings.push(`${head}; ${how}, e.g. "${alias}": ${JSON.stringify(entry)}`);
  }
  return warnings;
}
