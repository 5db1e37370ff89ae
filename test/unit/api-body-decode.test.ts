import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAs, decodeBody } from '../../src/api/body-decode.js';
import {
  AUTH_CONFIG,
  CONTAINER_CONFIG,
  CONTAINER_CREATE,
  CONTAINER_UPDATE,
  EXEC_CREATE,
  EXEC_START,
  NETWORK_CONNECT,
  NETWORK_CREATE,
  NETWORK_DISCONNECT,
  PLUGIN_PRIVILEGES,
  PLUGIN_SET,
  VOLUME_CREATE,
  bodyShapeOf,
} from '../../src/api/body-types.js';
import { unservedError, NOT_IN_SWARM, NOT_SWARM_MANAGER } from '../../src/api/dockerd-paths.js';
import { errorReply } from '../../src/api/index.js';
import type { Route } from '../../src/api/index.js';
import { call, startServer, type TestServer } from './api-helpers.js';

describe('request body decoding (Go encoding/json rules)', () => {
  it('container create: case-insensitive names at every depth, unknown fields dropped, null absent, map keys kept', () => {
    const body = {
      image: 'busybox',
      cmd: ['sh'],
      ENV: ['A=1', null],
      labels: { 'com.Example.KEY': 'v', empty: null },
      exposedPorts: { '80/tcp': null },
      Unknown: 1,
      WorkingDir: null,
      hostConfig: {
        restartPolicy: { name: 'always', maximumretrycount: 3 },
        logconfig: { type: 'json-file', config: { 'max-size': '1k' } },
        portBindings: { '80/tcp': [{ hostip: '127.0.0.1', hostPort: '8080' }] },
        mounts: [{ type: 'bind', SOURCE: '/a', target: '/b', bindoptions: { propagation: 'rprivate' } }],
        memory: 5,
        bogus: true,
      },
      networkingconfig: { endpointsConfig: { MyNet: { aliases: ['db'], ipamconfig: { ipv4address: '10.0.0.2' } } } },
    };
    assert.deepEqual(decodeAs(body, CONTAINER_CREATE), {
      Image: 'busybox',
      Cmd: ['sh'],
      Env: ['A=1', ''],
      Labels: { 'com.Example.KEY': 'v', empty: '' },
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        RestartPolicy: { Name: 'always', MaximumRetryCount: 3 },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1k' } },
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
        Mounts: [{ Type: 'bind', Source: '/a', Target: '/b', BindOptions: { Propagation: 'rprivate' } }],
        Memory: 5,
      },
      NetworkingConfig: { EndpointsConfig: { MyNet: { Aliases: ['db'], IPAMConfig: { IPv4Address: '10.0.0.2' } } } },
    });
  });

  it('prefers the exact name, and a later spelling overwrites an earlier one (null clears it)', () => {
    assert.deepEqual(decodeAs({ detachKeys: 'ctrl-a', DetachKeys: 'ctrl-b' }, EXEC_CREATE), { DetachKeys: 'ctrl-b' });
    assert.deepEqual(decodeAs({ DetachKeys: 'ctrl-b', detachkeys: 'ctrl-c' }, EXEC_CREATE), { DetachKeys: 'ctrl-c' });
    assert.deepEqual(decodeAs({ Tty: true, tty: null }, EXEC_START), {});
  });

  it('keeps values of the wrong JSON type for the route to refuse, and a "__proto__" key as data', () => {
    assert.deepEqual(decodeAs({ hostconfig: 'nope', env: 'A=1' }, CONTAINER_CREATE), { HostConfig: 'nope', Env: 'A=1' });
    const labels = (decodeAs(JSON.parse('{"Labels":{"__proto__":"x"}}'), CONTAINER_CONFIG) as { Labels: Record<string, string> }).Labels;
    assert.deepEqual(Object.keys(labels), ['__proto__']);
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  });

  it('null or absent body is absent; a body type berth does not know passes through', () => {
    assert.equal(decodeBody(null, EXEC_START), undefined);
    assert.equal(decodeBody(undefined, EXEC_START), undefined);
    assert.deepEqual(decodeBody({ x: null }, undefined), { x: null });
  });

  it('every body type', () => {
    const cases: [string, unknown, unknown, unknown][] = [
      ['exec create', EXEC_CREATE, { cmd: ['ls'], attachstdout: true, user: 'u', env: null, detach: false, x: 1 }, { Cmd: ['ls'], AttachStdout: true, User: 'u', Detach: false }],
      ['exec start', EXEC_START, { detach: true, TTY: false, consolesize: [1, 2], hijack: true }, { Detach: true, Tty: false, ConsoleSize: [1, 2] }],
      ['update', CONTAINER_UPDATE, { memory: 1, restartpolicy: { name: 'no' }, cpuShares: null, ulimits: [{ name: 'nofile', soft: 1, hard: 2 }] }, { Memory: 1, RestartPolicy: { Name: 'no' }, Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }] }],
      ['commit', CONTAINER_CONFIG, { cmd: ['x'], hostconfig: {} }, { Cmd: ['x'] }],
      ['network create', NETWORK_CREATE, { name: 'n', ipam: { config: [{ subnet: '10.1.0.0/24' }] }, labels: { A: 'b' } }, { Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24' }] }, Labels: { A: 'b' } }],
      ['network connect', NETWORK_CONNECT, { container: 'c', endpointconfig: { aliases: ['a'] } }, { Container: 'c', EndpointConfig: { Aliases: ['a'] } }],
      ['network disconnect', NETWORK_DISCONNECT, { container: 'c', force: true }, { Container: 'c', Force: true }],
      ['volume create', VOLUME_CREATE, { name: 'v', driveropts: { o: 'bind' }, Extra: 1 }, { Name: 'v', DriverOpts: { o: 'bind' } }],
      ['auth', AUTH_CONFIG, { Username: 'u', Password: 'p', ServerAddress: 'r' }, { username: 'u', password: 'p', serveraddress: 'r' }],
      ['plugin privileges', PLUGIN_PRIVILEGES, [{ name: 'network', value: ['host'] }], [{ Name: 'network', Value: ['host'] }]],
      ['plugin set', PLUGIN_SET, ['A=1'], ['A=1']],
    ];
    for (const [what, shape, input, want] of cases) assert.deepEqual(decodeAs(input, shape as never), want, what);
  });

  it('finds the body type by method and route pattern, whatever the parameters are called', () => {
    assert.equal(bodyShapeOf('POST', '/containers/:id/exec'), EXEC_CREATE);
    assert.equal(bodyShapeOf('POST', '/containers/:ref/exec'), EXEC_CREATE);
    assert.equal(bodyShapeOf('POST', '/plugins/:name*/set'), PLUGIN_SET);
    assert.equal(bodyShapeOf('POST', '/containers/create'), CONTAINER_CREATE);
    assert.equal(bodyShapeOf('GET', '/containers/create'), undefined);
  });
});

