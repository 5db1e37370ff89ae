// Container routes (/containers/...): thin adapters over the container
// service, which validates bodies and owns every lifecycle rule.
import { Readable } from 'node:stream';
import type {
  ContainerAttachOptions,
  CreateResult,
  ListEntry,
  ListOptions,
  LogsOptions,
  PruneResult,
  RemoveOptions,
  StopOptions,
  WaitCondition,
  WaitResult,
} from '../../daemon/containers/index.js';
import { parseWaitCondition } from '../../daemon/containers/index.js';
import { invalidParameter } from '../../errors/index.js';
import { boolQuery, intQuery, parseFilters } from '../query.js';
import { timestampQuery } from '../timestamp.js';
import type { HijackedConnection, Reply, RequestContext, Route } from '../types.js';
import { compareVersions } from '../version.js';

export interface ContainersBackend {
  create(body: unknown, name?: string): Promise<CreateResult>;
  list(opts: ListOptions): ListEntry[];
  inspect(ref: string): Record<string, unknown>;
  sizes(ref: string): Promise<{ SizeRw: number; SizeRootFs: number }>;
  withSizes(entries: ListEntry[]): Promise<ListEntry[]>;
  start(ref: string): Promise<void>;
  stop(ref: string, opts: StopOptions): Promise<void>;
  kill(ref: string, signal: string): Promise<void>;
  restart(ref: string, opts: StopOptions): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  remove(ref: string, opts: RemoveOptions): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  prune(filters: ListOptions['filters']): Promise<PruneResult>;
  wait(ref: string, condition: WaitCondition): { result: Promise<WaitResult> };
  ttyOf(ref: string): boolean;
  attach(ref: string, conn: HijackedConnection, opts: ContainerAttachOptions): Promise<void>;
  logs(ref: string, opts: LogsOptions): { tty: boolean; stream: Readable };
  resize(ref: string, height: number, width: number): Promise<void>;
}

const RAW_STREAM = 'application/vnd.docker.raw-stream';
const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

const empty = (status = 204): Reply => ({ kind: 'empty', status });
const id = (ctx: RequestContext): string => ctx.params.id ?? '';

/** Output framing: stdcopy without a TTY, announced as such from API 1.42 on. */
function streamType(tty: boolean, apiVersion: string): string {
  return !tty && compareVersions(apiVersion, '1.42') >= 0 ? MULTIPLEXED_STREAM : RAW_STREAM;
}

function stopOptions(ctx: RequestContext): StopOptions {
  const opts: StopOptions = {};
  const t = intQuery(ctx.query, 't', undefined, { min: -1 });
  if (t !== undefined) opts.timeout = t;
  const signal = ctx.query.get('signal');
  if (signal !== null && signal !== '') opts.signal = signal;
  return opts;
}

function dimension(ctx: RequestContext, name: 'h' | 'w'): number {
  const raw = (ctx.query.get(name) ?? '').trim();
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffff) {
    throw invalidParameter(`invalid resize ${name === 'h' ? 'height' : 'width'} ${JSON.stringify(raw)}: use an integer from 0 to 65535`);
  }
  return Number(raw);
}

/** --tail: a count or "all"; anything else means all, as dockerd reads it. */
function tailOf(raw: string | null): number | 'all' {
  if (raw === null || !/^\d+$/.test(raw.trim())) return 'all';
  return Number(raw.trim());
}

function secondsQuery(ctx: RequestContext, name: string): number {
  const ns = timestampQuery(ctx.query, name);
  return ns === undefined ? 0 : ns / 1e9;
}

function waitBody(result: Promise<WaitResult>): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(`${JSON.stringify(await result)}\n`);
    })(),
  );
}

/** attach's query; `streamsFromQuery` false attaches stdin, stdout and stderr whatever it says. */
function attachOptions(ctx: RequestContext, streamsFromQuery: boolean): ContainerAttachOptions {
  const q = ctx.query;
  const pick = (name: string): boolean => !streamsFromQuery || boolQuery(q, name);
  const opts: ContainerAttachOptions = {
    stream: boolQuery(q, 'stream'),
    stdin: pick('stdin'),
    stdout: pick('stdout'),
    stderr: pick('stderr'),
    logs: boolQuery(q, 'logs'),
  };
  const keys = q.get('detachKeys');
  if (keys !== null && keys !== '') opts.detachKeys = keys;
  return opts;
}

