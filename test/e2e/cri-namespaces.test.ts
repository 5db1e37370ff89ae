// Shared namespaces as a Kubernetes pod uses them, with the real docker CLI:
// --network/--ipc/--pid container:X see X's interfaces, /dev/shm, IPC
// namespace and processes; the host and none modes; joiners survive a
// restart of berthd (live-restore) and start again against the donor.
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { importBusybox } from '../fixtures/images.js';
import { cleanupWithContainers, ok, startBerthd, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

const POD = ['sh', '-c', 'echo from-pod > /dev/shm/marker; exec sleep 100000'];

describe('IPC, PID and UTS modes; container: joins', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args, { timeoutMs: 90_000 });
  const nsOf = async (name: string, ns: string): Promise<string> => ok(await docker('exec', name, 'busybox', 'readlink', `/proc/self/ns/${ns}`), `ns ${ns}`).trim();

  before(async () => {
    d = await startBerthd({ config: { 'ip-forward': false, 'dns-upstream': [] }, args: ['--live-restore'] });
    await importBusybox(d);
  });

  after(async () => {
    await cleanupWithContainers(d);
  });

  it('--network/--ipc/--pid container:X see X\'s interfaces, shared memory and processes', async () => {
    ok(await docker('run', '-d', '--name', 'pod', '--hostname', 'podh', '--ipc', 'shareable', 'busybox', ...POD), 'pod');
    const script = [
      'cat /dev/shm/marker',
      'busybox readlink /proc/self/ns/ipc',
      'busybox readlink /proc/self/ns/pid',
      'busybox readlink /proc/self/ns/net',
      'ps -o args | grep -c "^sleep 100000"',
      'hostname',
      'echo from-app > /dev/shm/back',
    ].join('; ');
    const out = ok(await docker('run', '--rm', '--network', 'container:pod', '--ipc', 'container:pod', '--pid', 'container:pod', 'busybox', 'sh', '-c', script), 'joiner');
    const [marker, ipc, pid, net, sleeps, host] = out.trim().split('\n');
    assert.equal(marker, 'from-pod');
    assert.equal(ipc, await nsOf('pod', 'ipc'));
    assert.equal(pid, await nsOf('pod', 'pid'));
    assert.equal(net, await nsOf('pod', 'net'));
    assert.equal(sleeps, '1', 'the pod\'s process is visible');
    assert.equal(host, 'podh', 'the joiner takes the hostname of the network donor');
    assert.equal(ok(await docker('exec', 'pod', 'cat', '/dev/shm/back'), 'back').trim(), 'from-app', '/dev/shm is one directory');
    const inspect = JSON.parse(ok(await docker('inspect', 'pod'), 'inspect')) as Array<{ HostConfig: { IpcMode: string } }>;
    assert.equal(inspect[0]!.HostConfig.IpcMode, 'shareable');
  });

  it('refuses to join a container that does not run, or whose IPC is private', async () => {
    ok(await docker('create', '--name', 'idle', '--ipc', 'shareable', 'busybox', 'true'), 'create');
    const ipc = await docker('run', '--rm', '--ipc', 'container:idle', 'busybox', 'true');
    assert.notEqual(ipc.code, 0);
    assert.match(ipc.stderr, /cannot join IPC of a non running container: [0-9a-f]{64}/);
    const pid = await docker('run', '--rm', '--pid', 'container:idle', 'busybox', 'true');
    assert.match(pid.stderr, /cannot join PID of a non running container: [0-9a-f]{64}/);
    ok(await docker('run', '-d', '--name', 'priv', '--ipc', 'private', 'busybox', 'sleep', '1000'), 'priv');
    const priv = await docker('run', '--rm', '--ipc', 'container:priv', 'busybox', 'true');
    assert.match(priv.stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    const bad = await docker('run', '--rm', '--ipc', 'bogus', 'busybox', 'true');
    assert.match(bad.stderr, /invalid IPC mode: bogus/);
    ok(await docker('rm', '-f', 'idle', 'priv'), 'rm');
  });

  it('--ipc none has no /dev/shm; --ipc/--pid/--uts host share the host\'s', async () => {
    const none = await docker('run', '--rm', '--ipc', 'none', 'busybox', 'ls', '/dev/shm');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /No such file or directory/);
    const out = ok(await docker('run', '--rm', '--ipc', 'host', '--pid', 'host', '--uts', 'host', 'busybox', 'sh', '-c',
      'busybox readlink /proc/self/ns/ipc; busybox readlink /proc/self/ns/pid; hostname'), 'host modes');
    assert.deepEqual(out.trim().split('\n'), [readlinkSync('/proc/self/ns/ipc'), readlinkSync('/proc/self/ns/pid'), hostname()]);
  });

  it('a joiner keeps working across a restart of berthd and starts again against the donor', async () => {
    ok(await docker('run', '-d', '--name', 'app', '--network', 'container:pod', '--ipc', 'container:pod', '--pid', 'container:pod', 'busybox', 'sleep', '100000'), 'app');
    await d.stop('SIGTERM');
    d = await startBerthd({ root: d.root, config: { 'ip-forward': false, 'dns-upstream': [] }, args: ['--live-restore'] });
    assert.equal(ok(await docker('exec', 'app', 'cat', '/dev/shm/marker'), 'exec after restart').trim(), 'from-pod');
    ok(await docker('stop', '-t', '1', 'app'), 'stop');
    ok(await docker('start', 'app'), 'start again');
    assert.equal(await nsOf('app', 'ipc'), await nsOf('pod', 'ipc'));
    assert.equal(await nsOf('app', 'pid'), await nsOf('pod', 'pid'));
    ok(await docker('rm', '-f', 'app', 'pod'), 'rm');
  });
});