describe('request bodies through the server', () => {
  let t: TestServer;
  const echo = (method: Route['method'], path: string): Route => ({ method, path, handler: async (ctx) => ({ kind: 'json', body: { got: (await ctx.json()) ?? 'absent' } }) });
  before(async () => {
    t = await startServer([echo('POST', '/containers/:id/exec'), echo('POST', '/exec/:id/start'), echo('POST', '/something')]);
  });
  after(() => t.stop());

  it('decodes each route with its body type', async () => {
    const a = await call(t.socket, 'POST', '/v1.44/containers/c1/exec', { body: '{"cmd":["true"],"detachKeys":"ctrl-x","foo":null}', headers: { 'Content-Type': 'application/json' } });
    assert.deepEqual(a.json(), { got: { Cmd: ['true'], DetachKeys: 'ctrl-x' } });
    const b = await call(t.socket, 'POST', '/exec/e1/start', { body: 'null' });
    assert.deepEqual(b.json(), { got: 'absent' });
    const c = await call(t.socket, 'POST', '/something', { body: '{"keep":1}' });
    assert.deepEqual(c.json(), { got: { keep: 1 } });
  });
});

describe('paths berth does not serve', () => {
  const reply = (method: string, path: string) => errorReply(unservedError(method, path));

  it('swarm families answer 503 with dockerd texts', () => {
    for (const [m, p] of [
      ['GET', '/swarm'],
      ['POST', '/v1.41/swarm/init'],
      ['GET', '/services'],
      ['GET', '/tasks/abc'],
      ['GET', '/nodes'],
      ['POST', '/secrets/create'],
      ['GET', '/configs/x'],
      ['PUT', '/services/x/whatever'],
    ]) {
      assert.deepEqual(reply(m as string, p as string), { status: 503, body: { message: NOT_SWARM_MANAGER } }, `${m} ${p}`);
    }
    assert.deepEqual(reply('POST', '/v1.47/swarm/leave'), { status: 503, body: { message: NOT_IN_SWARM } });
  });

  it('Engine API routes berth lacks answer 501 naming the route; others 404 page not found', () => {
    const r = reply('GET', '/v1.45/containers/abc/changes');
    assert.equal(r.status, 501);
    assert.match(r.body.message, /GET \/containers\/\{id\}\/changes/);
    assert.equal(reply('GET', '/images/library/busybox/history').status, 501);
    assert.deepEqual(reply('GET', '/nope'), { status: 404, body: { message: 'page not found' } });
    assert.deepEqual(reply('DELETE', '/version'), { status: 404, body: { message: 'page not found' } });
  });
});
