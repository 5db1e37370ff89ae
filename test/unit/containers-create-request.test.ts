// Create bodies: wrong types are 400s naming the field; defaults filled in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateBody } from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

function bad(body: unknown, field: RegExp): void {
  assert.throws(
    () => parseCreateBody(body),
    (e: unknown) => isKind(e, 'invalid-parameter') && field.test((e as Error).message),
    `expected a 400 matching ${field} for ${JSON.stringify(body)}`,
  );
}

test('wrong types name the field', () => {
  bad({ Image: 'x', Env: 'x' }, /invalid field Env: expected an array of strings, got a string/);
  bad({ Image: 'x', Cmd: 5 }, /invalid field Cmd: expected a string or an array of strings, got a number/);
  bad({ Image: 'x', Env: ['A=1', 3] }, /invalid field Env\[1\]/);
  bad({ Image: 'x', Tty: 'yes' }, /invalid field Tty: expected true or false/);
  bad({ Image: 'x', Labels: { a: 1 } }, /invalid field Labels\.a/);
  bad({ Image: 'x', HostConfig: { Runtime: 7 } }, /invalid field HostConfig\.Runtime/);
  bad({ Image: 'x', HostConfig: { Memory: 1.5 } }, /invalid field HostConfig\.Memory: expected an integer, got a fractional number/);
  bad({ Image: 'x', HostConfig: { RestartPolicy: { Name: 3 } } }, /HostConfig\.RestartPolicy\.Name/);
  bad({ Image: 'x', HostConfig: [] }, /invalid field HostConfig: expected an object, got an array/);
  bad({ Image: 'x', StopTimeout: 'ten' }, /StopTimeout/);
  bad([1, 2], /container config must be a JSON object/);
  bad({ Image: 7 }, /invalid field Image/);
});

test('an image is required', () => {
  bad({}, /Image must be set/);
  bad(undefined, /Image must be set/);
});

test('null counts as absent, unknown fields are ignored', () => {
  const r = parseCreateBody({ Image: 'x', Env: null, Cmd: null, Bogus: 1, HostConfig: { Unknown: true, Binds: null } });
  assert.deepEqual(r.config.Env, []);
  assert.equal(r.config.Cmd, null);
  assert.equal('Unknown' in r.hostConfig, false);
});

test('defaults: network default, shm 64 MiB, restart policy no, empty runtime', () => {
  const { config, hostConfig } = parseCreateBody({ Image: 'busybox' });
  assert.equal(config.Image, 'busybox');
  assert.equal(config.Tty, false);
  assert.deepEqual(config.Labels, {});
  assert.equal(hostConfig.NetworkMode, 'default');
  assert.equal(hostConfig.ShmSize, 64 * 1024 * 1024);
  assert.deepEqual(hostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.equal(hostConfig.Runtime, '');
});

test('a "__proto__" label stays plain data', () => {
  const { config } = parseCreateBody(JSON.parse('{"Image":"x","Labels":{"__proto__":"v"}}'));
  assert.equal(Object.getPrototypeOf(config.Labels), Object.prototype);
  assert.equal(Object.keys(config.Labels).includes('__proto__'), true);
});
