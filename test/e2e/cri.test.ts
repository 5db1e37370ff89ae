// berthd as cri-dockerd drives it: the request sequence of a pod's life
// (startup, sandbox with `none` network and shareable IPC, an application
// container joining it by container:, exec with exit codes, one-shot stats,
// inspect?size=1, label-filtered lists, update, stop, remove), with the
// bodies cri-dockerd sends, checking every field it reads back. Then the
// RuntimeClass side: /info Runtimes keys, the alias reported by inspect, a
// reload adding and removing aliases.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTarFile, importBusybox } from '../fixtures/images.js';
import { cleanupWithContainers, ok, startBerthd, until, type BerthdHandle } from '../helpers/berthd.js';
import { criAppBody, criSandboxBody, PAUSE_ENTRYPOINT } from '../fixtures/cri.js';

const V = '/v1.44';
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const ZERO_TIME = '0001-01-01T00:00:00Z';
const runtimes = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'ip-forward': false,
  'dns-upstream': [],
  runtimes: { 'rc-handler': { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/sbin/runc' } }, ...extra },
});

/** Whether this process (and so berthd, started by it) may lower an oom_score_adj below its own. */
function oomFloor(): number | undefined {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  if ((BigInt(`0x${capEff}`) & (1n << 24n)) !== 0n) return undefined;
  return Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
}

