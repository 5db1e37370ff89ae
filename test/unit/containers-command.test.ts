// Entrypoint/Cmd resolution and environment merging, with dockerd's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PATH,
  mergeImageConfig,
  parseCreateBody,
  pathAndArgs,
  processEnv,
  replaceOrAppendEnv,
  commandLine,
  type ContainerConfig,
  type ImageConfig,
} from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

const image: ImageConfig = {
  Env: ['PATH=/img/bin', 'FOO=image', 'ONLY_IMAGE=1'],
  Cmd: ['sh'],
  Entrypoint: ['/entry.sh'],
  WorkingDir: '/srv',
  User: 'alice',
  Labels: { a: 'image', b: 'image' },
  StopSignal: 'SIGQUIT',
};

function config(body: Record<string, unknown>): ContainerConfig {
  return parseCreateBody({ Image: 'img', ...body }).config;
}

test('image Entrypoint and Cmd apply when the request has neither', () => {
  const m = mergeImageConfig(config({}), image);
  assert.deepEqual(m.Entrypoint, ['/entry.sh']);
  assert.deepEqual(m.Cmd, ['sh']);
  assert.deepEqual(pathAndArgs(m), { path: '/entry.sh', args: ['sh'] });
});

test('request Cmd replaces the image Cmd but keeps its Entrypoint', () => {
  const m = mergeImageConfig(config({ Cmd: ['echo', 'hi'] }), image);
  assert.deepEqual(pathAndArgs(m), { path: '/entry.sh', args: ['echo', 'hi'] });
});

test('Cmd given as a plain string is a one-element list', () => {
  const m = mergeImageConfig(config({ Cmd: 'true', Entrypoint: [] }), { Cmd: ['sh'] });
  assert.deepEqual(pathAndArgs(m), { path: 'true', args: [] });
});

test('request Entrypoint replaces the image one and drops the image Cmd', () => {
  const m = mergeImageConfig(config({ Entrypoint: ['/bin/echo'] }), image);
  assert.equal(m.Cmd, null);
  assert.deepEqual(pathAndArgs(m), { path: '/bin/echo', args: [] });
});

test('an explicit empty Entrypoint [""] clears it and the image Cmd', () => {
  const cleared = mergeImageConfig(config({ Entrypoint: [''], Cmd: ['echo', 'hi'] }), image);
  assert.equal(cleared.Entrypoint, null);
  assert.deepEqual(pathAndArgs(cleared), { path: 'echo', args: ['hi'] });
  const nothing = mergeImageConfig(config({ Entrypoint: [''] }), image);
  assert.throws(() => pathAndArgs(nothing), (e: unknown) => isKind(e, 'invalid-parameter') && /No command specified/.test(String(e)));
});

test('no command at all is refused with dockerd message', () => {
  assert.throws(() => pathAndArgs(mergeImageConfig(config({}), {})), /No command specified/);
});

test('env: request entries win, image entries fill in, order kept', () => {
  const m = mergeImageConfig(config({ Env: ['FOO=req', 'X=1'] }), image);
  assert.deepEqual(m.Env, ['FOO=req', 'X=1', 'PATH=/img/bin', 'ONLY_IMAGE=1']);
});

test('labels, user, working dir and stop signal come from the image when unset', () => {
  const m = mergeImageConfig(config({ Labels: { a: 'req' } }), image);
  assert.deepEqual(m.Labels, { a: 'req', b: 'image' });
  assert.equal(m.User, 'alice');
  assert.equal(m.WorkingDir, '/srv');
  assert.equal(m.StopSignal, 'SIGQUIT');
  const own = mergeImageConfig(config({ User: '0', WorkingDir: '/x', StopSignal: 'SIGINT' }), image);
  assert.equal(own.User, '0');
  assert.equal(own.WorkingDir, '/x');
  assert.equal(own.StopSignal, 'SIGINT');
});

test('process env: default PATH and HOSTNAME first, TERM with a TTY, container values override', () => {
  assert.deepEqual(processEnv({ Env: ['A=1'], Hostname: 'abc', Tty: false }), [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc', 'A=1']);
  assert.deepEqual(processEnv({ Env: ['PATH=/p', 'TERM=vt100'], Hostname: 'h', Tty: true }), ['PATH=/p', 'HOSTNAME=h', 'TERM=vt100']);
});

test('replaceOrAppendEnv: a bare name removes the variable', () => {
  assert.deepEqual(replaceOrAppendEnv(['A=1', 'B=2'], ['A', 'C=3']), ['B=2', 'C=3']);
});

test('commandLine joins Path and Args like docker ps', () => {
  assert.equal(commandLine('sleep', ['10']), 'sleep 10');
  assert.equal(commandLine('true', []), 'true');
});
