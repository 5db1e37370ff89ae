// Resource limits, ulimits, sysctls, devices and groups, read back inside
// real containers (cgroup files, /proc/self/status, ulimit), and the daemon's
// security defaults from daemon.json.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { berthdWithBusybox, importBusybox } from '../fixtures/images.js';
import { ok, startBerthd, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

describe('resource limits and process settings', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const run = async (...args: string[]): Promise<string> => ok(await docker('run', '--rm', ...args), args.join(' '));
  const sh = (opts: string[], script: string): Promise<string> => run(...opts, 'busybox', 'sh', '-c', script);

  berthdWithBusybox((h) => {
    d = h;
  });

  it('memory: --memory, --memory-swap, --memory-reservation, --oom-kill-disable', async () => {
    const opts = ['--memory', '64m', '--memory-swap', '96m', '--memory-reservation', '32m', '--oom-kill-disable'];
    if (V2) {
      assert.equal(await sh(opts, 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max /sys/fs/cgroup/memory.low'), `${64 << 20}\n${32 << 20}\n${32 << 20}\n`);
    } else {
      const out = await sh(opts, 'cd /sys/fs/cgroup/memory && cat memory.limit_in_bytes memory.memsw.limit_in_bytes memory.soft_limit_in_bytes; grep oom_kill_disable memory.oom_control');
      assert.equal(out, `${64 << 20}\n${96 << 20}\n${32 << 20}\noom_kill_disable 1\n`);
    }
  });

  it('cpu: --cpus, --cpu-shares, --cpuset-cpus; pids: --pids-limit', async () => {
    const opts = ['--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '42'];
    if (V2) {
      assert.equal(await sh(opts, 'cd /sys/fs/cgroup && cat cpu.max cpuset.cpus pids.max'), '50000 100000\n0\n42\n');
    } else {
      const out = await sh(opts, 'cd /sys/fs/cgroup && cat cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares cpuset/cpuset.cpus pids/pids.max');
      assert.equal(out, '50000\n100000\n512\n0\n42\n');
    }
    // the pids limit holds: forks beyond it fail
    const r = await docker('run', '--rm', '--pids-limit', '5', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait');
    assert.match(r.stderr, /can't fork|Resource temporarily unavailable/);
  });

  it('--ulimit, --shm-size, --oom-score-adj, --group-add, --sysctl', async () => {
    const out = await sh(
      ['--ulimit', 'nofile=512:1024', '--ulimit', 'nproc=77', '--shm-size', '16m', '--oom-score-adj', '321', '--group-add', '1234', '--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmax=12345678'],
      'ulimit -n; ulimit -Hn; ulimit -u; df -k /dev/shm | tail -1 | awk "{print \\$2}"; cat /proc/self/oom_score_adj; grep Groups /proc/self/status; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax',
    );
    assert.match(out, /^512\n1024\n77\n16384\n321\nGroups:\t.*\b1234 \n1\n12345678\n$/);
    const bad = await docker('run', '--rm', '--ulimit', 'nofile=20:10', 'busybox', 'true');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /soft limit must be less than or equal to hard limit|invalid ulimit/);
    const res = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Sysctls: { 'vm.swappiness': '1' } } });
    assert.equal(res.status, 400);
    assert.match(res.body, /sysctl \\"vm.swappiness\\" is not in a separate kernel namespace/);
    const host = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } } });
    assert.equal(host.status, 400);
    const ul = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Ulimits: [{ Name: 'nofiles', Soft: 1, Hard: 1 }] } });
    assert.equal(ul.status, 400);
    assert.match(ul.body, /invalid ulimit type: nofiles/);
    assert.equal(ok(await docker('ps', '-aq'), 'ps'), '');
  });

  it('--ulimit -1 is unlimited (RLIM_INFINITY in the spec), for the container and its execs', async () => {
    assert.equal(await sh(['--ulimit', 'core=-1', '--ulimit', 'stack=-1:-1'], 'ulimit -c; ulimit -Hc; ulimit -s; ulimit -Hs'), 'unlimited\nunlimited\nunlimited\nunlimited\n');
    // An exec's process is built from the init process read back from containerd.
    const name = 'ulimit-unlimited';
    ok(await docker('run', '-d', '--name', name, '--ulimit', 'core=-1:-1', 'busybox', 'sleep', '300'), 'run -d');
    try {
      assert.equal(ok(await docker('exec', name, 'sh', '-c', 'ulimit -c; ulimit -Hc'), 'exec'), 'unlimited\nunlimited\n');
      assert.equal(ok(await docker('inspect', '-f', '{{json .HostConfig.Ulimits}}', name), 'inspect'), '[{"Name":"core","Hard":-1,"Soft":-1}]\n');
    } finally {
      await docker('rm', '-f', name);
    }
    // Accepted as dockerd accepts it; the kernel caps nofile at fs.nr_open, so runc refuses it at start, as under dockerd.
    const nofile = await docker('run', '--rm', '--ulimit', 'nofile=-1', 'busybox', 'true');
    assert.notEqual(nofile.code, 0);
    assert.match(nofile.stderr, /error setting rlimit type 7: operation not permitted/);
    const below = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Ulimits: [{ Name: 'core', Soft: -2, Hard: -2 }] } });
    assert.equal(below.status, 400);
    const mixed = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Ulimits: [{ Name: 'core', Soft: -1, Hard: 100 }] } });
    assert.equal(mixed.status, 400);
    assert.match(mixed.body, /soft limit must be less than or equal to hard limit/);
    await docker('container', 'prune', '-f');
  });

  it('--device (renamed, with permissions) and --device-cgroup-rule', async () => {
    const out = await sh(['--device', '/dev/loop-control:/dev/lc:rw'], 'ls -l /dev/lc | cut -c1; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null | grep -c "c 10:237 rw" || true');
    assert.match(out, /^c\n/);
    if (!V2) assert.equal(out, 'c\n1\n');
    const missing = await docker('run', '--rm', '--device', '/dev/nope', 'busybox', 'true');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /error gathering device information while adding custom device "\/dev\/nope": no such file or directory/);
    // a rule lets a node made with mknod be opened; without it the device cgroup refuses
    const script = 'mknod /tmp/l b 7 0 && (exec 3</tmp/l) 2>/dev/null && echo opened || echo refused';
    assert.equal(await sh(['--device-cgroup-rule', 'b 7:* rwm'], script), 'opened\n');
    assert.equal(await sh([], script), 'refused\n');
  });

  it('settings berth cannot apply are refused or discarded with a printed warning, never dropped silently', async () => {
    const iso = await docker('create', '--isolation', 'hyperv', 'busybox', 'true');
    assert.notEqual(iso.code, 0);
    assert.match(iso.stderr, /Invalid isolation: "hyperv" - linux only supports 'default'/);
    const userns = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { UsernsMode: 'private' } });
    assert.equal(userns.status, 400);
    assert.match(userns.body, /user namespace remapping is not enabled/);
    const driver = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { VolumeDriver: 'nfs' } });
    assert.equal(driver.status, 404);
    assert.match(driver.body, /error looking up volume plugin nfs: plugin \\"nfs\\" not found/);
    // the CLI refuses --cpu-count itself; other clients send it
    const warned = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { CpuCount: 2 } });
    assert.equal(warned.status, 201);
    const created = JSON.parse(warned.body) as { Id: string; Warnings: string[] };
    assert.deepEqual(created.Warnings, ['CpuCount applies only to Windows containers: discarded']);
    ok(await docker('rm', created.Id), 'rm');
    // honoured: annotations are kept and reach the runtime's spec
    const id = ok(await docker('create', '--annotation', 'org.example/team=infra', 'busybox', 'true'), 'create').trim();
    assert.equal(ok(await docker('inspect', '-f', '{{json .HostConfig.Annotations}}', id), 'inspect').trim(), '{"org.example/team":"infra"}');
    ok(await docker('rm', id), 'rm');
    const kmem = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { KernelMemoryTCP: 16 << 20 } });
    assert.equal(kmem.status, 201);
    const k = JSON.parse(kmem.body) as { Id: string; Warnings: string[] };
    assert.match(k.Warnings.join('\n'), /does not apply KernelMemoryTCP, discarded/);
    ok(await docker('rm', k.Id), 'rm');
  });
});

