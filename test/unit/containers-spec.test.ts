// The OCI spec builder: key fields for none/host networking, TTY, user,
// capabilities and resources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSpec,
  mergeImageConfig,
  parseCreateBody,
  pathAndArgs,
  type SpecInput,
} from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

const ID = 'c0ffee'.padEnd(64, '0');

function input(body: Record<string, unknown>): SpecInput {
  const req = parseCreateBody({ Image: 'busybox', Cmd: ['sh', '-c', 'echo hi'], ...body });
  const config = mergeImageConfig(req.config, { Env: ['PATH=/bin'] });
  if (config.Hostname === '') config.Hostname = ID.slice(0, 12);
  const { path, args } = pathAndArgs(config);
  return {
    id: ID,
    namespace: 'berth',
    config,
    hostConfig: req.hostConfig,
    path,
    args,
    user: { uid: 0, gid: 0, additionalGids: [0] },
    etc: { hosts: '/d/hosts', hostname: '/d/hostname', resolvConf: '/d/resolv.conf' },
  };
}

const nsTypes = (spec: ReturnType<typeof buildSpec>): string[] =>
  (spec.linux.namespaces as Array<{ type: string }>).map((n) => n.type);

test('default container: own namespaces, docker defaults, berth cgroup path', () => {
  const spec = buildSpec(input({}));
  assert.equal(spec.ociVersion, '1.0.2');
  assert.deepEqual(spec.root, { path: 'rootfs' });
  assert.equal(spec.hostname, ID.slice(0, 12));
  assert.deepEqual(spec.process.args, ['sh', '-c', 'echo hi']);
  assert.deepEqual(spec.process.env, ['PATH=/bin', `HOSTNAME=${ID.slice(0, 12)}`]);
  assert.equal(spec.process.cwd, '/');
  assert.equal(spec.process.terminal, false);
  assert.equal(spec.process.noNewPrivileges, false);
  assert.equal(spec.process.capabilities.bounding.length, 14);
  assert.ok(spec.process.capabilities.effective.includes('CAP_NET_BIND_SERVICE'));
  assert.ok(!spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.deepEqual(nsTypes(spec), ['mount', 'network', 'uts', 'pid', 'ipc']);
  assert.equal(spec.linux.cgroupsPath, `/berth/berth/${ID}`);
  const mounts = spec.mounts.map((m) => m.destination);
  assert.deepEqual(mounts, [
    '/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm',
    '/etc/resolv.conf', '/etc/hostname', '/etc/hosts',
  ]);
  assert.deepEqual(spec.mounts.find((m) => m.destination === '/dev/shm')?.options.at(-1), 'size=67108864');
  assert.ok(spec.mounts.find((m) => m.destination === '/sys')?.options.includes('ro'));
  assert.deepEqual(spec.mounts.find((m) => m.destination === '/etc/hosts'), {
    destination: '/etc/hosts', type: 'bind', source: '/d/hosts', options: ['rbind', 'rprivate'],
  });
  assert.ok((spec.linux.maskedPaths as string[]).includes('/proc/kcore'));
  assert.ok((spec.linux.readonlyPaths as string[]).includes('/proc/sys'));
  const rules = (spec.linux.resources as { devices: Array<{ allow: boolean; access: string }> }).devices;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  const devices = (spec.linux.devices as Array<{ path: string }>).map((d) => d.path);
  assert.deepEqual(devices, ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
  assert.equal((spec.linux.sysctl as Record<string, string>)['net.ipv4.ip_unprivileged_port_start'], '0');
});

test('network none keeps a network namespace (loopback only)', () => {
  const spec = buildSpec(input({ HostConfig: { NetworkMode: 'none' } }));
  assert.ok(nsTypes(spec).includes('network'));
});

test('host network: no network namespace, no net sysctls, uts kept', () => {
  const spec = buildSpec(input({ Hostname: 'myhost', HostConfig: { NetworkMode: 'host' } }));
  assert.deepEqual(nsTypes(spec), ['mount', 'uts', 'pid', 'ipc']);
  assert.deepEqual(spec.linux.sysctl, {});
  assert.equal(spec.hostname, 'myhost');
});

test('tty: terminal, TERM=xterm, console size from ConsoleSize', () => {
  const spec = buildSpec(input({ Tty: true, HostConfig: { ConsoleSize: [40, 120] } }));
  assert.equal(spec.process.terminal, true);
  assert.ok(spec.process.env.includes('TERM=xterm'));
  assert.deepEqual(spec.process.consoleSize, { height: 40, width: 120 });
});

test('user, working dir and env from the request', () => {
  const i = input({ WorkingDir: '/work', Env: ['A=1', 'PATH=/x'] });
  i.user = { uid: 1000, gid: 50, additionalGids: [50, 10] };
  const spec = buildSpec(i);
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 50, additionalGids: [50, 10] });
  assert.equal(spec.process.cwd, '/work');
  assert.deepEqual(spec.process.env, ['PATH=/x', `HOSTNAME=${ID.slice(0, 12)}`, 'A=1']);
});

