import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { imageRoutes, type ImagesBackend } from '../../src/api/routes/images.js';
import { Router } from '../../src/api/router.js';
import type { Reply, RequestContext } from '../../src/api/types.js';
import type { ImageSummary, ImportOptions } from '../../src/daemon/images/index.js';
import { invalidParameter, unavailable } from '../../src/errors/index.js';

const summary: ImageSummary = {
  Id: 'sha256:' + 'a'.repeat(64), ParentId: '', RepoTags: ['x:1'], RepoDigests: [], Created: 1, Size: 2, VirtualSize: 2, SharedSize: -1, Labels: null, Containers: -1,
};

function backend(calls: unknown[][]): ImagesBackend {
  return {
    import: async (_in, opts) => (calls.push(['import', opts]), { id: 'sha256:1', messages: [{ status: 'sha256:1' }] }),
    load: async (_in, opts) => (calls.push(['load', opts]), [{ stream: 'Loaded image: x:1\n' }]),
    save: async (names) => (calls.push(['save', names]), Readable.from([Buffer.from('tar')])),
    list: async (opts) => (calls.push(['list', Object.fromEntries(opts.filters ?? [])]), [summary]),
    inspect: async (ref) => (calls.push(['inspect', ref]), { ...summary, VirtualSize: 2 } as never),
    history: async (ref) => (calls.push(['history', ref]), []),
    tag: async (ref, repo, tag) => void calls.push(['tag', ref, repo, tag]),
    remove: async (ref, opts) => (calls.push(['remove', ref, opts]), [{ Untagged: ref }]),
    prune: async () => ({ ImagesDeleted: null, SpaceReclaimed: 0 }),
    push: async (name) => {
      calls.push(['push', name]);
      throw unavailable(`no push for ${name}`);
    },
    pull: async (ref) => {
      calls.push(['pull', ref]);
      throw unavailable(`no pull for ${ref}`);
    },
    distributionInspect: async (ref) => (calls.push(['distribution', ref]), { Descriptor: { mediaType: 'm', digest: 'sha256:1', size: 1 }, Platforms: [] }),
  };
}

async function call(router: Router, method: string, url: string): Promise<Reply> {
  const [path, qs = ''] = url.split('?');
  const m = router.match(method, path!);
  assert.ok(m, `${method} ${url} has no route`);
  const ctx: RequestContext = {
    method, path: m.path, params: m.params, query: new URLSearchParams(qs), headers: {}, apiVersion: m.apiVersion,
    req: Readable.from([]) as unknown as IncomingMessage, json: async () => undefined, signal: new AbortController().signal,
  };
  return m.route.handler(ctx);
}

async function text(r: Reply): Promise<string> {
  assert.equal(r.kind, 'stream');
  const chunks: Buffer[] = [];
  for await (const c of (r as { body: Readable }).body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('image routes', () => {
  it('load and import of bad input: 200 with the error as the last JSON message (as dockerd); other failures keep their status', async () => {
    const bad = backend([]);
    bad.load = async () => {
      throw invalidParameter('not a valid tar file');
    };
    bad.import = async () => {
      throw invalidParameter('the import source is not a tar archive');
    };
    const router = new Router(imageRoutes(bad));
    const load = await call(router, 'POST', '/images/load');
    assert.equal(load.kind === 'stream' ? (load.status ?? 200) : 0, 200);
    assert.deepEqual(JSON.parse(await text(load)), { errorDetail: { message: 'not a valid tar file' }, error: 'not a valid tar file' });
    assert.match(await text(await call(router, 'POST', '/images/create?fromSrc=-')), /"error":"the import source is not a tar archive"/);
    bad.load = async () => {
      throw unavailable('containerd is not reachable');
    };
    await assert.rejects(call(router, 'POST', '/images/load'), /containerd is not reachable/);
  });

  it('maps every endpoint onto the backend', async () => {
    const calls: unknown[][] = [];
    const router = new Router(imageRoutes(backend(calls)));
    assert.equal(await text(await call(router, 'POST', '/v1.47/images/create?fromSrc=-&repo=me/app&tag=2&changes=CMD%20x&changes=ENV%20a%3Db&message=m')), '{"status":"sha256:1"}\n');
    assert.deepEqual(calls.pop(), ['import', { changes: ['CMD x', 'ENV a=b'], source: '-', repo: 'me/app', tag: '2', message: 'm' } satisfies ImportOptions]);
    assert.equal(await text(await call(router, 'POST', '/images/load?quiet=1')), '{"stream":"Loaded image: x:1\\n"}\n');
    assert.equal(await text(await call(router, 'GET', '/images/get?names=a&names=b:1')), 'tar');
    assert.deepEqual(calls.pop(), ['save', ['a', 'b:1']]);
    await call(router, 'GET', '/images/localhost:5000/x/y:1/get');
    assert.deepEqual(calls.pop(), ['save', ['localhost:5000/x/y:1']]);
    await call(router, 'GET', '/images/me/app:1/json');
    assert.deepEqual(calls.pop(), ['inspect', 'me/app:1']);
    await call(router, 'GET', '/images/me/app/history');
    assert.deepEqual(calls.pop(), ['history', 'me/app']);
    const tagged = await call(router, 'POST', '/images/busybox/tag?repo=me/x&tag=1');
    assert.deepEqual(tagged, { kind: 'empty', status: 201 });
    assert.deepEqual(calls.pop(), ['tag', 'busybox', 'me/x', '1']);
    await call(router, 'DELETE', '/images/me/app:1?force=1');
    assert.deepEqual(calls.pop(), ['remove', 'me/app:1', { force: true, noprune: false }]);
    await call(router, 'GET', '/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D');
    assert.deepEqual(calls.pop(), ['list', { dangling: ['true'] }]);
  });

  it('drops VirtualSize from API 1.44 on', async () => {
    const router = new Router(imageRoutes(backend([])));
    const recent = (await call(router, 'GET', '/v1.47/images/json')) as { body: ImageSummary[] };
    assert.ok(!('VirtualSize' in recent.body[0]!));
    const old = (await call(router, 'GET', '/v1.41/images/json')) as { body: ImageSummary[] };
    assert.equal(old.body[0]!.VirtualSize, 2);
  });

  it('turns fromImage into the pull error and refuses URL imports', async () => {
    const calls: unknown[][] = [];
    const router = new Router(imageRoutes(backend(calls)));
    await assert.rejects(call(router, 'POST', '/images/create?fromImage=busybox&tag=latest'), /no pull for busybox:latest/);
    await assert.rejects(call(router, 'POST', `/images/create?fromImage=busybox&tag=sha256:${'b'.repeat(64)}`), /no pull for busybox@sha256:b/);
    await assert.rejects(call(router, 'POST', '/images/create?fromSrc=http://example.com/x.tar'), /cannot import from "http:\/\/example.com\/x.tar"/);
    await assert.rejects(call(router, 'POST', '/images/create'), /needs fromImage/);
    await assert.rejects(call(router, 'POST', '/images/x/tag'), /repo query parameter is required/);
  });
});
