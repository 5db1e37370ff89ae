// Networking across berthd crashes and restarts, and the container:NAME mode:
// SIGKILL with 20 containers on 3 networks leaves nothing behind once berthd
// is back; with live-restore, published ports and names keep working.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importBusybox } from '../fixtures/images.js';
import { cleanupWithContainers, ok, startBerthd, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';
import { mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupHostNetwork, counts, httpGet, iptablesLines, leaseFiles, leftoversOf, netnsFiles, rootBridges } from '../helpers/network.js';


const HTTPD = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec busybox httpd -f -p 80 -h /www'];
const wget = (seconds: number, url: string): string[] => ['sh', '-c', `busybox timeout ${seconds} busybox wget -q -O - ${url}; exit $?`];

describe('networking across berthd restarts; container:NAME', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  let config: Record<string, unknown>;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args, { timeoutMs: 90_000 });

  before(async () => {
    config = { 'ip-forward': false, 'dns-upstream': [] };
    d = await startBerthd({ config });
    await importBusybox(d);
  });

  after(async () => {
    await cleanupWithContainers(d);
  });

  it('--network container:NAME shares the namespace; conflicting options are refused', async () => {
    ok(await docker('run', '-d', '--name', 'web', '--hostname', 'webh', 'busybox', ...HTTPD), 'web');
    const body = ok(await docker('run', '--rm', '--network', 'container:web', 'busybox', ...wget(5, 'http://127.0.0.1/')), 'joined');
    assert.equal(body.trim(), 'webh');
    const ifs = ok(await docker('run', '--rm', '--network', 'container:web', 'busybox', 'sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1'), 'ifs');
    assert.deepEqual(ifs.trim().split('\n').map((s) => s.trim()).sort(), ['eth0', 'lo']);
    const ports = await docker('run', '--rm', '--network', 'container:web', '-p', '80', 'busybox', 'true');
    assert.match(ports.stderr, /conflicting options: port publishing and the container type network mode/);
    ok(await docker('create', '--name', 'stopped', 'busybox', 'true'), 'create');
    const notRunning = await docker('run', '--rm', '--network', 'container:stopped', 'busybox', 'true');
    assert.match(notRunning.stderr, /non running container/);
    ok(await docker('rm', '-f', 'web', 'stopped'), 'rm');
  });

  it('SIGKILL of berthd with 20 containers on 3 networks: nothing leaks after the restart, and containers start again', async () => {
    const base = counts(d);
    for (const n of ['r1', 'r2']) ok(await docker('network', 'create', n), `create ${n}`);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const net = ['bridge', 'r1', 'r2'][i % 3]!;
      const args = ['run', '-d', '--name', `k${i}`, '--network', net];
      if (i === 0) args.push('-p', '127.0.0.1::80');
      ids.push(ok(await docker(...args, 'busybox', ...HTTPD), `run k${i}`).trim());
    }
    const port = Number(ok(await docker('port', 'k0', '80/tcp'), 'port').trim().split(':')[1]);
    assert.equal((await httpGet(port)).trim(), ids[0]!.slice(0, 12));
    assert.equal(netnsFiles(d.execRoot).length, 20);
    await d.stop('SIGKILL');
    d = await startBerthd({ root: d.root, config });
    // Without live-restore the containers were stopped; their networks were torn down.
    assert.equal(ok(await docker('ps', '-q'), 'ps').trim(), '');
    assert.deepEqual(counts(d), base);
    for (const id of ids) assert.equal(iptablesLines(id), 0, `iptables lines of ${id}`);
    assert.deepEqual(leaseFiles(d.execRoot), []);
    ok(await docker('start', 'k0', 'k1', 'k2'), 'start again');
    const port2 = Number(ok(await docker('port', 'k0', '80/tcp'), 'port').trim().split(':')[1]);
    assert.equal((await httpGet(port2)).trim(), ids[0]!.slice(0, 12));
    const peer = ok(await docker('exec', 'k1', ...wget(5, 'http://k1/')), 'name after restart');
    assert.equal(peer.trim(), ids[1]!.slice(0, 12));
    ok(await docker('rm', '-f', ...ids), 'rm');
    ok(await docker('network', 'rm', 'r1', 'r2'), 'net rm');
    assert.deepEqual(counts(d), base);
  });

  it('live-restore: a SIGKILL of berthd keeps published ports, inspect and names; rm afterwards cleans up', async () => {
    config = { ...config, 'live-restore': true };
    await d.stop();
    d = await startBerthd({ root: d.root, config });
    const base = counts(d);
    ok(await docker('network', 'create', 'lr'), 'create');
    const id = ok(await docker('run', '-d', '--name', 'live', '--network', 'lr', '-p', '127.0.0.1::80', 'busybox', ...HTTPD), 'run').trim();
    ok(await docker('network', 'connect', 'bridge', 'live'), 'connect');
    const before = ok(await docker('inspect', '-f', '{{json .NetworkSettings}}', 'live'), 'inspect');
    const port = Number(ok(await docker('port', 'live', '80/tcp'), 'port').trim().split(':')[1]);
    await d.stop('SIGKILL');
    assert.equal((await httpGet(port)).trim(), id.slice(0, 12), 'the kernel path works while berthd is down');
    d = await startBerthd({ root: d.root, config });
    assert.equal(ok(await docker('inspect', '-f', '{{json .NetworkSettings}}', 'live'), 'inspect'), before);
    assert.equal((await httpGet(port)).trim(), id.slice(0, 12));
    const self = ok(await docker('exec', 'live', ...wget(5, 'http://live/')), 'name after restart');
    assert.equal(self.trim(), id.slice(0, 12));
    ok(await docker('rm', '-f', 'live'), 'rm');
    ok(await docker('network', 'rm', 'lr'), 'net rm');
    assert.deepEqual(counts(d), base);
    assert.equal(iptablesLines(id), 0);
  });

  it('a missing plugin binary: network create and start answer 404 naming the package, and make nothing', async () => {
    // The plugins of Debian's package but host-local, the IPAM every bridge network runs.
    const dir = mkdtempSync(join(d.root, 'cni-'));
    for (const f of readdirSync('/usr/lib/cni')) if (f !== 'host-local') symlinkSync(join('/usr/lib/cni', f), join(dir, f));
    await d.stop();
    d = await startBerthd({ root: d.root, config: { ...config, 'cni-plugin-dirs': [dir] } });
    try {
      const base = counts(d);
      const bridges = rootBridges(d.dataRoot);
      const create = await d.api('POST', '/networks/create', { Name: 'noipam', Driver: 'bridge' });
      assert.equal(create.status, 404, create.body);
      assert.match(create.body, /CNI plugin host-local not found.*containernetworking-plugins/);
      assert.deepEqual(rootBridges(d.dataRoot), bridges);
      assert.doesNotMatch(ok(await docker('network', 'ls', '--format', '{{.Name}}'), 'ls'), /noipam/);
      const id = ok(await docker('create', 'busybox', 'true'), 'create').trim();
      const start = await d.api('POST', `/containers/${id}/start`);
      assert.equal(start.status, 404, start.body);
      assert.match(start.body, /install the Debian package containernetworking-plugins/);
      assert.deepEqual(counts(d), base);
      assert.deepEqual(leftoversOf(d.execRoot, id), { iptables: 0, leases: 0, netns: false });
      // --network none needs no plugin but loopback.
      ok(await docker('run', '--rm', '--network', 'none', 'busybox', 'true'), 'none');
      ok(await docker('rm', id), 'rm');
    } finally {
      await d.stop();
      d = await startBerthd({ root: d.root, config });
    }
  });
});
