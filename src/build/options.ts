// The query of POST /build as the classic builder reads it (moby's
// build_routes.go), checked before the context is read.
import { invalidParameter } from '../errors/index.js';

export interface BuildOptions {
  tags: string[];
  dockerfile: string;
  quiet: boolean;
  noCache: boolean;
  /** remove intermediate containers after a successful step */
  remove: boolean;
  /** remove them after a failed one too */
  forceRemove: boolean;
  pull: boolean;
  buildArgs: Map<string, string | null>;
  labels: Record<string, string>;
  target: string;
  networkMode: string;
  extraHosts: string[];
  platform: string;
  /** resource settings of the RUN containers (HostConfig fields), as dockerd applies them */
  resources: Record<string, number | string>;
  /** --ulimit: HostConfig.Ulimits of the RUN containers */
  ulimits: Ulimit[];
  /** --cache-from: images whose history can serve steps */
  cacheFrom: string[];
  /** a context URL (a tarball, a Dockerfile, or a git repository) instead of the body */
  remote: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** moby's BoolValue: false only for "", 0, no, false, none (docker-py sends "False"). */
export function mobyBool(raw: string | null, fallback: boolean): boolean {
  if (raw === null) return fallback;
  return !['', '0', 'no', 'false', 'none'].includes(raw.trim().toLowerCase());
}

function jsonQuery<T>(raw: string | null, name: string, check: (v: unknown) => v is T, fallback: T): T {
  if (raw === null || raw === '') return fallback;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw invalidParameter(`invalid ${name} query parameter: ${(err as Error).message}`);
  }
  if (v === null) return fallback;
  if (!check(v)) throw invalidParameter(`invalid ${name} query parameter: ${raw}`);
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isArgMap = (v: unknown): v is Record<string, string | null> => isObject(v) && Object.values(v).every((x) => x === null || typeof x === 'string');
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isUlimits = (v: unknown): v is Ulimit[] =>
  Array.isArray(v) && v.every((u) => isObject(u) && typeof u.Name === 'string' && Number.isInteger(u.Soft) && Number.isInteger(u.Hard));
const isStringMap = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every((x) => typeof x === 'string');

/** Query parameters that become HostConfig fields of every RUN container. */
const RESOURCE_PARAMS: ReadonlyArray<[string, string, 'int' | 'string']> = [
  ['shmsize', 'ShmSize', 'int'],
  ['memory', 'Memory', 'int'],
  ['memswap', 'MemorySwap', 'int'],
  ['cpushares', 'CpuShares', 'int'],
  ['cpuperiod', 'CpuPeriod', 'int'],
  ['cpuquota', 'CpuQuota', 'int'],
  ['cpusetcpus', 'CpusetCpus', 'string'],
  ['cpusetmems', 'CpusetMems', 'string'],
  ['cgroupparent', 'CgroupParent', 'string'],
];

function resources(q: URLSearchParams): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [param, field, kind] of RESOURCE_PARAMS) {
    const raw = q.get(param);
    if (raw === null || raw === '') continue;
    if (kind === 'string') out[field] = raw;
    else {
      if (!/^-?\d+$/.test(raw)) throw invalidParameter(`invalid ${param} query parameter: ${JSON.stringify(raw)} (a whole number)`);
      const n = Number(raw);
      if (n !== 0) out[field] = n;
    }
  }
  return out;
}

export function parseBuildQuery(q: URLSearchParams): BuildOptions {
  const version = q.get('version') ?? '1';
  if (version === '2') {
    throw invalidParameter('BuildKit is not supported by berth: build with the classic builder (DOCKER_BUILDKIT=0, the default of a docker CLI without buildx)');
  }
  if (version !== '1' && version !== '') throw invalidParameter(`invalid version "${version}"`);
  if (q.get('securityopt')) throw invalidParameter('security options are not supported on linux');
  if (mobyBool(q.get('squash'), false)) throw invalidParameter('squash is only supported with experimental mode');
  const forceRemove = mobyBool(q.get('forcerm'), false);
  return {
    tags: q.getAll('t').filter((t) => t !== ''),
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    quiet: mobyBool(q.get('q'), false),
    noCache: mobyBool(q.get('nocache'), false),
    remove: forceRemove || mobyBool(q.get('rm'), true),
    forceRemove,
    pull: mobyBool(q.get('pull'), false),
    buildArgs: new Map(Object.entries(jsonQuery(q.get('buildargs'), 'buildargs', isArgMap, {}))),
    labels: jsonQuery(q.get('labels'), 'labels', isStringMap, {}),
    target: q.get('target') ?? '',
    networkMode: q.get('networkmode') ?? '',
    extraHosts: q.getAll('extrahosts').flatMap((h) => h.split(',')).filter((h) => h !== ''),
    platform: q.get('platform') ?? '',
    resources: resources(q),
    ulimits: jsonQuery(q.get('ulimits'), 'ulimits', isUlimits, []),
    cacheFrom: jsonQuery(q.get('cachefrom'), 'cachefrom', isStringList, []).filter((r) => r !== ''),
    remote: q.get('remote') ?? '',
  };
}