describe('daemon.json security defaults', { timeout: 120_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);

  before(async () => {
    d = await startBerthd({
      config: { 'seccomp-profile': 'unconfined', 'no-new-privileges': true, 'default-ulimits': { nofile: { Name: 'nofile', Soft: 300, Hard: 400 } }, init: true },
    });
    await importBusybox(d);
  });

  after(async () => {
    await d?.cleanup();
  });

  it('applies seccomp-profile, no-new-privileges, default-ulimits and init; containers override them', async () => {
    const script = 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -s "\\t" " "; ulimit -n; cat /proc/1/cmdline | tr "\\0" " "; echo';
    const out = ok(await docker('run', '--rm', 'busybox', 'sh', '-c', script), 'run');
    assert.equal(out, `NoNewPrivs: 1\nSeccomp: 0\n300\n/sbin/docker-init -- sh -c ${script} \n`);
    const own = ok(
      await docker('run', '--rm', '--init=false', '--ulimit', 'nofile=50:60', '--security-opt', 'seccomp=builtin', '--security-opt', 'no-new-privileges=false', 'busybox', 'sh', '-c', script),
      'run',
    );
    assert.equal(own, `NoNewPrivs: 0\nSeccomp: 2\n50\nsh -c ${script} \n`);
    assert.match(ok(await docker('info', '-f', '{{json .SecurityOptions}}'), 'info'), /"name=seccomp,profile=unconfined","name=no-new-privileges"/);
  });
});
