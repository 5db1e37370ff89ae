// The real client, where it is present: crictl → cri-dockerd → berthd with an
// aliased runtime and a bridge CNI configuration from Debian's plugins. It
// runs only when CRI_DOCKERD and CRICTL name the two binaries (built on the
// machine from their public sources; they are no part of this repository),
// and says so when it skips.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTarFile } from '../fixtures/images.js';
import { PAUSE_ENTRYPOINT } from '../fixtures/cri.js';
import { cleanupWithContainers, ok, runCommand, sleep, startBerthd, until, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

const CRI_DOCKERD = process.env.CRI_DOCKERD ?? '';
const CRICTL = process.env.CRICTL ?? '';
const CNI_DIR = '/usr/lib/cni';
const BRIDGE = 'bcri17';
const SUBNET = '10.250.79.0/24';
const ALIAS = 'pod-runc';

function skipReason(): string | false {
  if (CRI_DOCKERD === '' || CRICTL === '') return 'set CRI_DOCKERD and CRICTL to the cri-dockerd and crictl binaries to run it';
  for (const bin of [CRI_DOCKERD, CRICTL, join(CNI_DIR, 'bridge'), join(CNI_DIR, 'host-local'), join(CNI_DIR, 'loopback')]) {
    if (!existsSync(bin)) return `${bin} is missing`;
  }
  return false;
}

const skip = skipReason();
if (skip !== false) process.stdout.write(`# cri-dockerd end-to-end test skipped: ${skip}\n`);

describe('crictl through cri-dockerd against berthd', { timeout: 600_000, skip }, () => {
  let d: BerthdHandle;
  let tmp: string;
  let criSock: string;
  let criDockerd: ChildProcess | undefined;
  let criOut = '';
  const crictl = (...args: string[]): Promise<CommandResult> =>
    runCommand(CRICTL, ['--runtime-endpoint', `unix://${criSock}`, '--image-endpoint', `unix://${criSock}`, '--timeout', '60s', ...args], process.env, { timeoutMs: 120_000 });

  before(async () => {
    tmp = mkdtempSync('/tmp/berth-crictl-');
    criSock = join(tmp, 'cri.sock');
    d = await startBerthd({ config: { 'ip-forward': false, 'dns-upstream': [], runtimes: { [ALIAS]: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/sbin/runc' } } } } });
    const tar = await busyboxRootfsTarFile(d.root);
    ok(await d.docker(['import', '-c', `ENTRYPOINT ${JSON.stringify(PAUSE_ENTRYPOINT)}`, tar, 'pause:local']), 'pause image');
    ok(await d.docker(['import', '-c', 'CMD ["/bin/sh"]', tar, 'busybox:local']), 'busybox image');
    const netd = join(tmp, 'net.d');
    mkdirSync(netd);
    writeFileSync(join(netd, '10-bridge.conflist'), JSON.stringify({
      cniVersion: '0.4.0',
      name: 'crinet',
      plugins: [{ type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: join(tmp, 'ipam') } }],
    }));
    criDockerd = spawn(CRI_DOCKERD, [
      '--docker-endpoint', `unix://${d.socket}`, '--container-runtime-endpoint', `unix://${criSock}`,
      '--cri-dockerd-root-directory', join(tmp, 'root'), '--network-plugin', 'cni', '--cni-bin-dir', CNI_DIR,
      '--cni-conf-dir', netd, '--cni-cache-dir', join(tmp, 'cni-cache'), '--pod-infra-container-image', 'pause:local',
      '--streaming-bind-addr', '127.0.0.1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    criDockerd.stdout?.on('data', (c: Buffer) => (criOut += c.toString()));
    criDockerd.stderr?.on('data', (c: Buffer) => (criOut += c.toString()));
    await until('cri-dockerd answers', async () => (await crictl('version')).code === 0, 60_000);
  });

  after(async () => {
    if (criDockerd?.pid !== undefined && criDockerd.exitCode === null) {
      criDockerd.kill('SIGTERM');
      await new Promise((r) => criDockerd?.once('exit', r));
    }
    await cleanupWithContainers(d);
    await runCommand('ip', ['link', 'del', BRIDGE]).catch(() => undefined);
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it(`runp --runtime ${ALIAS}, create, start, exec, logs, stats, stopp, rmp`, async () => {
    const logs = join(tmp, 'logs');
    mkdirSync(logs);
    const pod = join(tmp, 'pod.json');
    writeFileSync(pod, JSON.stringify({ metadata: { name: 'p1', namespace: 'default', uid: 'uid-p1', attempt: 0 }, log_directory: logs, linux: {} }));
    const ctr = join(tmp, 'ctr.json');
    writeFileSync(ctr, JSON.stringify({
      metadata: { name: 'c1' },
      image: { image: 'busybox:local' },
      command: ['/bin/sh', '-c', 'echo hello; i=0; while :; do echo tick $i; i=$((i+1)); sleep 1; done'],
      log_path: 'c1.log',
      linux: {},
    }));
    const podId = ok(await crictl('runp', '--runtime', ALIAS, pod), `runp\n${criOut}`).trim();
    const sandbox = JSON.parse(ok(await d.docker(['inspect', podId]), 'inspect sandbox')) as Array<{ HostConfig: { Runtime: string } }>;
    assert.equal(sandbox[0]!.HostConfig.Runtime, ALIAS);
    const status = JSON.parse(ok(await crictl('inspectp', '-o', 'json', podId), 'inspectp')) as { status: { state: string; runtimeHandler?: string; network?: { ip?: string } } };
    assert.equal(status.status.state, 'SANDBOX_READY');
    if (status.status.runtimeHandler !== undefined) assert.equal(status.status.runtimeHandler, ALIAS);
    assert.ok(status.status.network?.ip?.startsWith('10.250.79.'), JSON.stringify(status.status.network));

    const ctrId = ok(await crictl('create', podId, ctr, pod), `create\n${criOut}`).trim();
    ok(await crictl('start', ctrId), 'start');
    const exec = await crictl('exec', '-s', ctrId, 'sh', '-c', 'exit 3');
    // crictl exec -s fails with the container command's exit code in its message.
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, /exited with 3/);
    assert.match(ok(await crictl('exec', ctrId, 'sh', '-c', 'ps -o args'), 'exec ps'), /sleep 3600/, 'the app sees the sandbox\'s processes');
    await until('log lines', async () => /hello/.test((await crictl('logs', ctrId)).stdout), 30_000);
    const stats = JSON.parse(ok(await crictl('stats', '-o', 'json', ctrId), `stats\n${criOut}`)) as { stats: Array<{ cpu?: unknown; memory?: unknown; writableLayer?: { usedBytes?: { value?: string } } }> };
    assert.equal(stats.stats.length, 1);
    assert.ok(stats.stats[0]!.writableLayer !== undefined, JSON.stringify(stats));
    assert.equal(criDockerd?.exitCode, null, `cri-dockerd still runs\n${criOut}`);

    ok(await crictl('stopp', podId), 'stopp');
    ok(await crictl('rmp', podId), 'rmp');
    assert.equal(ok(await d.docker(['ps', '-aq']), 'ps').trim(), '');
  });

  it('a runtime added by a reload is a handler once cri-dockerd\'s 60 s /info cache expired', async () => {
    const pod = join(tmp, 'pod2.json');
    writeFileSync(pod, JSON.stringify({ metadata: { name: 'p2', namespace: 'default', uid: 'uid-p2', attempt: 0 }, log_directory: join(tmp, 'logs'), linux: {} }));
    d.writeConfig({ 'ip-forward': false, 'dns-upstream': [], runtimes: { [ALIAS]: { runtimeType: 'io.containerd.runc.v2' }, 'late-handler': { runtimeType: 'io.containerd.runc.v2' } } });
    process.kill(d.pid, 'SIGHUP');
    await until('late-handler in docker info', async () => (await d.docker(['info', '--format', '{{json .Runtimes}}'])).stdout.includes('late-handler'), 20_000);
    let podId = '';
    // Tried every 5 s: cri-dockerd refuses the handler until its /info memo is older than 60 s.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await crictl('runp', '--runtime', 'late-handler', pod);
      if (r.code === 0) {
        podId = r.stdout.trim();
        break;
      }
      assert.match(r.stderr, /no runtime for \\?"late-handler\\?" is configured/);
      assert.ok(Date.now() < deadline, 'late-handler was still refused after 120 s');
      await sleep(5_000);
    }
    const sandbox = JSON.parse(ok(await d.docker(['inspect', podId]), 'inspect')) as Array<{ HostConfig: { Runtime: string } }>;
    assert.equal(sandbox[0]!.HostConfig.Runtime, 'late-handler');
    ok(await crictl('stopp', podId), 'stopp');
    ok(await crictl('rmp', podId), 'rmp');
  });
});
