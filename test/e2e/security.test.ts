// Security defaults and options inside real containers: the default seccomp
// profile (a matrix of syscalls), capabilities, --privileged, --init,
// no-new-privileges and the bad-input answers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTarFile } from '../fixtures/images.js';
import { ok, startBerthd, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

// glibc programs from the host (perl-base and coreutils are essential
// packages): perl's syscall() probes single syscalls, sort --parallel makes
// threads through clone3 and its clone fallback.
const GLIBC_FILES: Record<string, Buffer> = {
  '/usr/bin/perl': readFileSync('/usr/bin/perl'),
  '/usr/bin/gsort': readFileSync('/usr/bin/sort'),
  '/lib64/ld-linux-x86-64.so.2': readFileSync('/lib64/ld-linux-x86-64.so.2'),
  '/lib/x86_64-linux-gnu/libc.so.6': readFileSync('/lib/x86_64-linux-gnu/libc.so.6'),
  '/lib/x86_64-linux-gnu/libm.so.6': readFileSync('/lib/x86_64-linux-gnu/libm.so.6'),
  '/lib/x86_64-linux-gnu/libcrypt.so.1': readFileSync('/lib/x86_64-linux-gnu/libcrypt.so.1'),
};

// x86_64 syscall numbers
const SYS = { ptrace: 101, clone3: 435, socket: 41, personality: 135, unshare: 272 };
/** perl prints "<return> <errno>" of one syscall. */
const probe = (nr: number, ...args: number[]): string[] => [
  'perl',
  '-e',
  `$r = syscall(${[nr, ...args].join(', ')}); print $r, " ", $! + 0, "\\n"`,
];

const x86 = process.arch === 'x64';

describe('security options', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const run = async (...args: string[]): Promise<string> => ok(await docker('run', '--rm', ...args), args.join(' '));

  before(async () => {
    d = await startBerthd();
    const tar = await busyboxRootfsTarFile(d.root, 'rootfs.tar', x86 ? GLIBC_FILES : {});
    ok(await docker('import', '-c', 'CMD ["sh"]', tar, 'sec'), 'import');
  });

  after(async () => {
    await d?.cleanup();
  });

  it('the default profile filters every container (Seccomp: 2), unconfined and --privileged do not', async () => {
    assert.match(await run('sec', 'grep', 'Seccomp:', '/proc/self/status'), /Seccomp:\s+2/);
    assert.match(await run('--security-opt', 'seccomp=unconfined', 'sec', 'grep', 'Seccomp:', '/proc/self/status'), /Seccomp:\s+0/);
    assert.match(await run('--privileged', 'sec', 'grep', 'Seccomp:', '/proc/self/status'), /Seccomp:\s+0/);
    assert.match(await run('--privileged', '--security-opt', 'seccomp=builtin', 'sec', 'grep', 'Seccomp:', '/proc/self/status'), /Seccomp:\s+2/);
  });

  it('seccomp matrix: shell and threads work; unshare, mount, ptrace, AF_VSOCK and odd personas are denied; unconfined allows', { skip: !x86 }, async () => {
    assert.equal(await run('sec', 'sh', '-c', 'echo $((6*7))'), '42\n');
    // threads: clone3 answers ENOSYS, glibc falls back to clone
    assert.equal(await run('sec', 'sh', '-c', 'seq 1 200000 | gsort -n -r --parallel=2 -S 20M | head -1'), '200000\n');
    assert.equal(await run('sec', ...probe(SYS.clone3, 0, 0)), '-1 38\n');
    assert.equal(await run('sec', ...probe(SYS.unshare, 0x40000000)), '-1 1\n');
    const mount = ['perl', '-e', 'my ($s, $t, $f) = ("none", "/tmp", "tmpfs"); $r = syscall(165, $s, $t, $f, 0, 0); print $r, " ", $! + 0, "\\n"'];
    assert.equal(await run('sec', ...mount), '-1 1\n');
    assert.equal(await run('--cap-add', 'SYS_ADMIN', 'sec', ...mount), '0 0\n');
    // PTRACE_TRACEME always succeeds in the kernel: EPERM can only be the filter's, without CAP_SYS_PTRACE
    assert.equal(await run('sec', ...probe(SYS.ptrace, 0, 0, 0, 0)), '-1 1\n');
    assert.equal(await run('--cap-add', 'SYS_PTRACE', 'sec', ...probe(SYS.ptrace, 0, 0, 0, 0)), '0 0\n');
    // socket(AF_VSOCK) denied, AF_UNIX allowed
    assert.equal(await run('sec', ...probe(SYS.socket, 40, 1, 0)), '-1 1\n');
    assert.doesNotMatch(await run('sec', ...probe(SYS.socket, 1, 1, 0)), /^-1/);
    // personality: query allowed, an odd persona not
    assert.doesNotMatch(await run('sec', ...probe(SYS.personality, 0xffffffff)), /^-1/);
    assert.equal(await run('sec', ...probe(SYS.personality, 0x0400000)), '-1 1\n');
    // unconfined: the same calls get past seccomp (and fail later only for lack of capabilities)
    const free = ['--security-opt', 'seccomp=unconfined', 'sec'];
    assert.notEqual(await run(...free, ...probe(SYS.clone3, 0, 0)), '-1 38\n');
    assert.notEqual(await run(...free, ...probe(SYS.socket, 40, 1, 0)), '-1 1\n');
    assert.equal(await run('--security-opt', 'seccomp=unconfined', '--cap-add', 'SYS_ADMIN', 'sec', ...probe(SYS.unshare, 0x40000000)), '0 0\n');
    // CAP_SYS_ADMIN also opens the gated calls in the default profile
    assert.equal(await run('--cap-add', 'SYS_ADMIN', 'sec', ...probe(SYS.unshare, 0x40000000)), '0 0\n');
  });

  it('a profile from the CLI (a file) is applied; bad ones are refused with 4xx', async () => {
    const file = `${d.root}/deny-mkdir.json`;
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify(profile));
    const r = await docker('run', '--rm', '--security-opt', `seccomp=${file}`, 'sec', 'mkdir', '/tmp/x');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation not permitted/);
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_NOPE' }));
    const bad = await docker('create', '--security-opt', `seccomp=${file}`, 'sec', 'true');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown action "SCMP_ACT_NOPE"/);
    const res = await d.api('POST', '/containers/create', { Image: 'sec', HostConfig: { SecurityOpt: ['seccomp={nope'] } });
    assert.equal(res.status, 400);
    assert.match(res.body, /Decoding seccomp profile failed/);
    const unknown = await docker('create', '--security-opt', 'foo=bar', 'sec', 'true');
    assert.match(unknown.stderr, /invalid --security-opt 2: "foo=bar"/);
    // apparmor and label are accepted on a host without those LSMs
    assert.equal(await run('--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable', 'sec', 'echo', 'ok'), 'ok\n');
  });

  it('capabilities: defaults, --cap-add/--cap-drop with ALL and CAP_ prefixes, unknown refused', async () => {
    const capEff = async (...opts: string[]): Promise<bigint> =>
      BigInt(`0x${(await run(...opts, 'sec', 'grep', 'CapEff', '/proc/self/status')).split(/\s+/)[1]}`);
    assert.equal(await capEff(), 0xa80425fbn); // Docker's default set
    assert.equal(await capEff('--cap-drop', 'ALL'), 0n);
    assert.equal(await capEff('--cap-drop', 'ALL', '--cap-add', 'CAP_NET_ADMIN'), 1n << 12n);
    assert.equal((await capEff('--cap-add', 'sys_admin')) & (1n << 21n), 1n << 21n);
    assert.equal((await capEff('--cap-drop', 'chown')) & 1n, 0n);
    // every capability of the kernel that berthd itself holds in its bounding set
    const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    const bounding = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
    const all = ((1n << BigInt(lastCap + 1)) - 1n) & bounding;
    assert.equal(await capEff('--cap-add', 'ALL'), all);
    assert.equal(await capEff('--privileged'), all);
    const bad = await docker('create', '--cap-add', 'NOT_A_CAP', 'sec', 'true');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown capability: "CAP_NOT_A_CAP"/);
  });

  it('--privileged: every kernel capability, host devices, no masked paths, rw /sys', async () => {
    const out = await run('--privileged', 'sec', 'sh', '-c', 'ls /dev/kmsg >/dev/null && echo devs; head -c1 /proc/timer_list | wc -c; grep -c " /sys sysfs rw," /proc/mounts');
    assert.equal(out, 'devs\n1\n1\n');
    const plain = await run('sec', 'sh', '-c', 'ls /dev/kmsg 2>/dev/null || echo none; head -c1 /proc/timer_list | wc -c; grep -c " /sys sysfs ro," /proc/mounts');
    assert.equal(plain, 'none\n0\n1\n');
  });

  it('--init runs tini as PID 1 in front of the command; inspect keeps the user command', async () => {
    const out = await run('--init', 'sec', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; ps -o pid,comm | grep -c sh');
    assert.match(out, /^\/sbin\/docker-init -- sh -c /);
    ok(await docker('create', '--name', 'withinit', '--init', 'sec', 'sleep', '1'), 'create');
    assert.equal(ok(await docker('inspect', '-f', '{{.Path}} {{.Args}} {{.HostConfig.Init}}', 'withinit'), 'inspect'), 'sleep [1] true\n');
    ok(await docker('rm', 'withinit'), 'rm');
    const info = ok(await docker('info', '-f', '{{.InitBinary}} {{.InitCommit.ID}} {{json .SecurityOptions}}'), 'info');
    assert.match(info, /^docker-init (v0\.19\.0|[0-9a-f]{7,}) \["name=seccomp,profile=builtin"/);
  });

  it('no-new-privileges', async () => {
    assert.match(await run('sec', 'grep', 'NoNewPrivs', '/proc/self/status'), /NoNewPrivs:\s+0/);
    assert.match(await run('--security-opt', 'no-new-privileges', 'sec', 'grep', 'NoNewPrivs', '/proc/self/status'), /NoNewPrivs:\s+1/);
    assert.match(await run('--security-opt', 'no-new-privileges=true', 'sec', 'grep', 'NoNewPrivs', '/proc/self/status'), /NoNewPrivs:\s+1/);
    const bad = await docker('create', '--security-opt', 'no-new-privileges=maybe', 'sec', 'true');
    assert.match(bad.stderr, /invalid --security-opt 2: "no-new-privileges=maybe"/);
  });
});
