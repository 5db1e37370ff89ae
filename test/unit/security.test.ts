// The security module's pure parts: the default profile generator, user
// profile resolution, capability sets and option parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkUlimits,
  clampOomScoreAdj,
  containerCapabilities,
  defaultSeccomp,
  kernelCapabilities,
  parseDeviceCgroupRule,
  parseSecurityOpts,
  resolveProfile,
  rlimits,
} from '../../src/security/index.js';
import { DEFAULT_CAPABILITIES } from '../../src/oci/index.js';

const allowed = (p: ReturnType<typeof defaultSeccomp>): Set<string> =>
  new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args === undefined).flatMap((r) => r.names));

test('default profile: EPERM by default, the usual calls allowed, the dangerous ones not', () => {
  const p = defaultSeccomp(DEFAULT_CAPABILITIES, 'x64');
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, 1);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const ok = allowed(p);
  for (const n of ['read', 'write', 'openat', 'execve', 'futex', 'mmap', 'rt_sigaction', 'chroot', 'statx', 'epoll_pwait2']) assert.ok(ok.has(n), n);
  for (const n of ['mount', 'umount2', 'unshare', 'setns', 'ptrace', 'kexec_load', 'init_module', 'bpf', 'keyctl', 'add_key', 'userfaultfd', 'reboot', 'swapon', 'clock_settime', 'open_by_handle_at', 'io_uring_setup', 'clone', 'clone3', 'socket', 'personality']) {
    assert.ok(!ok.has(n), n);
  }
  const clone = p.syscalls.find((r) => r.names.includes('clone'));
  assert.deepEqual(clone?.args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  const clone3 = p.syscalls.find((r) => r.names.includes('clone3'));
  assert.equal(clone3?.action, 'SCMP_ACT_ERRNO');
  assert.equal(clone3?.errnoRet, 38);
  assert.deepEqual(p.syscalls.find((r) => r.names.includes('socket'))?.args, [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }]);
  assert.equal(p.syscalls.filter((r) => r.names.includes('personality')).length, 5);
});

test('default profile: capabilities open their calls; CAP_SYS_ADMIN lifts the clone filters; built once per set', () => {
  const admin = defaultSeccomp([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], 'x64');
  const ok = allowed(admin);
  for (const n of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'ptrace', 'process_vm_readv', 'bpf', 'syslog']) assert.ok(ok.has(n), n);
  assert.ok(!ok.has('reboot'));
  assert.equal(admin.syscalls.find((r) => r.names.includes('clone3'))?.action, 'SCMP_ACT_ALLOW');
  assert.equal(defaultSeccomp([...DEFAULT_CAPABILITIES].reverse(), 'x64'), defaultSeccomp(DEFAULT_CAPABILITIES, 'x64'));
  assert.ok(Object.isFrozen(admin.syscalls[0]));
  assert.deepEqual(defaultSeccomp(DEFAULT_CAPABILITIES, 'arm64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(defaultSeccomp(DEFAULT_CAPABILITIES, 's390x').syscalls.find((r) => r.names.includes('clone'))?.args?.[0]?.index, 1);
});

test('user profiles: includes/excludes by capability, arch and kernel; archMap; errors', () => {
  const text = JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] }, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const p = resolveProfile(text, { capabilities: ['CAP_CHOWN'], kernel: '6.1.0', arch: 'x64' });
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  assert.deepEqual(p.syscalls.map((s) => s.names[0]), ['read', 'ptrace', 'arch_prctl', 'clone']);
  const q = resolveProfile(text, { capabilities: ['CAP_SYS_ADMIN'], kernel: '4.4.0', arch: 'arm64' });
  assert.deepEqual(q.syscalls.map((s) => s.names[0]), ['read', 'mount']);
  assert.throws(() => resolveProfile('{nope', { capabilities: [], kernel: '6.1' }), /Decoding seccomp profile failed/);
  assert.throws(() => resolveProfile('{"defaultAction":"SCMP_ACT_MAYBE"}', { capabilities: [], kernel: '6.1' }), /unknown action "SCMP_ACT_MAYBE"/);
  assert.throws(
    () => resolveProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ODD"}]}]}', { capabilities: [], kernel: '6.1' }),
    /known op/,
  );
});

