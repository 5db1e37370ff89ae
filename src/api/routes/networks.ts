// Network routes (/networks...): thin adapters over the network service.
import { invalidParameter } from '../../errors/index.js';
import { labelsSelect } from '../../filters/index.js';
import type { CreateNetworkBody, EndpointConfigBody, NetworkRecord } from '../../network/index.js';
import { checkFilterNames, parseFilters, type Filters } from '../query.js';
import type { Reply, RequestContext, Route } from '../types.js';

export interface NetworkBackend {
  all(): NetworkRecord[];
  find(ref: string): NetworkRecord;
  inUse(n: NetworkRecord): boolean;
  inspectNetwork(n: NetworkRecord): Record<string, unknown>;
  create(body: CreateNetworkBody): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  connect(ref: string, container: string, cfg: EndpointConfigBody): Promise<void>;
  disconnect(ref: string, container: string, force: boolean): Promise<void>;
  prune(labelMatch: (labels: Record<string, string>) => boolean): Promise<string[]>;
}

const BUILTIN_NAMES = new Set(['bridge', 'host', 'none']);

function matches(backend: NetworkBackend, n: NetworkRecord, f: Filters): boolean {
  const any = (key: string, test: (v: string) => boolean): boolean => {
    const vs = f.get(key);
    return vs === undefined || vs.some(test);
  };
  if (!any('name', (v) => n.Name.includes(v))) return false;
  if (!any('id', (v) => n.Id.startsWith(v))) return false;
  if (!any('driver', (v) => n.Driver === v)) return false;
  if (!any('scope', (v) => v === 'local')) return false;
  if (!any('type', (v) => (v === 'builtin' ? BUILTIN_NAMES.has(n.Name) : v === 'custom' ? !BUILTIN_NAMES.has(n.Name) : false))) return false;
  if (!any('dangling', (v) => (v === 'true' || v === '1') === (!BUILTIN_NAMES.has(n.Name) && !backend.inUse(n)))) return false;
  const labels = f.get('label');
  if (labels !== undefined && !labelsSelect(n.Labels, labels)) return false;
  return true;
}

function bodyObject(raw: unknown, what: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidParameter(`the ${what} body must be a JSON object`);
  return raw as Record<string, unknown>;
}

function typed<T>(obj: Record<string, unknown>, key: string, kind: 'string' | 'boolean' | 'object'): T | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (kind === 'object' ? typeof v !== 'object' || Array.isArray(v) : typeof v !== kind) throw invalidParameter(`field ${key} must be a ${kind}`);
  return v as T;
}

async function createNetwork(backend: NetworkBackend, ctx: RequestContext): Promise<Reply> {
  const b = bodyObject(await ctx.json(), 'network create');
  const name = typed<string>(b, 'Name', 'string') ?? '';
  if (name === '') throw invalidParameter('network name is required (field Name)');
  const body: CreateNetworkBody = { Name: name, Driver: typed<string>(b, 'Driver', 'string') ?? '' };
  const internal = typed<boolean>(b, 'Internal', 'boolean');
  if (internal !== undefined) body.Internal = internal;
  const attachable = typed<boolean>(b, 'Attachable', 'boolean');
  if (attachable !== undefined) body.Attachable = attachable;
  const v6 = typed<boolean>(b, 'EnableIPv6', 'boolean');
  if (v6 !== undefined) body.EnableIPv6 = v6;
  const labels = typed<Record<string, string>>(b, 'Labels', 'object');
  if (labels !== undefined) body.Labels = labels;
  const options = typed<Record<string, string>>(b, 'Options', 'object');
  if (options !== undefined) body.Options = options;
  const ipam = typed<NonNullable<CreateNetworkBody['IPAM']>>(b, 'IPAM', 'object');
  if (ipam !== undefined) {
    if (ipam.Driver !== undefined && ipam.Driver !== '' && ipam.Driver !== 'default') throw invalidParameter(`IPAM driver ${ipam.Driver} is not supported: berth has the default one only`);
    body.IPAM = ipam;
  }
  return { kind: 'json', status: 201, body: await backend.create(body) };
}

function containerField(b: Record<string, unknown>): string {
  const c = typed<string>(b, 'Container', 'string') ?? '';
  if (c === '') throw invalidParameter('field Container is required: the container to connect or disconnect');
  return c;
}

export function networkRoutes(backend: NetworkBackend): Route[] {
  const id = (ctx: RequestContext): string => ctx.params.id ?? '';
  return [
    {
      method: 'GET',
      path: '/networks',
      handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters'));
        checkFilterNames(f, ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
        const list = backend.all().filter((n) => matches(backend, n, f)).map((n) => backend.inspectNetwork(n));
        return { kind: 'json', body: list };
      },
    },
    { method: 'POST', path: '/networks/create', handler: (ctx) => createNetwork(backend, ctx) },
    {
      method: 'POST',
      path: '/networks/prune',
      handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters'));
        checkFilterNames(f, ['label', 'label!']);
        const want = f.get('label') ?? [];
        const not = f.get('label!') ?? [];
        const deleted = await backend.prune((labels) => labelsSelect(labels, want, not));
        return { kind: 'json', body: { NetworksDeleted: deleted.length > 0 ? deleted : null } };
      },
    },
    { method: 'GET', path: '/networks/:id', handler: async (ctx) => ({ kind: 'json', body: backend.inspectNetwork(backend.find(id(ctx))) }) },
    {
      method: 'DELETE',
      path: '/networks/:id',
      handler: async (ctx) => {
        await backend.remove(id(ctx));
        return { kind: 'empty', status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/networks/:id/connect',
      handler: async (ctx) => {
        const b = bodyObject(await ctx.json(), 'network connect');
        const cfg = typed<EndpointConfigBody>(b, 'EndpointConfig', 'object') ?? {};
        await backend.connect(id(ctx), containerField(b), cfg);
        return { kind: 'empty', status: 200 };
      },
    },
    {
      method: 'POST',
      path: '/networks/:id/disconnect',
      handler: async (ctx) => {
        const b = bodyObject(await ctx.json(), 'network disconnect');
        await backend.disconnect(id(ctx), containerField(b), typed<boolean>(b, 'Force', 'boolean') ?? false);
        return { kind: 'empty', status: 200 };
      },
    },
  ];
}
