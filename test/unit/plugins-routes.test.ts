import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pluginRoutes, type PluginBackend } from '../../src/api/routes/plugins.js';
import { conflict, notFound } from '../../src/errors/index.js';
import type { PluginListFilters, PluginObject } from '../../src/plugins/index.js';
import { call, startServer, type TestServer } from './api-helpers.js';

interface Call {
  op: string;
  ref?: string;
  arg?: unknown;
}

const calls: Call[] = [];
const sample = { Id: 'a'.repeat(64), Name: 'me/p:latest', Enabled: false } as unknown as PluginObject;

const backend: PluginBackend = {
  list(filters: PluginListFilters) {
    calls.push({ op: 'list', arg: filters });
    return [sample];
  },
  inspect(ref) {
    calls.push({ op: 'inspect', ref });
    if (ref === 'missing') throw notFound('plugin "missing" not found');
    return sample;
  },
  async create(name, context: Readable) {
    const chunks: Buffer[] = [];
    for await (const c of context) chunks.push(c as Buffer);
    calls.push({ op: 'create', ref: name, arg: Buffer.concat(chunks).toString() });
  },
  async enable(ref, opts) {
    calls.push({ op: 'enable', ref, arg: opts });
  },
  async disable(ref, opts) {
    calls.push({ op: 'disable', ref, arg: opts });
  },
  async remove(ref, opts) {
    calls.push({ op: 'remove', ref, arg: opts });
    if (ref === 'me/busy:latest') throw conflict('plugin me/busy:latest is enabled');
  },
  async set(ref, args) {
    calls.push({ op: 'set', ref, arg: args });
  },
};

let server: TestServer;
before(async () => {
  server = await startServer(pluginRoutes(backend));
});
after(async () => {
  await server.stop();
});

function last(): Call | undefined {
  return calls[calls.length - 1];
}

describe('plugin routes', () => {
  it('lists with the enabled and capability filters, refusing others', async () => {
    const filters = encodeURIComponent(JSON.stringify({ enabled: { true: true }, capability: ['volumedriver'] }));
    const r = await call(server.socket, 'GET', `/v1.41/plugins?filters=${filters}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), [sample]);
    assert.deepEqual(last(), { op: 'list', arg: { enabled: ['true'], capability: ['volumedriver'] } });
    const bad = await call(server.socket, 'GET', `/plugins?filters=${encodeURIComponent('{"foo":["x"]}')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /invalid filter 'foo'/);
  });

  it('takes plugin names with slashes, colons and percent-encoding', async () => {
    assert.equal((await call(server.socket, 'GET', '/v1.41/plugins/me/p:latest/json')).status, 200);
    assert.deepEqual(last(), { op: 'inspect', ref: 'me/p:latest' });
    await call(server.socket, 'GET', '/plugins/localhost%3A5000%2Fme%2Fp/json');
    assert.deepEqual(last(), { op: 'inspect', ref: 'localhost:5000/me/p' });
    const missing = await call(server.socket, 'GET', '/plugins/missing/json');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { message: 'plugin "missing" not found' });
  });

  it('creates from the request body, answering 204', async () => {
    const r = await call(server.socket, 'POST', '/v1.41/plugins/create?name=me%2Fp', { body: 'TARBYTES', headers: { 'Content-Type': 'application/x-tar' } });
    assert.equal(r.status, 204);
    assert.deepEqual(last(), { op: 'create', ref: 'me/p', arg: 'TARBYTES' });
    const noName = await call(server.socket, 'POST', '/plugins/create', { body: 'x' });
    assert.equal(noName.status, 400);
    assert.match(noName.text, /missing query parameter name/);
  });

  it('enables with a timeout, disables and removes with force', async () => {
    assert.equal((await call(server.socket, 'POST', '/v1.41/plugins/me/p:latest/enable?timeout=7')).status, 200);
    assert.deepEqual(last(), { op: 'enable', ref: 'me/p:latest', arg: { timeout: 7 } });
    await call(server.socket, 'POST', '/plugins/me/p/enable');
    assert.deepEqual(last(), { op: 'enable', ref: 'me/p', arg: { timeout: 0 } });
    assert.equal((await call(server.socket, 'POST', '/plugins/me/p/enable?timeout=-1')).status, 400);
    assert.equal((await call(server.socket, 'POST', '/plugins/me/p/disable?force=1')).status, 200);
    assert.deepEqual(last(), { op: 'disable', ref: 'me/p', arg: { force: true } });
    assert.equal((await call(server.socket, 'DELETE', '/v1.41/plugins/me/p:latest?force=true')).status, 200);
    assert.deepEqual(last(), { op: 'remove', ref: 'me/p:latest', arg: { force: true } });
    const busy = await call(server.socket, 'DELETE', '/plugins/me/busy:latest');
    assert.equal(busy.status, 409);
    assert.deepEqual(busy.json(), { message: 'plugin me/busy:latest is enabled' });
  });

  it('sets from a JSON array of strings', async () => {
    const r = await call(server.socket, 'POST', '/plugins/me/p/set', { body: '["DEBUG=1"]', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 204);
    assert.deepEqual(last(), { op: 'set', ref: 'me/p', arg: ['DEBUG=1'] });
    const bad = await call(server.socket, 'POST', '/plugins/me/p/set', { body: '{"DEBUG":"1"}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /JSON array of \\"NAME=VALUE\\" strings/);
  });

  it('answers pull, privileges, upgrade and push with a clear no-registry error', async () => {
    for (const [method, path] of [
      ['POST', '/plugins/pull?remote=vieux/sshfs'],
      ['GET', '/plugins/privileges?remote=vieux/sshfs'],
      ['POST', '/plugins/me/p/upgrade?remote=me/p:2'],
      ['POST', '/plugins/me/p/push'],
    ] as const) {
      const r = await call(server.socket, method, path);
      assert.equal(r.status, 503, path);
      assert.match(r.text, /no registry is reachable/);
      assert.match(r.text, /docker plugin create NAME DIR/);
    }
  });
});
