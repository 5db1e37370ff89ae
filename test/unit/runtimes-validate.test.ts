// SPEC §1.1: one test per validation row, with the exact messages, and the
// options errors (unknown key, wrong type, out of range).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuntimeEntries, planRuntimes, validateRuntimes, type RuntimeConfig } from '../../src/runtimes/index.js';

const errorsOf = (runtimes: Record<string, RuntimeConfig>, def = ''): string[] => validateRuntimes(runtimes, def);

test('a configured runtime named runc is reserved', () => {
  assert.deepEqual(errorsOf({ runc: { path: '/usr/bin/runc' } }), ["runtime name 'runc' is reserved"]);
});

test('io.containerd.runc.v2 may be configured and replaces the stock entry', () => {
  const r = planRuntimes({ 'io.containerd.runc.v2': { path: '/usr/local/bin/runc' } }, '');
  assert.ok(r.ok);
  const entry = r.plan.runtimes.find((p) => p.name === 'io.containerd.runc.v2');
  assert.equal(entry?.stock, false);
  assert.equal(entry?.binaryPath, '/usr/local/bin/runc');
});

test('neither path nor runtimeType', () => {
  assert.deepEqual(errorsOf({ foo: {} }), ['runtime foo: either a runtimeType or a path must be configured']);
  assert.deepEqual(errorsOf({ foo: { path: '' } }), ['runtime foo: either a runtimeType or a path must be configured']);
});

test('both path and runtimeType', () => {
  assert.deepEqual(errorsOf({ foo: { path: '/bin/x', runtimeType: 'io.containerd.x.v1' } }), [
    'runtime foo: cannot configure both path and runtimeType for the same runtime',
  ]);
});

test('options with a path runtime', () => {
  assert.deepEqual(errorsOf({ foo: { path: '/bin/x', options: { BinaryName: 'y' } } }), [
    'runtime foo: options cannot be used with a path runtime',
  ]);
});

test('runtimeArgs with a runtimeType runtime', () => {
  assert.deepEqual(errorsOf({ foo: { runtimeType: 'io.containerd.x.v1', runtimeArgs: ['--debug'] } }), [
    'runtime foo: args cannot be used with a runtimeType runtime',
  ]);
});

test('default runtime that does not exist', () => {
  assert.deepEqual(errorsOf({}, 'nope'), ["specified default runtime 'nope' does not exist"]);
  assert.deepEqual(errorsOf({}, '/usr/bin/runc'), ["specified default runtime '/usr/bin/runc' does not exist"]);
});

test('default runtime may be stock, configured or a permissible shim name', () => {
  assert.deepEqual(errorsOf({}, 'runc'), []);
  assert.deepEqual(errorsOf({}, 'io.containerd.runc.v2'), []);
  assert.deepEqual(errorsOf({ 'my/custom': { path: '/bin/x' } }, 'my/custom'), []);
  assert.deepEqual(errorsOf({}, 'io.containerd.kata.v2'), []);
  const r = planRuntimes({}, '');
  assert.ok(r.ok);
  assert.equal(r.plan.defaultRuntime, 'runc');
});

test('a configured default with errors reports only its own errors', () => {
  assert.deepEqual(errorsOf({ bad: {} }, 'bad'), ['runtime bad: either a runtimeType or a path must be configured']);
});

test('every error of every runtime is collected', () => {
  const errors = errorsOf(
    {
      runc: { path: 'x' },
      a: {},
      b: { path: '/x', runtimeType: 'io.x.v1' },
      c: { path: '/x', options: { a: 1 } },
      d: { runtimeType: 'io.x.v1', runtimeArgs: ['x'] },
    },
    'missing',
  );
  assert.equal(errors.length, 6);
  assert.equal(errors[5], "specified default runtime 'missing' does not exist");
});

test('paths must be absolute or bare names; runtimeType a shim name or an absolute path', () => {
  assert.deepEqual(errorsOf({ a: { path: 'bin/runc' } }), [
    "runtime a: path 'bin/runc' must be an absolute path or the name of a binary on PATH",
  ]);
  assert.deepEqual(errorsOf({ a: { path: 'crun' } }), []);
  assert.deepEqual(errorsOf({ a: { runtimeType: 'runsc' } }), [
    "runtime a: runtimeType 'runsc' must be a shim name like io.containerd.runsc.v1 or the absolute path of a shim binary",
  ]);
  assert.deepEqual(errorsOf({ a: { runtimeType: './shim' } }).length, 1);
  assert.deepEqual(errorsOf({ a: { runtimeType: '/opt/shims/containerd-shim-x-v1' } }), []);
});

test('runtimeArgs with NUL characters cannot be passed to a program', () => {
  assert.deepEqual(errorsOf({ a: { path: '/bin/x', runtimeArgs: ['a\0b'] } }), ['runtime a: runtimeArgs cannot contain NUL characters']);
});