test('capabilities: ALL, CAP_ prefix, drop ALL, kernel and bounding limits, unknown names', () => {
  assert.deepEqual(containerCapabilities({}), [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(containerCapabilities({ CapDrop: ['ALL'], CapAdd: ['net_admin', 'CAP_KILL'] }), ['CAP_NET_ADMIN', 'CAP_KILL']);
  assert.ok(!containerCapabilities({ CapDrop: ['chown'] }).includes('CAP_CHOWN'));
  assert.equal(containerCapabilities({ CapAdd: ['ALL'] }, { lastCap: 37 }).length, 38);
  // CAP_SYS_RESOURCE (24) missing from the daemon's bounding set is left out of --privileged
  const bounding = ((1n << 41n) - 1n) & ~(1n << 24n);
  const priv = containerCapabilities({ Privileged: true }, { lastCap: 40, bounding });
  assert.equal(priv.length, 40);
  assert.ok(!priv.includes('CAP_SYS_RESOURCE'));
  assert.deepEqual(kernelCapabilities(2), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH']);
  assert.throws(() => containerCapabilities({ CapAdd: ['FLY'] }), /invalid CapAdd: unknown capability: "CAP_FLY"/);
});

test('security options: dockerd spellings and errors', () => {
  assert.deepEqual(parseSecurityOpts(['seccomp=unconfined', 'no-new-privileges']), { labels: [], seccomp: { kind: 'unconfined' }, noNewPrivileges: true });
  assert.deepEqual(parseSecurityOpts(['seccomp=builtin']).seccomp, { kind: 'builtin' });
  assert.deepEqual(parseSecurityOpts(['seccomp={"a":1}']).seccomp, { kind: 'profile', json: '{"a":1}' });
  assert.equal(parseSecurityOpts(['no-new-privileges=false']).noNewPrivileges, false);
  assert.deepEqual(parseSecurityOpts(['label=disable', 'label:user:x', 'apparmor=p']), { labels: ['disable', 'user:x'], apparmor: 'p' });
  assert.throws(() => parseSecurityOpts(['bogus']), /invalid --security-opt 1: "bogus"/);
  assert.throws(() => parseSecurityOpts(['foo=bar']), /invalid --security-opt 2: "foo=bar"/);
  assert.throws(() => parseSecurityOpts(['no-new-privileges=perhaps']), /invalid --security-opt 2/);
});

test('ulimits and device rules', () => {
  const own = checkUlimits([{ Name: 'nofile', Soft: 100, Hard: 200 }]);
  assert.deepEqual(rlimits([{ Name: 'nofile', Soft: 1, Hard: 1 }, { Name: 'nproc', Soft: 5, Hard: 5 }], own), [
    { type: 'RLIMIT_NOFILE', hard: 200, soft: 100 },
    { type: 'RLIMIT_NPROC', hard: 5, soft: 5 },
  ]);
  assert.throws(() => checkUlimits([{ Name: 'nofile', Soft: 3, Hard: 2 }]), /3 > 2/);
  assert.deepEqual(rlimits([], checkUlimits([{ Name: 'core', Soft: -1, Hard: -1 }, { Name: 'nofile', Soft: 10, Hard: -1 }])), [
    { type: 'RLIMIT_CORE', hard: 2 ** 64, soft: 2 ** 64 },
    { type: 'RLIMIT_NOFILE', hard: 2 ** 64, soft: 10 },
  ]);
  assert.throws(() => checkUlimits([{ Name: 'core', Soft: -1, Hard: 5 }]), /-1 > 5/);
  assert.throws(() => checkUlimits([{ Name: 'core', Soft: -2, Hard: -2 }]), /-1 for unlimited/);
  assert.deepEqual(parseDeviceCgroupRule('c 1:3 mr'), { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' });
  assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', access: 'rwm' });
  assert.throws(() => parseDeviceCgroupRule('c 1 rwm'), /invalid device cgroup format/);
});

test('secureSpec: seccomp choice, privileged devices, mapped devices, blkio, init, ulimits', async () => {
  const { secureSpec } = await import('../../src/security/index.js');
  const spec = (): { process: { args: string[]; capabilities: { bounding: string[]; effective: string[]; permitted: string[] }; noNewPrivileges: boolean; [k: string]: unknown }; mounts: { destination: string; type: string; source: string; options: string[] }[]; linux: Record<string, unknown> } => ({
    process: { args: ['sh'], capabilities: { bounding: [], effective: [], permitted: [] }, noNewPrivileges: false },
    mounts: [],
    linux: { resources: { devices: [{ allow: false, access: 'rwm' }] } },
  });
  const facts = {
    capabilityLimits: { lastCap: 40 },
    kernel: '6.1.0',
    apparmor: false,
    blkioWeight: true,
    hostDevices: () => [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }],
    mapDevice: () => ({
      devices: [{ path: '/dev/xvda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }],
      rules: [{ allow: true, type: 'b', major: 8, minor: 0, access: 'r' }],
    }),
    deviceNumber: () => ({ major: 8, minor: 0 }),
  };
  const plain = spec();
  secureSpec(plain, {}, {}, facts);
  assert.equal((plain.linux.seccomp as { defaultAction: string }).defaultAction, 'SCMP_ACT_ERRNO');
  assert.deepEqual(plain.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);

  const priv = spec();
  secureSpec(priv, { Privileged: true }, { seccompProfile: undefined }, facts);
  assert.equal(priv.linux.seccomp, undefined);
  assert.ok((priv.linux.devices as { path: string }[]).some((d) => d.path === '/dev/kmsg'));
  assert.equal(priv.process.capabilities.bounding.length, 41);

  const rich = spec();
  secureSpec(
    rich,
    {
      Devices: [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' }],
      DeviceCgroupRules: ['c 42:* rmw'],
      BlkioWeight: 300,
      BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }],
      Init: true,
      Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
      SecurityOpt: ['no-new-privileges'],
    },
    { initBinary: '/usr/bin/tini-static', defaultUlimits: [{ Name: 'core', Soft: 0, Hard: 0 }] },
    facts,
  );
  assert.deepEqual(rich.process.args, ['/sbin/docker-init', '--', 'sh']);
  assert.deepEqual(rich.mounts, [{ destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] }]);
  assert.equal(rich.process.noNewPrivileges, true);
  assert.deepEqual(rich.process.rlimits, [{ type: 'RLIMIT_CORE', hard: 0, soft: 0 }, { type: 'RLIMIT_NOFILE', hard: 20, soft: 10 }]);
  const res = rich.linux.resources as { devices: unknown[]; blockIO: unknown };
  assert.deepEqual(res.devices.slice(1), [{ allow: true, type: 'b', major: 8, minor: 0, access: 'r' }, { allow: true, type: 'c', major: 42, access: 'rmw' }]);
  assert.deepEqual(res.blockIO, { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] });
  assert.ok((rich.linux.devices as { path: string }[]).some((d) => d.path === '/dev/xvda'));

  const noWeight = spec();
  secureSpec(noWeight, { BlkioWeight: 300 }, {}, { ...facts, blkioWeight: false });
  assert.equal((noWeight.linux.resources as { blockIO?: unknown }).blockIO, undefined);
  assert.throws(() => secureSpec(spec(), { Init: true }, {}, facts), /docker-init binary not found/);
  const hostPid = spec();
  secureSpec(hostPid, { Init: true, PidMode: 'host' }, { initBinary: '/x' }, facts);
  assert.deepEqual(hostPid.process.args, ['sh']);
});

test('OomScoreAdj: dockerd\'s range, and the closest value berthd may set without CAP_SYS_RESOURCE', () => {
  assert.deepEqual(clampOomScoreAdj(-998, undefined), { value: -998 });
  assert.deepEqual(clampOomScoreAdj(500, 0), { value: 500 });
  const clamped = clampOomScoreAdj(-998, -500);
  assert.equal(clamped.value, -500);
  assert.match(clamped.warning ?? '', /OomScoreAdj -998 is below the daemon's own oom_score_adj \(-500\).*CAP_SYS_RESOURCE: -500 is applied instead/);
  assert.throws(() => clampOomScoreAdj(-1001, undefined), /^Error: Invalid value -1001, range for oom score adj is \[-1000, 1000\]$|range for oom score adj is \[-1000, 1000\]/);
});