export function containerRoutes(backend: ContainersBackend): Route[] {
  const route = (method: Route['method'], path: string, handler: Route['handler']): Route => ({ method, path, handler });
  return [
    route('POST', '/containers/create', async (ctx) => {
      const name = ctx.query.get('name') ?? undefined;
      const created = await backend.create(await ctx.json(), name);
      return { kind: 'json', status: 201, body: created };
    }),
    route('GET', '/containers/json', async (ctx) => {
      const opts: ListOptions = {
        all: boolQuery(ctx.query, 'all'),
        limit: intQuery(ctx.query, 'limit', -1),
        size: boolQuery(ctx.query, 'size'),
        filters: parseFilters(ctx.query.get('filters')),
      };
      const list = backend.list(opts);
      return { kind: 'json', body: opts.size ? await backend.withSizes(list) : list };
    }),
    route('POST', '/containers/prune', async (ctx) => {
      return { kind: 'json', body: await backend.prune(parseFilters(ctx.query.get('filters'))) };
    }),
    route('GET', '/containers/:id/json', async (ctx) => {
      const view = backend.inspect(id(ctx));
      // size=1 adds them at the top level, as dockerd does (cri-dockerd reads SizeRw there).
      return { kind: 'json', body: boolQuery(ctx.query, 'size') ? { ...view, ...(await backend.sizes(id(ctx))) } : view };
    }),
    route('POST', '/containers/:id/start', async (ctx) => {
      await backend.start(id(ctx));
      return empty();
    }),
    route('POST', '/containers/:id/stop', async (ctx) => {
      await backend.stop(id(ctx), stopOptions(ctx));
      return empty();
    }),
    route('POST', '/containers/:id/restart', async (ctx) => {
      await backend.restart(id(ctx), stopOptions(ctx));
      return empty();
    }),
    route('POST', '/containers/:id/kill', async (ctx) => {
      await backend.kill(id(ctx), ctx.query.get('signal') ?? '');
      return empty();
    }),
    route('POST', '/containers/:id/pause', async (ctx) => {
      await backend.pause(id(ctx));
      return empty();
    }),
    route('POST', '/containers/:id/unpause', async (ctx) => {
      await backend.unpause(id(ctx));
      return empty();
    }),
    route('POST', '/containers/:id/rename', async (ctx) => {
      await backend.rename(id(ctx), ctx.query.get('name') ?? '');
      return empty();
    }),
    route('POST', '/containers/:id/resize', async (ctx) => {
      await backend.resize(id(ctx), dimension(ctx, 'h'), dimension(ctx, 'w'));
      return empty(200);
    }),
    route('DELETE', '/containers/:id', async (ctx) => {
      await backend.remove(id(ctx), {
        force: boolQuery(ctx.query, 'force'),
        volumes: boolQuery(ctx.query, 'v'),
        link: boolQuery(ctx.query, 'link'),
      });
      return empty();
    }),
    route('POST', '/containers/:id/wait', async (ctx) => {
      const condition = parseWaitCondition(ctx.query.get('condition'));
      // Lookup errors become statuses; then dockerd answers 200 at once and
      // sends the body at the exit.
      const { result } = backend.wait(id(ctx), condition);
      return { kind: 'stream', status: 200, contentType: 'application/json', body: waitBody(result) };
    }),
    route('POST', '/containers/:id/attach', async (ctx) => {
      const ref = id(ctx);
      const opts = attachOptions(ctx, true);
      const tty = backend.ttyOf(ref);
      return {
        kind: 'hijack',
        contentType: streamType(tty, ctx.apiVersion),
        async handle(conn) {
          try {
            await backend.attach(ref, conn, opts);
          } finally {
            conn.close();
          }
        },
      };
    }),
    // The same attach over a WebSocket (RFC 6455): raw output, never stdcopy, as dockerd sends it.
    route('GET', '/containers/:id/attach/ws', async (ctx) => {
      const ref = id(ctx);
      backend.ttyOf(ref);
      // Before API 1.42 dockerd attached all three streams whatever the query said.
      const opts: ContainerAttachOptions = { ...attachOptions(ctx, compareVersions(ctx.apiVersion, '1.42') >= 0), multiplexed: false };
      return {
        kind: 'websocket',
        binary: compareVersions(ctx.apiVersion, '1.28') >= 0,
        async handle(conn) {
          try {
            await backend.attach(ref, conn, opts);
          } finally {
            conn.close();
          }
        },
      };
    }),
    route('GET', '/containers/:id/logs', async (ctx) => {
      const q = ctx.query;
      const opts: LogsOptions = {
        stdout: boolQuery(q, 'stdout'),
        stderr: boolQuery(q, 'stderr'),
        follow: boolQuery(q, 'follow'),
        tail: tailOf(q.get('tail')),
        since: secondsQuery(ctx, 'since'),
        until: secondsQuery(ctx, 'until'),
        timestamps: boolQuery(q, 'timestamps'),
        signal: ctx.signal,
      };
      const { tty, stream } = backend.logs(id(ctx), opts);
      return { kind: 'stream', status: 200, contentType: streamType(tty, ctx.apiVersion), body: stream };
    }),
  ];
}
