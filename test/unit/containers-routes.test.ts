// The container routes as a thin adapter: statuses, query parsing, framing
// of logs/attach, and wait answering 200 before the exit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { containerRoutes, type ContainersBackend } from '../../src/api/routes/containers.js';
import type { ContainerService, ListOptions, StopOptions, WaitResult } from '../../src/daemon/containers/index.js';
import { notFound, notModified } from '../../src/errors/index.js';
import { call, startServer, type TestServer } from './api-helpers.js';

// The real service must satisfy the backend the routes declare.
const conforms = (s: ContainerService): ContainersBackend => s;
void conforms;

const calls: string[] = [];
let releaseWait!: (r: WaitResult) => void;

const backend: ContainersBackend = {
  async create(body, name) {
    calls.push(`create ${name ?? ''} ${JSON.stringify(body)}`);
    return { Id: 'a'.repeat(64), Warnings: [] };
  },
  list(opts: ListOptions) {
    calls.push(`list ${opts.all} ${opts.limit} ${JSON.stringify([...opts.filters])}`);
    return [];
  },
  inspect(ref) {
    if (ref === 'missing') throw notFound(`No such container: ${ref}`);
    return { Id: ref };
  },
  async sizes(ref) {
    calls.push(`sizes ${ref}`);
    return { SizeRw: 3, SizeRootFs: 10 };
  },
  async withSizes(entries) {
    return entries;
  },
  async start(ref) {
    if (ref === 'running') throw notModified('already running');
  },
  async stop(ref, opts: StopOptions) {
    calls.push(`stop ${ref} ${JSON.stringify(opts)}`);
  },
  async kill(ref, signal) {
    calls.push(`kill ${ref} ${signal}`);
  },
  async restart() {},
  async pause() {},
  async unpause() {},
  async remove(ref, opts) {
    calls.push(`remove ${ref} ${JSON.stringify(opts)}`);
  },
  async rename(ref, name) {
    calls.push(`rename ${ref} ${name}`);
  },
  async prune() {
    return { ContainersDeleted: null, SpaceReclaimed: 0 };
  },
  wait(ref) {
    if (ref === 'missing') throw notFound(`No such container: ${ref}`);
    return { result: new Promise<WaitResult>((r) => (releaseWait = r)) };
  },
  ttyOf: (ref) => ref === 'tty',
  async attach() {},
  logs(ref) {
    return { tty: ref === 'tty', stream: Readable.from([Buffer.from('x')]) };
  },
  async resize(ref, h, w) {
    calls.push(`resize ${ref} ${h}x${w}`);
  },
};

let srv: TestServer;
before(async () => (srv = await startServer(containerRoutes(backend))));
after(async () => srv.stop());

test('create: 201, name passed through, bad JSON is a 400', async () => {
  const r = await call(srv.socket, 'POST', '/v1.47/containers/create?name=web', { body: '{"Image":"busybox"}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { Id: 'a'.repeat(64), Warnings: [] });
  assert.equal(calls.at(-1), 'create web {"Image":"busybox"}');
  const bad = await call(srv.socket, 'POST', '/containers/create', { body: '{"Image":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(bad.status, 400);
});

test('list parses all, limit and filters', async () => {
  const r = await call(srv.socket, 'GET', `/containers/json?all=1&limit=2&filters=${encodeURIComponent('{"name":{"web":true}}')}`);
  assert.equal(r.status, 200);
  assert.equal(calls.at(-1), 'list true 2 [["name",["web"]]]');
  assert.equal((await call(srv.socket, 'GET', '/containers/json?all=maybe')).status, 400);
});

test('statuses: 404, 304 without body, 204', async () => {
  const missing = await call(srv.socket, 'GET', '/containers/missing/json');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json(), { message: 'No such container: missing' });
  const again = await call(srv.socket, 'POST', '/containers/running/start');
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal((await call(srv.socket, 'POST', '/containers/x/start')).status, 204);
});

test('stop, kill, rm, rename, resize read their query', async () => {
  await call(srv.socket, 'POST', '/containers/x/stop?t=5&signal=SIGINT');
  assert.equal(calls.at(-1), 'stop x {"timeout":5,"signal":"SIGINT"}');
  assert.equal((await call(srv.socket, 'POST', '/containers/x/stop?t=abc')).status, 400);
  await call(srv.socket, 'POST', '/containers/x/kill?signal=HUP');
  assert.equal(calls.at(-1), 'kill x HUP');
  await call(srv.socket, 'DELETE', '/containers/x?force=1&v=1');
  assert.equal(calls.at(-1), 'remove x {"force":true,"volumes":true,"link":false}');
  await call(srv.socket, 'POST', '/containers/x/rename?name=y');
  assert.equal(calls.at(-1), 'rename x y');
  assert.equal((await call(srv.socket, 'POST', '/containers/x/resize?h=24&w=80')).status, 200);
  assert.equal(calls.at(-1), 'resize x 24x80');
  assert.equal((await call(srv.socket, 'POST', '/containers/x/resize?h=a&w=80')).status, 400);
});

test('logs: multiplexed without a TTY from API 1.42, raw otherwise', async () => {
  const plain = await call(srv.socket, 'GET', '/v1.47/containers/x/logs?stdout=1');
  assert.equal(plain.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  const old = await call(srv.socket, 'GET', '/v1.41/containers/x/logs?stdout=1');
  assert.equal(old.headers['content-type'], 'application/vnd.docker.raw-stream');
  const tty = await call(srv.socket, 'GET', '/v1.47/containers/tty/logs?stdout=1');
  assert.equal(tty.headers['content-type'], 'application/vnd.docker.raw-stream');
});

test('wait answers 200 at once and the body at the exit; bad input before that', async () => {
  assert.equal((await call(srv.socket, 'POST', '/containers/missing/wait')).status, 404);
  assert.equal((await call(srv.socket, 'POST', '/containers/x/wait?condition=bogus')).status, 400);
  const answer = await new Promise<{ status: number; body: Promise<string> }>((resolve, reject) => {
    const req = request({ socketPath: srv.socket, method: 'POST', path: '/containers/x/wait?condition=next-exit' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const body = new Promise<string>((r) => res.on('end', () => r(Buffer.concat(chunks).toString())));
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(answer.status, 200);
  releaseWait({ StatusCode: 3, Error: null });
  assert.deepEqual(JSON.parse(await answer.body), { StatusCode: 3, Error: null });
});
