// Names of runtimes: the stock ones, the shim-name rule, Kubernetes labels.

/** The runtime every daemon has and that nobody may redefine. */
export const STOCK_RUNTIME = 'runc';
/** containerd's runc shim; also a stock runtime name. */
export const RUNC_SHIM = 'io.containerd.runc.v2';
export const STOCK_RUNTIME_NAMES: readonly string[] = [STOCK_RUNTIME, RUNC_SHIM];
/** Default when `default-runtime` is unset. */
export const DEFAULT_RUNTIME = STOCK_RUNTIME;

/**
 * A name containerd understands as a shim without any configuration
 * (io.containerd.kata.v2): no `/`, so it can never be taken for a binary
 * path, and a `.` with something before the first one.
 */
export function isPermissibleShimName(name: string): boolean {
  if (name.includes('/') || name.includes('\0')) return false;
  const dot = name.indexOf('.');
  return dot > 0;
}

/** containerd's mapping of a shim name to its binary: io.containerd.runsc.v1 → containerd-shim-runsc-v1. */
export function shimBinaryName(shim: string): string | undefined {
  const parts = shim.split('.');
  if (parts.length < 2) return undefined;
  const name = parts[parts.length - 2];
  const version = parts[parts.length - 1];
  if (!name || !version) return undefined;
  return `containerd-shim-${name}-${version}`;
}

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True when the name can be a Kubernetes RuntimeClass handler. */
export function isKubernetesName(name: string): boolean {
  return name.length <= 63 && RFC1123_LABEL.test(name);
}

/** The closest RFC 1123 label to a name, for suggestions. */
export function kubernetesNameFor(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label === '' ? 'runtime' : label;
}