test('empty runtime name is refused (an empty name means the default)', () => {
  assert.equal(errorsOf({ '': { path: '/bin/x' } }).length, 1);
});

test('empty options and empty args are harmless, as with dockerd', () => {
  assert.deepEqual(errorsOf({ a: { path: '/bin/x', options: {} }, b: { runtimeType: 'io.x.v1', runtimeArgs: [] } }), []);
});

const RUNC_KEYS =
  'accepted options: NoPivotRoot, NoNewKeyring, ShimCgroup, IoUid, IoGid, BinaryName, Root, SystemdCgroup, CriuImagePath, CriuWorkPath';
const GENERIC_KEYS = 'accepted options: TypeUrl, ConfigPath, ConfigBody';

test('options: unknown key names the runtime, the key and the accepted keys', () => {
  assert.deepEqual(errorsOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { BinaryNam: 'crun' } } }), [
    `runtime k: option BinaryNam: unknown option for shim io.containerd.runc.v2; ${RUNC_KEYS}`,
  ]);
  assert.deepEqual(errorsOf({ g: { runtimeType: 'io.containerd.runsc.v1', options: { BinaryName: 'x' } } }), [
    `runtime g: option BinaryName: unknown option for shim io.containerd.runsc.v1; ${GENERIC_KEYS}`,
  ]);
  // criu_path (8) is not part of the accepted set.
  assert.equal(errorsOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { CriuPath: '/x' } } }).length, 1);
});

test('options: wrong types', () => {
  const cases: [string, unknown, string][] = [
    ['NoPivotRoot', 'true', 'must be a boolean (true or false), got string "true"'],
    ['SystemdCgroup', 1, 'must be a boolean (true or false), got number 1'],
    ['BinaryName', 5, 'must be a string, got number 5'],
    ['Root', null, 'must be a string, got null'],
    ['IoUid', '1000', 'must be an integer, got string "1000"'],
    ['IoGid', 1.5, 'must be an integer, got number 1.5'],
    ['ShimCgroup', ['a'], 'must be a string, got an array'],
  ];
  for (const [key, value, problem] of cases) {
    assert.deepEqual(errorsOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { [key]: value } } }), [
      `runtime k: option ${key}: ${problem}; ${RUNC_KEYS}`,
    ]);
  }
  assert.deepEqual(errorsOf({ g: { runtimeType: 'io.containerd.runsc.v1', options: { ConfigBody: { a: 1 } } } }), [
    `runtime g: option ConfigBody: must be a string, got an object; ${GENERIC_KEYS}`,
  ]);
});

test('options: numbers out of the uint32 range', () => {
  for (const value of [-1, 4294967296, 1e20]) {
    const errors = errorsOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { IoUid: value } } });
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^runtime k: option IoUid: .* is out of range \(0 to 4294967295\); accepted options: /);
  }
  assert.deepEqual(errorsOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { IoUid: 0, IoGid: 4294967295 } } }), []);
});

test('options: one key spelled twice', () => {
  const errors = errorsOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: 'a', binary_name: 'b' } } });
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /option binary_name: given twice \(also as BinaryName\)/);
});

test('runtime entries from JSON: types and unknown fields', () => {
  const parsed = parseRuntimeEntries({
    a: 'x',
    b: { path: 1 },
    c: { runtimeArgs: 'x', path: '/x' },
    d: { options: [], runtimeType: 'io.x.v1' },
    e: { pathh: '/x' },
    f: { path: '/x', runtimeArgs: ['a', 'b'] },
  });
  assert.deepEqual(parsed.errors, [
    'runtime a: must be a JSON object with path, runtimeArgs, runtimeType or options',
    'runtime b: path must be a string',
    'runtime c: runtimeArgs must be an array of strings',
    'runtime d: options must be a JSON object',
    "runtime e: unknown field 'pathh'; accepted fields: path, runtimeArgs, runtimeType, options",
  ]);
  assert.deepEqual(parsed.runtimes.f, { path: '/x', runtimeArgs: ['a', 'b'] });
  assert.deepEqual(parseRuntimeEntries([]).errors, ['runtimes must be a JSON object that maps runtime names to runtimes']);
});

test('a runtime named __proto__ is an ordinary name', () => {
  const parsed = parseRuntimeEntries(JSON.parse('{"__proto__": {"path": "/bin/x"}}'));
  assert.deepEqual(parsed.errors, []);
  assert.ok(Object.hasOwn(parsed.runtimes, '__proto__'));
  const r = planRuntimes(parsed.runtimes, '__proto__');
  assert.ok(r.ok);
  assert.equal(r.plan.defaultRuntime, '__proto__');
});
