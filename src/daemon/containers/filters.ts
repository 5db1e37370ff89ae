// `docker ps` filters, evaluated on in-memory records only (no I/O), so that
// listing hundreds of containers stays fast. Different keys must all match;
// values of one key are alternatives.
import { invalidParameter } from '../../errors/index.js';
import { labelMatches, parsePortFilter, portFilterMatches, splitPortKey } from '../../filters/index.js';
import type { Container, StateName } from './container.js';
import { networkName } from './views.js';
import { mountPointsOf } from './mounts.js';
import { timestampMs, isZeroTime } from './status.js';

export type ListFilters = ReadonlyMap<string, readonly string[]>;

export const LIST_FILTERS: readonly string[] = [
  'ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network',
  'publish', 'since', 'status', 'volume',
];

const STATES: ReadonlySet<string> = new Set<StateName>(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

const HEALTH: ReadonlySet<string> = new Set(['none', 'starting', 'healthy', 'unhealthy']);

export interface ListOptions {
  all: boolean;
  limit: number;
  size: boolean;
  filters: ListFilters;
}

/** Docker's filter match: the value is an unanchored regular expression (a literal when it does not compile). */
function matches(pattern: string, source: string): boolean {
  try {
    return new RegExp(pattern).test(source);
  } catch {
    return source.includes(pattern);
  }
}

/** What a list entry shows of a container's networking, which the network and publish filters look at. */
export interface ListNetView {
  Ports: unknown[];
  Networks: Record<string, unknown>;
}

/** A list entry's port: a host port it is published on, and its protocol. */
function publishedPort(p: unknown): { port: number; proto: string } | undefined {
  const { PublicPort, Type } = (p ?? {}) as { PublicPort?: unknown; Type?: unknown };
  return typeof PublicPort === 'number' && typeof Type === 'string' ? { port: PublicPort, proto: Type } : undefined;
}

function networkIdOf(endpoint: unknown): string {
  const id = (endpoint as { NetworkID?: unknown } | null)?.NetworkID;
  return typeof id === 'string' ? id : '';
}

export interface CompiledFilters {
  /** show stopped containers even without `all` */
  forceAll: boolean;
  test(c: Container): boolean;
}

/**
 * Checks names and values once, then returns a predicate. `lookup` resolves
 * before/since references; `netOf` gives a container's networks and
 * published ports (without it, only the network mode is known).
 */
export function compileFilters(filters: ListFilters, lookup: (ref: string) => Container, netOf?: (c: Container) => ListNetView | undefined): CompiledFilters {
  for (const key of filters.keys()) {
    if (!LIST_FILTERS.includes(key)) throw invalidParameter(`Invalid filter '${key}'`);
  }
  const get = (k: string): readonly string[] => filters.get(k) ?? [];
  for (const v of get('status')) if (!STATES.has(v)) throw invalidParameter(`Invalid filter 'status=${v}'`);
  for (const v of get('health')) if (!HEALTH.has(v)) throw invalidParameter(`Unrecognised filter value for health: ${v}`);
  const exited = get('exited').map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalidParameter(`Invalid filter 'exited=${v}': use an exit code`);
    return Number(v);
  });
  for (const v of get('is-task')) {
    if (v !== 'true' && v !== 'false') throw invalidParameter(`Invalid filter 'is-task=${v}': use true or false`);
  }
  const publish = get('publish').map((v) => parsePortFilter('publish', v));
  const expose = get('expose').map((v) => parsePortFilter('expose', v));
  const before = get('before').map((r) => timestampMs(lookup(r).state.Created));
  const since = get('since').map((r) => timestampMs(lookup(r).state.Created));

  const checks: Array<(c: Container) => boolean> = [];
  const any = (key: string, fn: (c: Container, v: string) => boolean): void => {
    const values = get(key);
    if (values.length > 0) checks.push((c) => values.some((v) => fn(c, v)));
  };
  any('id', (c, v) => matches(v, c.id));
  any('name', (c, v) => matches(v, `/${c.name}`) || matches(v, c.name));
  any('status', (c, v) => c.stateName() === v);
  // dockerd: a network's name, or a prefix of its ID, among those the container is on.
  any('network', (c, v) => {
    const networks = netOf?.(c)?.Networks;
    if (networks === undefined) return networkName(c.state.HostConfig) === v || c.state.HostConfig.NetworkMode === v;
    return Object.prototype.hasOwnProperty.call(networks, v) || Object.values(networks).some((ep) => v !== '' && networkIdOf(ep).startsWith(v));
  });
  any('ancestor', (c, v) => {
    const s = c.state;
    const bare = v.replace(/:latest$/, '');
    return s.Config.Image === v || s.Config.Image.replace(/:latest$/, '') === bare || s.ImageName.replace(/:latest$/, '') === bare ||
      s.Image === v || s.Image === `sha256:${v}` || (v.length >= 4 && s.Image.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, '')));
  });
  // dockerd matches a volume's name or a mount's source or destination.
  any('volume', (c, v) => mountPointsOf(c.state).some((p) => (p.Type === 'volume' && p.Name === v) || p.Source === v || p.Destination === v));
  any('health', (c, v) => (c.state.State.Health?.Status ?? 'none') === v);
  any('isolation', (_c, v) => v === 'default' || v === '');
  any('is-task', (_c, v) => v === 'false');
  // publish: a host port the container's ports are published on; expose: a port of its config.
  if (publish.length > 0) {
    checks.push((c) => {
      const ports = (netOf?.(c)?.Ports ?? []).map(publishedPort).filter((p) => p !== undefined);
      return publish.some((f) => ports.some((p) => portFilterMatches(f, p.port, p.proto)));
    });
  }
  if (expose.length > 0) {
    checks.push((c) => {
      const keys = Object.keys(c.state.Config.ExposedPorts ?? {}).map(splitPortKey);
      return expose.some((f) => keys.some((k) => portFilterMatches(f, k.port, k.proto)));
    });
  }
  const labels = get('label');
  if (labels.length > 0) checks.push((c) => labels.every((l) => labelMatches(c.state.Config.Labels, l)));
  if (exited.length > 0) {
    checks.push((c) => !c.isRunning() && !isZeroTime(c.state.State.StartedAt) && exited.includes(c.state.State.ExitCode));
  }
  for (const t of before) checks.push((c) => timestampMs(c.state.Created) < t);
  for (const t of since) checks.push((c) => timestampMs(c.state.Created) > t);
  return {
    forceAll: get('status').length > 0 || before.length > 0 || since.length > 0,
    test: (c) => checks.every((check) => check(c)),
  };
}
