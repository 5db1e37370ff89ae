// `docker info` view of runtimes, Kubernetes name warnings, name rules.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveRuntimes,
  findBinary,
  isKubernetesName,
  kubernetesNameWarnings,
  planRuntimes,
  runtimesInfoView,
  shimBinaryName,
  WrapperStore,
  type RuntimeConfig,
} from '../../src/runtimes/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-info-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function info(runtimes: Record<string, RuntimeConfig>, def = '') {
  const planned = planRuntimes(runtimes, def);
  assert.ok(planned.ok);
  return runtimesInfoView({ runtimes: await deriveRuntimes(planned.plan, new WrapperStore(join(dir, 'runtimes'))) });
}

test('info lists stock and configured runtimes with a status map of strings', async () => {
  const view = await info(
    {
      gvisor: { runtimeType: 'io.containerd.runsc.v1', options: { ConfigPath: '/etc/runsc.toml' } },
      args: { path: '/bin/sh', runtimeArgs: ['-e'] },
      ghost: { path: '/nonexistent/runtime' },
      shimpath: { runtimeType: '/nonexistent/containerd-shim-x-v1' },
    },
    'gvisor',
  );
  assert.equal(view.DefaultRuntime, 'gvisor');
  assert.deepEqual(Object.keys(view.Runtimes), ['args', 'ghost', 'gvisor', 'io.containerd.runc.v2', 'runc', 'shimpath']);
  const { runc, gvisor, args, ghost, shimpath } = view.Runtimes;
  assert.equal(runc!.path, 'runc');
  assert.equal(runc!.status.shim, 'io.containerd.runc.v2');
  assert.deepEqual(gvisor!.options, { ConfigPath: '/etc/runsc.toml' });
  assert.equal(gvisor!.runtimeType, 'io.containerd.runsc.v1');
  assert.equal(gvisor!.status.found, 'false');
  assert.equal(gvisor!.status.binary, 'containerd-shim-runsc-v1');
  assert.deepEqual(args!.runtimeArgs, ['-e']);
  assert.equal(args!.status.found, 'true');
  assert.equal(args!.status.binary, '/bin/sh');
  assert.ok(args!.status.wrapper?.startsWith(join(dir, 'runtimes')));
  assert.equal(ghost!.status.found, 'false');
  assert.match(ghost!.status.error!, /no such file or directory/);
  assert.equal(shimpath!.status.found, 'false');
  for (const rt of Object.values(view.Runtimes)) {
    for (const v of Object.values(rt.status)) assert.equal(typeof v, 'string');
  }
});

const runcShim = findBinary('containerd-shim-runc-v2');
test('the runc shim binary is found on PATH', { skip: runcShim.path === undefined && 'containerd-shim-runc-v2 is not installed' }, async () => {
  const view = await info({ k: { runtimeType: 'io.containerd.runc.v2' } });
  assert.equal(view.Runtimes.k!.status.found, 'true');
  assert.match(view.Runtimes.k!.status.binary!, /containerd-shim-runc-v2$/);
});

test('shim binary names follow containerd', () => {
  assert.equal(shimBinaryName('io.containerd.runsc.v1'), 'containerd-shim-runsc-v1');
  assert.equal(shimBinaryName('io.containerd.kata.v2'), 'containerd-shim-kata-v2');
  assert.equal(shimBinaryName('x'), undefined);
});

test('Kubernetes names: lowercase RFC 1123 labels', () => {
  for (const ok of ['runc', 'gvisor', 'kata-fc', 'a', 'a1', 'x'.repeat(63)]) assert.ok(isKubernetesName(ok), ok);
  for (const bad of ['io.containerd.runc.v2', 'My_RT', '-a', 'a-', '', 'x'.repeat(64), 'my/custom']) {
    assert.ok(!isKubernetesName(bad), bad);
  }
});

test('warnings suggest an alias for each name Kubernetes cannot use', () => {
  const warnings = kubernetesNameWarnings({
    ok: { path: '/usr/bin/crun' },
    'io.containerd.runsc.v1': { runtimeType: 'io.containerd.runsc.v1' },
    My_Crun: { path: '/usr/bin/crun' },
    'With.Args': { path: '/usr/bin/crun', runtimeArgs: ['--debug'] },
  });
  assert.equal(warnings.length, 3);
  assert.match(warnings[0]!, /^runtime "io.containerd.runsc.v1" cannot be a Kubernetes RuntimeClass handler/);
  assert.match(warnings[0]!, /"io-containerd-runsc-v1": \{"runtimeType":"io.containerd.runsc.v1"\}/);
  assert.match(warnings[1]!, /"my-crun": \{"runtimeType":"io.containerd.runc.v2","options":\{"BinaryName":"\/usr\/bin\/crun"\}\}/);
  assert.match(warnings[2]!, /configure it also under a valid name, e.g. "with-args": \{"path":"\/usr\/bin\/crun","runtimeArgs":\["--debug"\]\}/);
});

test('a suggested alias never repeats a configured name', () => {
  const warnings = kubernetesNameWarnings({ 'my-crun': { path: '/x' }, My_Crun: { path: '/x' } });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /"my-crun-2":/);
});
