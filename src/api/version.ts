// API version negotiation: the /vX.Y/ prefix of a request path.
import { invalidParameter } from '../errors/index.js';

export const MAX_API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

const PREFIX = /^\/v([0-9][0-9.]*)(?=\/)/;

/** Numeric, part-by-part comparison ("1.9" < "1.10"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = Number.parseInt(pa[i] ?? '0', 10) || 0;
    const y = Number.parseInt(pb[i] ?? '0', 10) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export interface SplitPath {
  /** the version named by the prefix, or undefined when there is none */
  version: string | undefined;
  /** the path without the prefix */
  path: string;
}

export function splitVersionPrefix(path: string): SplitPath {
  const m = PREFIX.exec(path);
  if (m === null) return { version: undefined, path };
  return { version: m[1], path: path.slice(m[0].length) };
}

/** The version a request speaks; throws invalid-parameter with dockerd's wording when unsupported. */
export function negotiateVersion(requested: string | undefined): string {
  if (requested === undefined) return MAX_API_VERSION;
  if (compareVersions(requested, MIN_API_VERSION) < 0) {
    throw invalidParameter(
      `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(requested, MAX_API_VERSION) > 0) {
    throw invalidParameter(`client version ${requested} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  }
  return requested;
}
