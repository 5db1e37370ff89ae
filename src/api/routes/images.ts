// Image routes (/images/...). A thin adapter over the small backend declared
// here; ImageService implements it. Image names may hold "/", hence the rest
// captures.
import { Readable } from 'node:stream';
import { invalidParameter, isKind, messageOf } from '../../errors/index.js';
import type {
  DeleteItem,
  DistributionInspect,
  HistoryItem,
  ImageInspect,
  ImageSummary,
  ImportOptions,
  ListOptions,
  LoadOptions,
  ProgressMessage,
  PruneResult,
  PullOptions,
  PushOptions,
  RemoveOptions,
} from '../../daemon/images/index.js';
import { decodeRegistryAuth } from '../../distribution/index.js';
import { boolQuery, parseFilters } from '../query.js';
import type { Reply, RequestContext, Route } from '../types.js';
import { compareVersions } from '../version.js';

export interface ImagesBackend {
  import(input: Readable, opts: ImportOptions): Promise<{ id: string; messages: ProgressMessage[] }>;
  load(input: Readable, opts: LoadOptions): Promise<ProgressMessage[]>;
  save(names: readonly string[]): Promise<Readable>;
  list(opts: ListOptions): Promise<ImageSummary[]>;
  inspect(ref: string): Promise<ImageInspect>;
  history(ref: string): Promise<HistoryItem[]>;
  tag(ref: string, repo: string, tag?: string): Promise<void>;
  remove(ref: string, opts: RemoveOptions): Promise<DeleteItem[]>;
  prune(filters: Map<string, string[]>): Promise<PruneResult>;
  /** resolves once the registry answered the manifest; the stream is the pull's progress */
  pull(ref: string, opts: PullOptions): Promise<Readable>;
  /** resolves once the tags to push are known; the stream is the push's progress */
  push(name: string, opts: PushOptions): Promise<Readable>;
  distributionInspect(ref: string, opts: Pick<PullOptions, 'auth' | 'signal'>): Promise<DistributionInspect>;
}

function nameParam(ctx: RequestContext): string {
  const name = ctx.params.name ?? '';
  if (name === '') throw invalidParameter('an image name or ID is required in the path');
  return name;
}

/**
 * dockerd answers a load or import whose input is bad with 200 and the error
 * as the last message of the JSON stream, which SDKs turn into their load
 * error; only failures that are not about the input keep their status.
 */
async function progressOf(run: () => Promise<readonly ProgressMessage[]>): Promise<Reply> {
  try {
    return jsonLines(await run());
  } catch (err) {
    if (!isKind(err, 'invalid-parameter')) throw err;
    const message = messageOf(err);
    const body = Readable.from([Buffer.from(`${JSON.stringify({ errorDetail: { message }, error: message })}\n`)]);
    return { kind: 'stream', contentType: 'application/json', body };
  }
}

/** JSON lines, as dockerd's progress streams are. */
function jsonLines(messages: readonly ProgressMessage[]): Reply {
  const body = Readable.from(messages.map((m) => Buffer.from(JSON.stringify(m) + '\n')));
  return { kind: 'stream', contentType: 'application/json', body };
}

/** VirtualSize left the API in 1.44. */
function withoutVirtualSize<T extends { VirtualSize?: number }>(apiVersion: string, v: T): T {
  if (compareVersions(apiVersion, '1.44') < 0) return v;
  const { VirtualSize: _dropped, ...rest } = v;
  return rest as T;
}