describe('the Docker API as cri-dockerd uses it', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  let scratch: string;
  const json = async (method: string, path: string, body?: unknown, status = 200): Promise<any> => {
    const r = await d.api(method, `${V}${path}`, body);
    assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
    return r.body === '' ? undefined : JSON.parse(r.body);
  };
  const labelFilter = (label: string): string => `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: { [label]: true } }))}`;

  before(async () => {
    scratch = mkdtempSync('/tmp/berth-cri-');
    d = await startBerthd({ config: runtimes() });
    await importBusybox(d);
    const tar = await busyboxRootfsTarFile(d.root, 'pause-rootfs.tar');
    ok(await d.docker(['import', '-c', `ENTRYPOINT ${JSON.stringify(PAUSE_ENTRYPOINT)}`, tar, 'pause:local']), 'pause image');
  });

  after(async () => {
    await cleanupWithContainers(d);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('startup: _ping, version, info', async () => {
    const ping = await d.api('HEAD', '/_ping');
    assert.equal(ping.status, 200);
    const negotiated = String(ping.headers['api-version']);
    assert.ok(Number(negotiated) >= 1.44, `API-Version ${negotiated}`);
    const version = await json('GET', '/version');
    assert.ok(Number(version.ApiVersion) >= 1.42, 'cri-dockerd 0.4 needs 1.42');
    const info = await json('GET', '/info');
    assert.match(info.CgroupDriver, /^(cgroupfs|systemd)$/);
    assert.equal(info.DockerRootDir, d.dataRoot);
    assert.equal(info.LoggingDriver, 'json-file');
    assert.ok('runc' in info.Runtimes && 'rc-handler' in info.Runtimes, Object.keys(info.Runtimes).join(','));
    assert.equal(typeof info.DefaultRuntime, 'string');
  });

  it('a pod: sandbox, joined app container, exec, stats, sizes, lists, update, stop, remove', async () => {
    const pause = await json('GET', '/images/pause:local/json');
    assert.match(pause.Id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(pause.RepoTags.some((t: string) => t === 'pause:local' || t.endsWith('/pause:local')), pause.RepoTags.join(','));

    // Sandbox: cri-dockerd's body, with its upstream OomScoreAdj of -998.
    const sbBody = criSandboxBody('p1', 'pause:local', 'rc-handler');
    sbBody.HostConfig.OomScoreAdj = -998;
    sbBody.HostConfig.Sysctls = { 'kernel.shm_rmid_forced': '1' };
    const sb = await json('POST', '/containers/create?name=k8s_POD_p1_default_uid-p1_0', sbBody, 201);
    const floor = oomFloor();
    if (floor !== undefined && floor > -998) assert.ok(sb.Warnings.some((w: string) => w.includes('OomScoreAdj -998')), JSON.stringify(sb.Warnings));
    else assert.deepEqual(sb.Warnings, []);
    await json('POST', `/containers/${sb.Id}/start`, undefined, 204);
    const sbi = await json('GET', `/containers/${sb.Id}/json`);
    assert.equal(sbi.Name, '/k8s_POD_p1_default_uid-p1_0');
    assert.equal(sbi.State.Running, true);
    assert.ok(sbi.State.Pid > 0 && existsSync(`/proc/${sbi.State.Pid}/ns/net`));
    assert.ok(existsSync(sbi.ResolvConfPath), 'ResolvConfPath is a host file');
    assert.equal(sbi.HostConfig.Runtime, 'rc-handler');
    assert.equal(sbi.HostConfig.NetworkMode, 'none');
    assert.equal(sbi.HostConfig.IpcMode, 'shareable');
    assert.equal(sbi.HostConfig.OomScoreAdj, floor !== undefined && floor > -998 ? floor : -998);
    assert.equal(readFileSync(`/proc/${sbi.State.Pid}/oom_score_adj`, 'utf8').trim(), String(sbi.HostConfig.OomScoreAdj));
    assert.match(readFileSync(`/proc/${sbi.State.Pid}/status`, 'utf8'), /^NoNewPrivs:\s+1$/m, 'SecurityOpt no-new-privileges');
    assert.equal(sbi.Image, pause.Id);
    assert.match(sbi.Created, RFC3339_NANO);
    assert.match(sbi.State.StartedAt, RFC3339_NANO);
    assert.equal(sbi.State.FinishedAt, ZERO_TIME);
    assert.equal(sbi.Config.Labels['io.kubernetes.docker.type'], 'podsandbox');

    // Application container: every namespace joined, a bind mount with BindOptions, limits.
    const logDir = join(scratch, 'logs');
    const hostDir = join(scratch, 'data', 'made-by-create-mountpoint');
    const appBody = criAppBody(sb.Id, 'busybox', sbi.HostConfig.Runtime, join(logDir, 'c1.log'));
    Object.assign(appBody.HostConfig, {
      Mounts: [
        { Type: 'bind', Source: hostDir, Target: '/data', BindOptions: { CreateMountpoint: true, Propagation: 'rslave' } },
        { Type: 'bind', Source: scratch, Target: '/ro', ReadOnly: true, BindOptions: { ReadOnlyNonRecursive: true, Propagation: 'rprivate' } },
      ],
      Memory: 128 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      CpuShares: 256,
      CpuPeriod: 100_000,
      CpuQuota: 50_000,
      GroupAdd: ['1234'],
      Devices: [{ PathOnHost: '/dev/zero', PathInContainer: '/dev/zz', CgroupPermissions: 'rwm' }],
      MaskedPaths: ['/proc/kcore'],
      ReadonlyPaths: ['/proc/sys'],
    });
    const app = await json('POST', '/containers/create?name=k8s_c1_p1_default_uid-p1_0', appBody, 201);
    await json('POST', `/containers/${app.Id}/start`, undefined, 204);
    assert.ok(existsSync(hostDir), 'CreateMountpoint made the source');
    const ai = await json('GET', `/containers/${app.Id}/json`);
    for (const mode of ['NetworkMode', 'IpcMode', 'PidMode']) assert.equal(ai.HostConfig[mode], `container:${sb.Id}`);
    assert.equal(ai.HostConfig.Runtime, 'rc-handler');
    assert.ok(existsSync(ai.LogPath), 'the log file exists at start (cri-dockerd links it)');
    const mounts = Object.fromEntries(ai.Mounts.map((m: { Destination: string }) => [m.Destination, m]));
    assert.equal(mounts['/data'].Source, hostDir);
    assert.equal(mounts['/data'].RW, true);
    assert.equal(mounts['/data'].Propagation, 'rslave');
    assert.equal(mounts['/ro'].RW, false);
    assert.equal(readFileSync(`/proc/${ai.State.Pid}/oom_score_adj`, 'utf8').trim(), '0');
    assert.match(readFileSync(`/proc/${ai.State.Pid}/status`, 'utf8'), /^Seccomp:\s+0$/m, 'SecurityOpt seccomp=unconfined');

    // exec as crictl exec -s does: create, start, poll inspect for the exit code.
    const execIn = async (id: string, cmd: string[]): Promise<{ code: number; out: string }> => {
      const e = await json('POST', `/containers/${id}/exec`, { AttachStdout: true, AttachStderr: true, Cmd: cmd }, 201);
      const r = await d.api('POST', `${V}/exec/${e.Id}/start`, { Detach: false, Tty: false });
      assert.equal(r.status, 200, r.body);
      let state: any;
      await until('exec exit', async () => (state = await json('GET', `/exec/${e.Id}/json`)).Running === false, 20_000);
      return { code: state.ExitCode, out: r.body };
    };
    assert.equal((await execIn(app.Id, ['sh', '-c', 'exit 3'])).code, 3);
    assert.equal((await execIn(sb.Id, ['true'])).code, 0);
    const seen = await execIn(app.Id, ['sh', '-c', 'ps -o args; ls /proc/net/dev && id -G; touch /data/x; touch /ro/x']);
    assert.match(seen.out, /while :; do sleep 3600/, 'the sandbox\'s process is visible');
    assert.match(seen.out, /\b1234\b/, 'GroupAdd');
    assert.match(seen.out, /Read-only file system/);
    assert.equal(seen.code, 1);
    assert.ok(existsSync(join(hostDir, 'x')));
    assert.equal((await execIn(app.Id, ['sh', '-c', 'head -c 204800 /dev/zz > /big'])).code, 0, 'Devices');

    // Stats one-shot and the sizes the stats collector reads.
    const stats = await json('GET', `/containers/${app.Id}/stats?stream=0&one-shot=1`);
    assert.ok(stats.cpu_stats.cpu_usage.total_usage > 0, JSON.stringify(stats.cpu_stats));
    assert.ok(stats.memory_stats.usage > 0, JSON.stringify(stats.memory_stats));
    assert.equal(stats.memory_stats.limit, 128 * 1024 * 1024);
    const sized = await json('GET', `/containers/${app.Id}/json?size=1`);
    assert.ok(sized.SizeRw >= 204_800, `SizeRw ${sized.SizeRw}`);
    assert.ok(sized.SizeRootFs > sized.SizeRw, `SizeRootFs ${sized.SizeRootFs}`);
    assert.equal((await json('GET', `/containers/${app.Id}/json`)).SizeRw, undefined, 'only with size=1');

    // Lists as cri-dockerd filters and parses them.
    const sandboxes = await json('GET', labelFilter('io.kubernetes.docker.type=podsandbox'));
    assert.deepEqual(sandboxes.map((c: { Id: string }) => c.Id), [sb.Id]);
    assert.deepEqual(sandboxes[0].Names, ['/k8s_POD_p1_default_uid-p1_0']);
    assert.match(sandboxes[0].Status, /^Up /);
    assert.equal(sandboxes[0].ImageID, pause.Id);
    const inPod = await json('GET', labelFilter(`io.kubernetes.sandbox.id=${sb.Id}`));
    assert.deepEqual(inPod.map((c: { Id: string }) => c.Id), [app.Id]);
    const apps = await json('GET', labelFilter('io.kubernetes.docker.type=container'));
    assert.deepEqual(apps.map((c: { Id: string }) => c.Id), [app.Id]);
    const byImage = await json('GET', `/images/${apps[0].ImageID}/json`);
    assert.equal(byImage.Id, apps[0].ImageID, 'the image is found by its exact ID');
    assert.equal(ai.Image, apps[0].ImageID);
    const withSize = await json('GET', '/containers/json?all=1&size=1');
    const appRow = withSize.find((c: { Id: string }) => c.Id === app.Id);
    assert.ok(appRow.SizeRw >= 204_800 && appRow.SizeRootFs > appRow.SizeRw, JSON.stringify(appRow));
    const psSize = ok(await d.docker(['ps', '--size', '--filter', `id=${app.Id}`, '--format', '{{.Size}}']), 'ps --size').trim();
    assert.match(psSize, /^2\d\dkB \(virtual [\d.]+[kM]B\)$/, psSize);
    const images = await json('GET', '/images/json?all=1&shared-size=1');
    assert.ok(images.length >= 2 && images.every((i: { SharedSize: unknown; Id: string }) => typeof i.SharedSize === 'number' && i.Id.startsWith('sha256:')));

    // UpdateContainerResources.
    const upd = await json('POST', `/containers/${app.Id}/update`, { Memory: 96 * 1024 * 1024, MemorySwap: 96 * 1024 * 1024, CpuShares: 512 });
    assert.ok(Array.isArray(upd.Warnings));
    const after = await json('GET', `/containers/${app.Id}/json`);
    assert.equal(after.HostConfig.Memory, 96 * 1024 * 1024);
    assert.equal(after.HostConfig.CpuShares, 512);

    // A created, never started container reads as Created.
    const idle = await json('POST', '/containers/create?name=k8s_c2_p1_default_uid-p1_0', criAppBody(sb.Id, 'busybox', 'rc-handler', join(logDir, 'c2.log')), 201);
    const rows = await json('GET', labelFilter(`io.kubernetes.sandbox.id=${sb.Id}`));
    assert.match(rows.find((c: { Id: string }) => c.Id === idle.Id).Status, /^Created$/);

    // Stop (app, then the sandbox with t=0 as StopPodSandbox does on a timeout) and remove.
    await json('POST', `/containers/${app.Id}/stop?t=10`, undefined, 204);
    await json('POST', `/containers/${sb.Id}/stop?t=0`, undefined, 204);
    const stopped = await json('GET', labelFilter('io.kubernetes.docker.type=podsandbox'));
    assert.match(stopped[0].Status, /^Exited \(\d+\) /);
    const si = await json('GET', `/containers/${sb.Id}/json`);
    assert.match(si.State.FinishedAt, RFC3339_NANO);
    assert.notEqual(si.State.FinishedAt, ZERO_TIME);
    assert.equal(si.State.Running, false);
    for (const id of [idle.Id, app.Id, sb.Id]) await json('DELETE', `/containers/${id}?force=1&v=1`, undefined, 204);
    assert.deepEqual(await json('GET', labelFilter('io.kubernetes.docker.type=podsandbox')), []);
  });

  it('RuntimeClass: a reload adding an alias makes it usable; removing one leaves its running pod manageable', async () => {
    const created = await d.api('POST', `${V}/containers/create?name=k8s_POD_p2_default_uid-p2_0`, criSandboxBody('p2', 'pause:local', 'late-handler'));
    assert.equal(created.status, 400, created.body);
    d.writeConfig(runtimes({ 'late-handler': { runtimeType: 'io.containerd.runc.v2' } }));
    process.kill(d.pid, 'SIGHUP');
    await until('late-handler in /info', async () => 'late-handler' in (await json('GET', '/info')).Runtimes, 20_000);
    const sb = await json('POST', '/containers/create?name=k8s_POD_p2_default_uid-p2_0', criSandboxBody('p2', 'pause:local', 'late-handler'), 201);
    await json('POST', `/containers/${sb.Id}/start`, undefined, 204);
    const app = await json('POST', '/containers/create?name=k8s_c1_p2_default_uid-p2_0', criAppBody(sb.Id, 'busybox', 'late-handler', join(scratch, 'p2.log')), 201);
    await json('POST', `/containers/${app.Id}/start`, undefined, 204);

    // The alias goes away while the pod runs.
    d.writeConfig(runtimes());
    process.kill(d.pid, 'SIGHUP');
    await until('late-handler gone from /info', async () => !('late-handler' in (await json('GET', '/info')).Runtimes), 20_000);
    assert.equal((await json('GET', `/containers/${sb.Id}/json`)).HostConfig.Runtime, 'late-handler', 'inspect keeps the name asked for');
    const e = await json('POST', `/containers/${app.Id}/exec`, { AttachStdout: true, Cmd: ['true'] }, 201);
    assert.equal((await d.api('POST', `${V}/exec/${e.Id}/start`, { Detach: false, Tty: false })).status, 200);
    const stats = await json('GET', `/containers/${sb.Id}/stats?stream=0&one-shot=1`);
    assert.ok(stats.cpu_stats.cpu_usage.total_usage > 0);
    await json('POST', `/containers/${app.Id}/stop?t=1`, undefined, 204);
    await json('POST', `/containers/${sb.Id}/stop?t=1`, undefined, 204);
    for (const id of [app.Id, sb.Id]) await json('DELETE', `/containers/${id}?force=1&v=1`, undefined, 204);
  });
});
