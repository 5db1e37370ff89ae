// HostConfig fields berth does not turn into settings are refused or
// discarded with a warning; the ones it honours reach the OCI spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, checkUnappliedSettings, mergeImageConfig, parseCreateBody, pathAndArgs } from '../../src/daemon/containers/index.js';
import { isKind, type ErrorKind } from '../../src/errors/index.js';

const ID = 'feed'.padEnd(64, '0');

function request(host: Record<string, unknown>, config: Record<string, unknown> = {}) {
  return parseCreateBody({ Image: 'busybox', Cmd: ['true'], ...config, HostConfig: host });
}

function spec(host: Record<string, unknown>) {
  const req = request(host);
  const config = mergeImageConfig(req.config, { Env: ['PATH=/bin'] });
  config.Hostname = ID.slice(0, 12);
  const { path, args } = pathAndArgs(config);
  return buildSpec({
    id: ID, namespace: 'berth', config, hostConfig: req.hostConfig, path, args,
    user: { uid: 0, gid: 0, additionalGids: [0] },
    etc: { hosts: '/d/hosts', hostname: '/d/hostname', resolvConf: '/d/resolv.conf' },
  });
}

const refused = (host: Record<string, unknown>, kind: ErrorKind, text: RegExp): void => {
  const req = request(host);
  assert.throws(() => checkUnappliedSettings(req.config, req.hostConfig), (err: unknown) => isKind(err, kind) && text.test((err as Error).message));
};

test('settings that would change what the container is are refused', () => {
  refused({ UsernsMode: 'private' }, 'invalid-parameter', /user namespace remapping is not enabled/);
  refused({ Isolation: 'hyperv' }, 'invalid-parameter', /^Invalid isolation: "hyperv" - linux only supports 'default'$/);
  refused({ Cgroup: 'container:x' }, 'invalid-parameter', /HostConfig\.Cgroup is not supported/);
  refused({ CgroupnsMode: 'shared' }, 'invalid-parameter', /invalid cgroup namespace mode: shared/);
  refused({ VolumeDriver: 'nfs' }, 'not-found', /error looking up volume plugin nfs: plugin "nfs" not found/);
  for (const ok of [{ UsernsMode: 'host' }, { Isolation: 'default' }, { VolumeDriver: 'local' }, { CgroupnsMode: 'private' }]) {
    const req = request(ok);
    assert.deepEqual(checkUnappliedSettings(req.config, req.hostConfig), []);
  }
});

test('Windows-only settings are discarded with a warning, not silently', () => {
  const req = request({ CpuCount: 2, CpuPercent: 50, IOMaximumIOps: 10, IOMaximumBandwidth: 0, KernelMemory: 64 << 20 });
  const warnings = checkUnappliedSettings(req.config, req.hostConfig);
  assert.deepEqual(warnings, [
    'CpuCount applies only to Windows containers: discarded',
    'CpuPercent applies only to Windows containers: discarded',
    'IOMaximumIOps applies only to Windows containers: discarded',
    'Specifying a kernel memory limit is deprecated and will be removed in a future release: the runtime does not apply KernelMemory, discarded',
  ]);
  assert.equal(req.hostConfig.KernelMemory, 0);
  assert.equal(req.hostConfig.CpuCount, 0);
  assert.equal(req.hostConfig.CpuPercent, 0);
});

test('NetworkDisabled leaves the container only its loopback', () => {
  const req = request({}, { NetworkDisabled: true });
  checkUnappliedSettings(req.config, req.hostConfig);
  assert.equal(req.hostConfig.NetworkMode, 'none');
  const host = request({ NetworkMode: 'host' }, { NetworkDisabled: true });
  checkUnappliedSettings(host.config, host.hostConfig);
  assert.equal(host.hostConfig.NetworkMode, 'host');
});

test('annotations, real-time CPU and a private cgroup namespace reach the OCI spec', () => {
  const s = spec({
    Annotations: { 'org.example/team': 'infra' },
    CpuRealtimePeriod: 1_000_000,
    CpuRealtimeRuntime: 950_000,
    CgroupnsMode: 'private',
  });
  assert.deepEqual(s.annotations, { 'org.example/team': 'infra' });
  const res = s.linux.resources as { cpu: Record<string, number> };
  assert.equal(res.cpu.realtimePeriod, 1_000_000);
  assert.equal(res.cpu.realtimeRuntime, 950_000);
  assert.ok((s.linux.namespaces as Array<{ type: string }>).some((n) => n.type === 'cgroup'));
  assert.equal(spec({}).annotations, undefined);
});
