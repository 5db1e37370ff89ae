// The exec routes as thin adapters: body validation, status codes, the
// hijack content type by API version and Tty, detach.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { execRoutes, topRoutes, type ExecBackend } from '../../src/api/routes/exec.js';
import type { Reply, RequestContext, Route } from '../../src/api/types.js';
import type { ExecCreateConfig, ExecStartOptions, ExecTarget } from '../../src/daemon/exec/index.js';

function ctx(path: string, params: Record<string, string>, body: unknown, opts: { apiVersion?: string; query?: string } = {}): RequestContext {
  return {
    method: 'POST',
    path,
    params,
    query: new URLSearchParams(opts.query ?? ''),
    headers: {},
    apiVersion: opts.apiVersion ?? '1.47',
    req: undefined as unknown as IncomingMessage,
    json: async () => body,
    signal: new AbortController().signal,
  };
}

function backend() {
  const calls: { created?: ExecCreateConfig; started?: { id: string; opts: ExecStartOptions; ran: boolean }; resized?: number[] } = {};
  const target = { id: 'c1' } as ExecTarget;
  const b: ExecBackend = {
    getExecTarget: (name) => {
      if (name !== 'box') throw Object.assign(new Error(`No such container: ${name}`), { kind: 'not-found' });
      return target;
    },
    execs: {
      create: async (_t, cfg) => {
        calls.created = cfg;
        return { Id: 'e1' };
      },
      beginStart: (id, opts) => {
        calls.started = { id, opts, ran: false };
        return {
          run: async () => {
            if (calls.started) calls.started.ran = true;
          },
        };
      },
      resize: async (_id, h, w) => {
        calls.resized = [h, w];
      },
      inspect: (id) => ({ ID: id }) as ReturnType<ExecBackend['execs']['inspect']>,
    },
  };
  return { b, calls };
}

function route(routes: Route[], method: string, path: string): Route {
  const r = routes.find((x) => x.method === method && x.path === path);
  assert.ok(r, `${method} ${path} is served`);
  return r;
}

describe('exec routes', () => {
  it('creates an exec (201) from a validated body', async () => {
    const { b, calls } = backend();
    const create = route(execRoutes(b), 'POST', '/containers/:id/exec');
    const reply = await create.handler(ctx('/containers/box/exec', { id: 'box' }, { Cmd: ['sh', '-c', 'id'], Env: ['A=1'], User: 'app', Tty: true, AttachStdout: true, ConsoleSize: [24, 80] }));
    assert.deepEqual(reply, { kind: 'json', status: 201, body: { Id: 'e1' } });
    assert.deepEqual(calls.created, { Cmd: ['sh', '-c', 'id'], Env: ['A=1'], User: 'app', Tty: true, AttachStdout: true, ConsoleSize: [24, 80] });
    await create.handler(ctx('/containers/box/exec', { id: 'box' }, { Cmd: 'ls', ConsoleSize: [24, 80] }, { apiVersion: '1.41' }));
    assert.deepEqual(calls.created, { Cmd: ['ls'] }, 'a string Cmd is one argument; ConsoleSize needs API 1.42');
  });

  it('answers 400 for a missing command or bad fields', async () => {
    const { b } = backend();
    const create = route(execRoutes(b), 'POST', '/containers/:id/exec');
    const isBad = (e: unknown): boolean => (e as { kind?: string }).kind === 'invalid-parameter';
    await assert.rejects(create.handler(ctx('/x', { id: 'box' }, {})), (e: unknown) => isBad(e) && /No exec command specified/.test((e as Error).message));
    await assert.rejects(create.handler(ctx('/x', { id: 'box' }, { Cmd: [] })), isBad);
    await assert.rejects(create.handler(ctx('/x', { id: 'box' }, { Cmd: ['ls'], Env: 'A=1' })), isBad);
    await assert.rejects(create.handler(ctx('/x', { id: 'box' }, { Cmd: ['ls'], Tty: 'yes' })), isBad);
    await assert.rejects(create.handler(ctx('/x', { id: 'nope' }, { Cmd: ['ls'] })), /No such container: nope/);
  });

  it('hijacks a start with the content type of the API version and Tty', async () => {
    const { b, calls } = backend();
    const start = route(execRoutes(b), 'POST', '/exec/:id/start');
    const kinds = async (body: unknown, apiVersion: string): Promise<Reply> => start.handler(ctx('/exec/e1/start', { id: 'e1' }, body, { apiVersion }));
    const muxed = await kinds({ Detach: false, Tty: false }, '1.47');
    assert.equal(muxed.kind, 'hijack');
    assert.equal(muxed.kind === 'hijack' ? muxed.contentType : '', 'application/vnd.docker.multiplexed-stream');
    const raw = await kinds({ Tty: true, ConsoleSize: [10, 20] }, '1.47');
    assert.equal(raw.kind === 'hijack' ? raw.contentType : '', 'application/vnd.docker.raw-stream');
    assert.deepEqual(calls.started?.opts, { Tty: true, ConsoleSize: [10, 20] });
    const old = await kinds({}, '1.41');
    assert.equal(old.kind === 'hijack' ? old.contentType : '', 'application/vnd.docker.raw-stream');
    assert.equal(calls.started?.ran, false, 'the process starts only once the connection is handed over');
  });

  it('starts detached without hijacking', async () => {
    const { b, calls } = backend();
    const start = route(execRoutes(b), 'POST', '/exec/:id/start');
    const reply = await start.handler(ctx('/exec/e1/start', { id: 'e1' }, { Detach: true }));
    assert.deepEqual(reply, { kind: 'empty', status: 200 });
    assert.equal(calls.started?.ran, true);
  });

  it('resizes with h and w, refusing junk', async () => {
    const { b, calls } = backend();
    const resize = route(execRoutes(b), 'POST', '/exec/:id/resize');
    assert.deepEqual(await resize.handler(ctx('/exec/e1/resize', { id: 'e1' }, undefined, { query: 'h=40&w=120' })), { kind: 'empty', status: 200 });
    assert.deepEqual(calls.resized, [40, 120]);
    await assert.rejects(resize.handler(ctx('/exec/e1/resize', { id: 'e1' }, undefined, { query: 'h=x&w=1' })), /invalid resize height/);
  });

  it('inspects and serves top', async () => {
    const { b } = backend();
    const inspect = route(execRoutes(b), 'GET', '/exec/:id/json');
    assert.deepEqual(await inspect.handler(ctx('/exec/e1/json', { id: 'e1' }, undefined)), { kind: 'json', body: { ID: 'e1' } });
    let seen = '';
    const topRoute = route(
      topRoutes({
        getExecTarget: b.getExecTarget,
        top: async (_t, args) => {
          seen = args;
          return { Titles: ['PID'], Processes: [['1']] };
        },
      }),
      'GET',
      '/containers/:id/top',
    );
    const reply = await topRoute.handler(ctx('/containers/box/top', { id: 'box' }, undefined, { query: 'ps_args=aux' }));
    assert.deepEqual(reply, { kind: 'json', body: { Titles: ['PID'], Processes: [['1']] } });
    assert.equal(seen, 'aux');
  });
});