test('capabilities: add, drop, ALL, privileged, unknown', () => {
  const add = buildSpec(input({ HostConfig: { CapAdd: ['SYS_ADMIN'], CapDrop: ['CAP_KILL'] } }));
  assert.ok(add.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(!add.process.capabilities.bounding.includes('CAP_KILL'));
  const none = buildSpec(input({ HostConfig: { CapDrop: ['ALL'], CapAdd: ['CHOWN'] } }));
  assert.deepEqual(none.process.capabilities.bounding, ['CAP_CHOWN']);
  const priv = buildSpec(input({ HostConfig: { Privileged: true } }));
  assert.ok(priv.process.capabilities.bounding.length > 30);
  assert.deepEqual(priv.linux.maskedPaths, []);
  assert.throws(() => buildSpec(input({ HostConfig: { CapAdd: ['NOPE'] } })), (e: unknown) => isKind(e, 'invalid-parameter'));
});

test('resources, read-only rootfs, binds and tmpfs', () => {
  const spec = buildSpec(
    input({
      HostConfig: {
        Memory: 64 * 1024 * 1024,
        NanoCpus: 500_000_000,
        PidsLimit: 100,
        ReadonlyRootfs: true,
        Binds: ['/srv/data:/data:ro'],
        Tmpfs: { '/run': 'size=1m' },
        ShmSize: 1024,
      },
    }),
  );
  const res = spec.linux.resources as Record<string, Record<string, number>>;
  assert.equal(res.memory?.limit, 64 * 1024 * 1024);
  assert.equal(res.memory?.swap, 128 * 1024 * 1024);
  assert.deepEqual(res.cpu, { period: 100_000, quota: 50_000 });
  assert.deepEqual(res.pids, { limit: 100 });
  assert.deepEqual(spec.root, { path: 'rootfs', readonly: true });
  assert.deepEqual(spec.mounts.find((m) => m.destination === '/data'), {
    destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'],
  });
  assert.deepEqual(spec.mounts.find((m) => m.destination === '/run')?.options, ['noexec', 'nosuid', 'nodev', 'size=1m']);
  assert.ok(spec.mounts.find((m) => m.destination === '/dev/shm')?.options.includes('size=1024'));
});

test('a cgroup v2 host gives the container its own cgroup namespace', () => {
  const i = input({});
  i.cgroupV2 = true;
  assert.ok(nsTypes(buildSpec(i)).includes('cgroup'));
});

test('IPC/PID joins: namespace paths, /dev/shm by mode, no hostname with the host UTS namespace', () => {
  const shm = (spec: ReturnType<typeof buildSpec>): unknown => spec.mounts.find((m) => m.destination === '/dev/shm');
  const joined = buildSpec({ ...input({ HostConfig: { IpcMode: 'container:p', PidMode: 'container:p' } }), joined: { ipc: '/proc/7/ns/ipc', pid: '/proc/7/ns/pid', shmSource: '/x/shm' } });
  const ns = joined.linux.namespaces as Array<{ type: string; path?: string }>;
  assert.deepEqual(ns.find((n) => n.type === 'ipc'), { type: 'ipc', path: '/proc/7/ns/ipc' });
  assert.deepEqual(ns.find((n) => n.type === 'pid'), { type: 'pid', path: '/proc/7/ns/pid' });
  assert.deepEqual(shm(joined), { destination: '/dev/shm', type: 'bind', source: '/x/shm', options: ['rbind', 'rprivate'] });
  assert.equal(shm(buildSpec(input({ HostConfig: { IpcMode: 'none' } }))), undefined);
  assert.deepEqual((shm(buildSpec(input({ HostConfig: { IpcMode: 'host' } }))) as { source: string }).source, '/dev/shm');
  assert.match(JSON.stringify(shm(buildSpec(input({ HostConfig: { ShmSize: 1048576 } })))), /"type":"tmpfs".*size=1048576/);
  const host = buildSpec(input({ HostConfig: { PidMode: 'host', UTSMode: 'host', IpcMode: 'host' } }));
  assert.deepEqual(nsTypes(host).sort(), ['mount', 'network']);
  assert.equal(host.hostname, undefined);
});
