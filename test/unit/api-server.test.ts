import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { get as httpGet, request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, parseHost, resolveGroup, systemRoutes, type Route } from '../../src/api/index.js';
import { conflict, notFound, unavailable } from '../../src/errors/index.js';
import { EventBus } from '../../src/events/index.js';
import { silentLogger } from '../../src/log/index.js';
import { call, fakeBackend, startServer, type TestServer } from './api-helpers.js';

const testRoutes: Route[] = [
  {
    method: 'GET',
    path: '/boom',
    handler: async () => {
      throw new Error('internal detail that must stay in the log');
    },
  },
  {
    method: 'GET',
    path: '/containers/:id/json',
    handler: async (ctx) => {
      if (ctx.params.id === 'busy') throw conflict('container busy is in use');
      if (ctx.params.id === 'down') throw unavailable('containerd is not reachable');
      throw notFound(`No such container: ${ctx.params.id}`);
    },
  },
  {
    method: 'POST',
    path: '/echo',
    handler: async (ctx) => ({ kind: 'json', status: 201, body: { got: await ctx.json(), v: ctx.apiVersion } }),
  },
];

describe('API server on a Unix socket', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer([...systemRoutes(fakeBackend, new EventBus()), ...testRoutes], { maxJsonBody: 64 * 1024 });
  });
  after(async () => {
    await t?.stop();
  });

  it('creates the socket with mode 0660', async () => {
    const st = await lstat(t.socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
  });

  it('answers /_ping with the negotiation headers', async () => {
    const r = await call(t.socket, 'GET', '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'OK');
    assert.equal(r.headers['api-version'], '1.50');
    assert.equal(r.headers['docker-experimental'], 'false');
    assert.equal(r.headers['ostype'], 'linux');
    assert.equal(r.headers['builder-version'], '1');
    assert.equal(r.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(r.headers['pragma'], 'no-cache');
    assert.equal(r.headers['server'], 'berth/0.0.0-test');
    const h = await call(t.socket, 'HEAD', '/_ping');
    assert.equal(h.status, 200);
    assert.equal(h.headers['api-version'], '1.50');
    assert.equal(h.body.length, 0);
  });

  it('answers /v1.50/version in Docker shape', async () => {
    const r = await call(t.socket, 'GET', '/v1.50/version');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /application\/json/);
    const v = r.json() as Record<string, unknown>;
    assert.equal(v.Version, '0.1.0-test');
    assert.equal(v.ApiVersion, '1.50');
    assert.equal(v.MinAPIVersion, '1.24');
    assert.equal(v.Os, 'linux');
    assert.equal(v.KernelVersion, '6.1.0-test');
    assert.deepEqual(v.Platform, { Name: 'berth' });
    const comps = v.Components as { Name: string; Details: Record<string, string> }[];
    assert.deepEqual(comps.map((c) => c.Name), ['Engine', 'containerd', 'runc']);
    assert.equal(comps[0]?.Details.ApiVersion, '1.50');
    assert.equal(comps[0]?.Details.MinAPIVersion, '1.24');
  });

  it('passes /info through', async () => {
    const r = await call(t.socket, 'GET', '/info');
    assert.deepEqual(r.json(), await fakeBackend.info());
  });

  it('hides a thrown bug behind a 500 without the stack', async () => {
    const r = await call(t.socket, 'GET', '/boom');
    assert.equal(r.status, 500);
    const body = r.json() as { message: string };
    assert.equal(typeof body.message, 'string');
    assert.doesNotMatch(r.text, /internal detail|at |\.js/);
  });

  it('maps BerthError kinds to statuses with a JSON message', async () => {
    const nf = await call(t.socket, 'GET', '/v1.44/containers/nope/json');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json(), { message: 'No such container: nope' });
    assert.equal((await call(t.socket, 'GET', '/containers/busy/json')).status, 409);
    assert.equal((await call(t.socket, 'GET', '/containers/down/json')).status, 503);
  });

  it('answers 404 page not found for unknown routes and wrong methods', async () => {
    for (const [m, p] of [
      ['GET', '/nope'],
      ['DELETE', '/version'],
      ['POST', '/_ping'],
    ] as const) {
      const r = await call(t.socket, m, p);
      assert.equal(r.status, 404, `${m} ${p}`);
      assert.deepEqual(r.json(), { message: 'page not found' });
    }
  });

  it('refuses unsupported versions with 400', async () => {
    const r = await call(t.socket, 'GET', '/v1.99/version');
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { message: 'client version 1.99 is too new. Maximum supported API version is 1.50' });
  });

  it('parses JSON bodies, with 400 for bad JSON or a non-JSON type', async () => {
    const json = { 'Content-Type': 'application/json' };
    const good = await call(t.socket, 'POST', '/v1.41/echo', { body: '{"a":[1,2]}', headers: json });
    assert.equal(good.status, 201);
    assert.deepEqual(good.json(), { got: { a: [1, 2] }, v: '1.41' });
    const empty = await call(t.socket, 'POST', '/echo');
    assert.deepEqual(empty.json(), { v: '1.50' });
    const bad = await call(t.socket, 'POST', '/echo', { body: '{"a":', headers: json });
    assert.equal(bad.status, 400);
    assert.match((bad.json() as { message: string }).message, /^invalid JSON in request body/);
    const wrongType = await call(t.socket, 'POST', '/echo', { body: '{}', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(wrongType.status, 400);
    assert.match((wrongType.json() as { message: string }).message, /must be 'application\/json'/);
  });

  it('answers 413 for a body over the limit, declared or chunked', async () => {
    const huge = Buffer.alloc(1024 * 1024, 'a');
    const declared = await call(t.socket, 'POST', '/echo', { body: huge, headers: { 'Content-Type': 'application/json' } });
    assert.equal(declared.status, 413);
    assert.match((declared.json() as { message: string }).message, /^request body too large/);
    const chunked = await call(t.socket, 'POST', '/echo', {
      body: huge,
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    });
    assert.equal(chunked.status, 413);
    // The server is still fine afterwards.
    assert.equal((await call(t.socket, 'GET', '/_ping')).status, 200);
  });
});

