// SPEC §1.3: resolution of stock, configured, permissible and impermissible names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeShimOptions,
  deriveRuntimes,
  isPermissibleShimName,
  planRuntimes,
  resolveRuntime,
  validateRuntimeName,
  WrapperStore,
  type HasRuntimes,
  type RuntimeConfig,
} from '../../src/runtimes/index.js';
import { isKind } from '../../src/errors/index.js';

let dir: string;
let fakeRuntime: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-resolve-'));
  fakeRuntime = join(dir, 'fake-runtime');
  writeFileSync(fakeRuntime, '#!/bin/sh\nexit 0\n');
  chmodSync(fakeRuntime, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function snapshotOf(runtimes: Record<string, RuntimeConfig>, defaultRuntime = ''): Promise<HasRuntimes> {
  const planned = planRuntimes(runtimes, defaultRuntime);
  assert.ok(planned.ok, planned.ok ? '' : planned.errors.join('\n'));
  return { runtimes: await deriveRuntimes(planned.plan, new WrapperStore(join(dir, 'runtimes'))) };
}

function rejectsUnknown(fn: () => unknown, name: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKind(err, 'invalid-parameter'));
    assert.equal((err as Error).message, `unknown or invalid runtime name: ${name}`);
    return true;
  });
}

test('stock runtimes: the runc shim with BinaryName runc', async () => {
  const snap = await snapshotOf({});
  for (const name of ['runc', 'io.containerd.runc.v2']) {
    const shim = resolveRuntime(snap, name);
    assert.equal(shim.shim, 'io.containerd.runc.v2');
    assert.deepEqual(decodeShimOptions(shim.options!), { binary_name: 'runc' });
  }
});

test('empty name resolves to the default runtime', async () => {
  const snap = await snapshotOf({ gvisor: { runtimeType: 'io.containerd.runsc.v1' } }, 'gvisor');
  assert.deepEqual(resolveRuntime(snap, ''), { shim: 'io.containerd.runsc.v1' });
  assert.equal(validateRuntimeName(snap, ''), 'gvisor');
  const plain = await snapshotOf({});
  assert.equal(validateRuntimeName(plain, ''), 'runc');
});

test('configured path runtime: runc shim with BinaryName = path', async () => {
  const snap = await snapshotOf({ fake: { path: fakeRuntime } });
  const shim = resolveRuntime(snap, 'fake');
  assert.equal(shim.shim, 'io.containerd.runc.v2');
  assert.deepEqual(decodeShimOptions(shim.options!), { binary_name: fakeRuntime });
});

test('configured path runtime with args: BinaryName = its wrapper script', async () => {
  const snap = await snapshotOf({ fake: { path: fakeRuntime, runtimeArgs: ['--debug'] } });
  const shim = resolveRuntime(snap, 'fake');
  const wrapper = snap.runtimes.byName.get('fake')!.wrapperPath!;
  assert.ok(wrapper.startsWith(join(dir, 'runtimes') + '/'));
  assert.deepEqual(decodeShimOptions(shim.options!), { binary_name: wrapper });
});

test('configured runtimeType runtime with options', async () => {
  const snap = await snapshotOf({ k: { runtimeType: 'io.containerd.runc.v2', options: { SystemdCgroup: true } } });
  const shim = resolveRuntime(snap, 'k');
  assert.equal(shim.shim, 'io.containerd.runc.v2');
  assert.deepEqual(decodeShimOptions(shim.options!), { systemd_cgroup: true });
});

test('a missing binary of a path runtime with args fails at resolution with PATH: no such file or directory', async () => {
  const missing = join(dir, 'not-there');
  const snap = await snapshotOf({ gone: { path: missing, runtimeArgs: ['--x'] }, gone2: { path: missing } });
  for (const name of ['gone', 'gone2']) {
    assert.throws(
      () => resolveRuntime(snap, name),
      (err: unknown) => isKind(err, 'invalid-parameter') && (err as Error).message.includes(`${missing}: no such file or directory`),
    );
  }
  // validation at create does not look at binaries
  assert.equal(validateRuntimeName(snap, 'gone'), 'gone');
});

test('a bare binary name is looked up in PATH', async () => {
  const snap = await snapshotOf({ sh: { path: 'sh' }, nope: { path: 'berth-no-such-runtime-binary' } });
  assert.equal(resolveRuntime(snap, 'sh').shim, 'io.containerd.runc.v2');
  assert.throws(() => resolveRuntime(snap, 'nope'), /berth-no-such-runtime-binary: no such file or directory/);
});

test('permissible shim names pass as they are, with no options', async () => {
  const snap = await snapshotOf({});
  for (const name of ['io.containerd.kata.v2', 'io.containerd.runsc.v1', 'x.y']) {
    assert.deepEqual(resolveRuntime(snap, name), { shim: name });
    assert.equal(validateRuntimeName(snap, name), name);
  }
});

test('impermissible names are refused: /usr/bin/x, a/b.c, .x, x', async () => {
  const snap = await snapshotOf({});
  for (const name of ['/usr/bin/x', 'a/b.c', '.x', 'x', '../x.v1', 'io.containerd.x.v1/../../bin/sh']) {
    assert.equal(isPermissibleShimName(name), false, name);
    rejectsUnknown(() => resolveRuntime(snap, name), name);
    rejectsUnknown(() => validateRuntimeName(snap, name), name);
  }
});

test('a configured name with / wins over the shim-name rule', async () => {
  const snap = await snapshotOf({ 'my/custom.runtime.v1': { path: fakeRuntime } });
  const shim = resolveRuntime(snap, 'my/custom.runtime.v1');
  assert.equal(shim.shim, 'io.containerd.runc.v2');
  assert.deepEqual(decodeShimOptions(shim.options!), { binary_name: fakeRuntime });
  assert.equal(validateRuntimeName(snap, 'my/custom.runtime.v1'), 'my/custom.runtime.v1');
});

test('a runtime removed from the config is unknown against the new snapshot', async () => {
  const before = await snapshotOf({ fake: { path: fakeRuntime } });
  const after = await snapshotOf({});
  assert.equal(resolveRuntime(before, 'fake').shim, 'io.containerd.runc.v2');
  rejectsUnknown(() => resolveRuntime(after, 'fake'), 'fake');
});

test('resolved options are copies: the snapshot cannot be changed through them', async () => {
  const snap = await snapshotOf({});
  const a = resolveRuntime(snap, 'runc');
  a.options!.value.fill(0);
  assert.deepEqual(decodeShimOptions(resolveRuntime(snap, 'runc').options!), { binary_name: 'runc' });
});