function headerOf(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function tarReply(body: Readable): Reply {
  return { kind: 'stream', contentType: 'application/x-tar', body };
}

async function create(svc: ImagesBackend, ctx: RequestContext): Promise<Reply> {
  const q = ctx.query;
  const fromImage = q.get('fromImage') ?? '';
  const fromSrc = q.get('fromSrc') ?? '';
  const tag = q.get('tag') ?? '';
  if (fromImage !== '') {
    // dockerd strips one trailing ':' of fromImage; a tag that is a digest makes a digest reference.
    const image = fromImage.endsWith(':') ? fromImage.slice(0, -1) : fromImage;
    const ref = tag === '' ? image : tag.includes(':') ? `${image}@${tag}` : `${image}:${tag}`;
    const opts: PullOptions = { auth: decodeRegistryAuth(headerOf(ctx, 'x-registry-auth')), signal: ctx.signal };
    if (tag === '') opts.allTags = true;
    const platform = q.get('platform');
    if (platform) opts.platform = platform;
    return { kind: 'stream', contentType: 'application/json', body: await svc.pull(ref, opts) };
  }
  if (fromSrc === '') throw invalidParameter('POST /images/create needs fromImage (pull) or fromSrc (import; "-" for the request body)');
  if (fromSrc !== '-') {
    throw invalidParameter(`berth cannot import from ${JSON.stringify(fromSrc)}: it fetches nothing over the network; send the tarball in the request body (docker import FILE)`);
  }
  const opts: ImportOptions = { changes: q.getAll('changes'), source: fromSrc };
  const repo = q.get('repo');
  if (repo) opts.repo = repo;
  if (tag) opts.tag = tag;
  const message = q.get('message');
  if (message) opts.message = message;
  const platform = q.get('platform');
  if (platform) opts.platform = platform;
  return progressOf(async () => (await svc.import(ctx.req, opts)).messages);
}

export function imageRoutes(svc: ImagesBackend): Route[] {
  return [
    { method: 'POST', path: '/images/create', handler: (ctx) => create(svc, ctx) },
    {
      method: 'POST',
      path: '/images/:name*/push',
      handler: async (ctx) => {
        const opts: PushOptions = { auth: decodeRegistryAuth(headerOf(ctx, 'x-registry-auth')), signal: ctx.signal };
        const tag = ctx.query.get('tag');
        if (tag) opts.tag = tag;
        return { kind: 'stream', contentType: 'application/json', body: await svc.push(nameParam(ctx), opts) };
      },
    },
    {
      method: 'POST',
      path: '/images/load',
      handler: (ctx) => progressOf(() => svc.load(ctx.req, { quiet: boolQuery(ctx.query, 'quiet') })),
    },
    {
      method: 'GET',
      path: '/images/get',
      handler: async (ctx) => tarReply(await svc.save(ctx.query.getAll('names').flatMap((n) => n.split(',')).filter((n) => n !== ''))),
    },
    { method: 'GET', path: '/images/:name*/get', handler: async (ctx) => tarReply(await svc.save([nameParam(ctx)])) },
    {
      method: 'GET',
      path: '/images/json',
      handler: async (ctx) => {
        const filters = parseFilters(ctx.query.get('filters'));
        // API < 1.41 also took a bare `filter` for the reference.
        const legacy = ctx.query.get('filter');
        if (legacy) filters.set('reference', [...(filters.get('reference') ?? []), legacy]);
        const list = await svc.list({ all: boolQuery(ctx.query, 'all'), filters });
        return { kind: 'json', body: list.map((s) => withoutVirtualSize(ctx.apiVersion, s)) };
      },
    },
    {
      method: 'GET',
      path: '/images/:name*/json',
      handler: async (ctx) => ({ kind: 'json', body: withoutVirtualSize(ctx.apiVersion, await svc.inspect(nameParam(ctx))) }),
    },
    { method: 'GET', path: '/images/:name*/history', handler: async (ctx) => ({ kind: 'json', body: await svc.history(nameParam(ctx)) }) },
    {
      method: 'POST',
      path: '/images/:name*/tag',
      handler: async (ctx) => {
        const repo = ctx.query.get('repo') ?? '';
        if (repo === '') throw invalidParameter('the repo query parameter is required: the repository to tag the image into');
        const tag = ctx.query.get('tag') ?? '';
        await svc.tag(nameParam(ctx), repo, tag === '' ? undefined : tag);
        return { kind: 'empty', status: 201 };
      },
    },
    {
      method: 'DELETE',
      path: '/images/:name*',
      handler: async (ctx) => ({
        kind: 'json',
        body: await svc.remove(nameParam(ctx), { force: boolQuery(ctx.query, 'force'), noprune: boolQuery(ctx.query, 'noprune') }),
      }),
    },
    {
      method: 'GET',
      path: '/distribution/:name*/json',
      handler: async (ctx) => ({
        kind: 'json',
        body: await svc.distributionInspect(nameParam(ctx), { auth: decodeRegistryAuth(headerOf(ctx, 'x-registry-auth')), signal: ctx.signal }),
      }),
    },
    {
      method: 'POST',
      path: '/images/prune',
      handler: async (ctx) => ({ kind: 'json', body: await svc.prune(parseFilters(ctx.query.get('filters'))) }),
    },
  ];
}