describe('API socket lifecycle', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-api-sock-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const make = (socket: string, group?: string) =>
    createApiServer({ routes: systemRoutes(fakeBackend, new EventBus()), logger: silentLogger(), hosts: [`unix://${socket}`], group, closeGraceMs: 50 });

  it('creates the parent folder and removes the socket on close', async () => {
    const socket = join(dir, 'nested', 'run', 'api.sock');
    const s = make(socket);
    await s.listen();
    try {
      assert.equal((await call(socket, 'GET', '/_ping')).status, 200);
    } finally {
      await s.close();
    }
    await assert.rejects(lstat(socket), { code: 'ENOENT' });
  });

  it('replaces a stale socket file', async () => {
    const socket = join(dir, 'stale.sock');
    // A process that dies without cleaning up leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((r) => child.once('exit', r));
    assert.ok((await lstat(socket)).isSocket());
    const s = make(socket);
    await s.listen();
    try {
      assert.equal((await call(socket, 'GET', '/_ping')).status, 200);
    } finally {
      await s.close();
    }
  });

  it('refuses to start when a live daemon serves the socket', async () => {
    const socket = join(dir, 'live.sock');
    const live: Server = createServer((c) => c.end());
    await new Promise<void>((r) => live.listen(socket, r));
    try {
      await assert.rejects(make(socket).listen(), /another daemon is already listening on .*live\.sock/);
      assert.ok((await lstat(socket)).isSocket(), 'the live socket is left alone');
    } finally {
      await new Promise((r) => live.close(r));
    }
  });

  it('closes promptly while streams and hijacked connections are open', async () => {
    const socket = join(dir, 'busy.sock');
    const s = make(socket);
    await s.listen();
    const events = request({ socketPath: socket, path: '/events' });
    events.on('error', () => undefined);
    events.end();
    const raw = connect(socket);
    raw.on('error', () => undefined);
    raw.write('GET /events HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await s.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    events.destroy();
    raw.destroy();
  });

  it('refuses a path that is not a socket', async () => {
    const path = join(dir, 'plain-file');
    await writeFile(path, 'x');
    await assert.rejects(make(path).listen(), /exists and is not a socket/);
  });

  it('chowns the socket to --group and refuses an unknown group', async () => {
    const socket = join(dir, 'group.sock');
    const s = make(socket, '4242');
    await s.listen();
    try {
      const st = await stat(socket);
      assert.equal(st.gid, 4242);
      assert.equal(st.mode & 0o777, 0o660);
    } finally {
      await s.close();
    }
    await assert.rejects(make(join(dir, 'nogroup.sock'), 'no-such-group-berth').listen(), /group no-such-group-berth not found/);
  });

  it('listens on TCP only when asked, with a warning', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const port = 20000 + Math.floor(Math.random() * 40000);
    const s = createApiServer({ routes: systemRoutes(fakeBackend, new EventBus()), logger: pino({ level: 'warn' }, sink), hosts: [`tcp://127.0.0.1:${port}`] });
    try {
      await s.listen();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return; // a busy random port says nothing about berth
      throw err;
    }
    try {
      const r = await new Promise<number>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/_ping', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(r, 200);
      assert.ok(lines.some((l) => /without TLS/.test(l)), 'a warning about TCP is logged');
    } finally {
      await s.close();
    }
  });

  it('resolves group names from a group file', async () => {
    const file = join(dir, 'group');
    await writeFile(file, 'root:x:0:\nberthers:x:1234:alice,bob\n');
    assert.equal(await resolveGroup('berthers', file), 1234);
    assert.equal(await resolveGroup('77', file), 77);
    await assert.rejects(resolveGroup('nobody-here', file), /not found/);
  });

  it('parses hosts', () => {
    assert.deepEqual(parseHost('unix:///run/berth/berth.sock'), { kind: 'unix', path: '/run/berth/berth.sock' });
    assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
    assert.deepEqual(parseHost('tcp://[::1]:2375'), { kind: 'tcp', host: '::1', port: 2375 });
    assert.throws(() => parseHost('unix://relative.sock'), /must be absolute/);
    assert.throws(() => parseHost('tcp://127.0.0.1'), /expected tcp/);
    assert.deepEqual(parseHost('fd://'), { kind: 'fd', fd: undefined });
    assert.throws(() => parseHost('ssh://host'), /use unix/);
  });
});
