// Create-time checks after the image config is merged: every bad value is a
// 400 (or 404 for an unknown network) that names the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeImageConfig, parseCreateBody } from '../../src/daemon/containers/index.js';
import { validateContainer } from '../../src/daemon/containers/validate.js';
import { isKind, type ErrorKind } from '../../src/errors/index.js';

function check(body: Record<string, unknown>): { path: string; args: string[] } {
  const req = parseCreateBody({ Image: 'busybox', ...body });
  const config = mergeImageConfig(req.config, { Cmd: ['sh'] });
  if (config.Hostname === '') config.Hostname = 'abcdef012345';
  return validateContainer(config, req.hostConfig);
}

function refused(body: Record<string, unknown>, message: RegExp, kind: ErrorKind = 'invalid-parameter'): void {
  assert.throws(() => check(body), (e: unknown) => isKind(e, kind) && message.test((e as Error).message), JSON.stringify(body));
}

test('a plain config passes and yields Path and Args', () => {
  assert.deepEqual(check({}), { path: 'sh', args: [] });
  for (const HostConfig of [{ IpcMode: 'container:x', PidMode: 'container:x' }, { IpcMode: 'none', PidMode: 'host', UTSMode: 'host' }, { IpcMode: 'shareable' }]) {
    assert.equal(check({ HostConfig }).path, 'sh', JSON.stringify(HostConfig));
  }
  assert.deepEqual(check({ HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } }).path, 'sh');
});

test('refusals', () => {
  refused({ WorkingDir: 'rel' }, /the working directory 'rel' is invalid, it needs to be an absolute path/);
  refused({ Env: ['=x'] }, /invalid environment variable/);
  refused({ StopSignal: 'NOPE' }, /Invalid signal: NOPE/);
  refused({ Hostname: 'a/b' }, /invalid hostname format/);
  refused({ Hostname: 'x'.repeat(65) }, /invalid hostname format/);
  refused({ HostConfig: { NetworkMode: 'mynet' } }, /network mynet not found/, 'not-found');
  refused({ HostConfig: { NetworkMode: 'container:abc' } }, /not supported by berth/);
  refused({ HostConfig: { Sysctls: { 'vm.swappiness': '1' } } }, /sysctl "vm.swappiness" is not in a separate kernel namespace/);
  refused({ HostConfig: { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } } }, /not allowed in host network namespace/);
  refused({ HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 2, Hard: 1 }] } }, /soft limit must be less than or equal to hard limit: 2 > 1/);
  refused({ HostConfig: { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] } }, /invalid ulimit type: bogus/);
  refused({ HostConfig: { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_NO"}'] } }, /unknown action "SCMP_ACT_NO"/);
  refused({ HostConfig: { DeviceCgroupRules: ['x 1:2 rwm'] } }, /invalid device cgroup format 'x 1:2 rwm'/);
  refused({ HostConfig: { Devices: [{ PathOnHost: 'dev/null' }] } }, /must be an absolute path/);
  refused({ HostConfig: { RestartPolicy: { Name: 'sometimes' } } }, /invalid restart policy 'sometimes'/);
  refused({ HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } } }, /only be used with 'on-failure'/);
  refused({ HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }, /AutoRemove/);
  refused({ HostConfig: { ShmSize: -1 } }, /SHM size/);
  refused({ HostConfig: { CpusetCpus: '0;1' } }, /CpusetCpus/);
  refused({ HostConfig: { Sysctls: { 'bad key': '1' } } }, /invalid sysctl name/);
  refused({ HostConfig: { CapAdd: ['NOT_A_CAP'] } }, /unknown capability/);
  refused({ HostConfig: { PidMode: 'private' } }, /^invalid PID mode: private$/);
  refused({ HostConfig: { IpcMode: 'container:' } }, /^invalid IPC mode: container:$/);
  refused({ HostConfig: { UTSMode: 'container:x' } }, /^invalid UTS mode: container:x$/);
  refused({ Entrypoint: [''] }, /No command specified/);
});
