// Container networking with the real CNI plugins from /usr/lib/cni, driven by
// the docker CLI: the default bridge, published ports reached on 127.0.0.1
// only, user networks, isolation, and teardown counted on the host. Traffic
// stays inside the bridges this test's berthd made, or goes to 127.0.0.1.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import * as packet from 'dns-packet';
import { after, before, describe, it } from 'node:test';
import { importBusybox } from '../fixtures/images.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, runCommand, startBerthd, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';
import { cleanupHostNetwork, counts, httpGet, iptablesLines, leftoversOf, netnsFiles } from '../helpers/network.js';
import { rootTag } from '../../src/network/index.js';


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * busybox wget under a timeout (its own -T crashes in Debian's static build);
 * under sh, because busybox timeout cannot kill a PID 1.
 */
const wget = (seconds: number, url: string): string[] => ['sh', '-c', `busybox timeout ${seconds} busybox wget -q -O - ${url}; exit $?`];

const HTTPD = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec busybox httpd -f -p 80 -h /www'];

describe('container networking (CNI bridge, ports, user networks)', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);

  let stub: UdpSocket | undefined;

  before(async () => {
    // The upstream of the containers' resolver: a stub on 127.0.0.1 that knows one outside name.
    stub = createSocket('udp4');
    stub.on('message', (msg, rinfo) => {
      const q = packet.decode(msg);
      const known = q.questions?.[0]?.name === 'outside.example';
      const answers: packet.Answer[] = known ? [{ type: 'A', name: 'outside.example', ttl: 60, data: '192.0.2.7' }] : [];
      stub?.send(packet.encode({ type: 'response', id: q.id ?? 0, flags: known ? 0 : 3, questions: q.questions ?? [], answers }), rinfo.port, rinfo.address);
    });
    const stubPort = await new Promise<number>((resolve) => stub!.bind(0, '127.0.0.1', () => resolve(stub!.address().port)));
    d = await startBerthd({ config: { 'ip-forward': false, 'dns-upstream': [`127.0.0.1:${stubPort}`] } });
    await importBusybox(d);
  });

  after(async () => {
    if (d !== undefined) {
      await docker('rm', '-f', ...(await docker('ps', '-aq')).stdout.split('\n').filter(Boolean)).catch(() => undefined);
      await d.stop();
      cleanupHostNetwork(d.dataRoot);
      await d.cleanup();
    }
    stub?.close();
  });

  it('docker network ls has bridge, host and none; the default bridge is berth\'s own', async () => {
    const ls = ok(await docker('network', 'ls', '--format', '{{.Name}} {{.Driver}}'), 'ls');
    assert.deepEqual(ls.trim().split('\n').sort(), ['bridge bridge', 'host host', 'none null']);
    const inspect = JSON.parse(ok(await docker('network', 'inspect', 'bridge'), 'inspect')) as Array<{ IPAM: { Config: Array<{ Subnet: string }> }; Options: Record<string, string> }>;
    const subnet = inspect[0]!.IPAM.Config[0]!.Subnet;
    assert.notEqual(subnet, '172.17.0.0/16');
    assert.notEqual(inspect[0]!.Options['com.docker.network.bridge.name'], 'docker0');
  });

  it('-p 127.0.0.1::80 answers on 127.0.0.1; docker port, ps and inspect show it; rm -f leaves nothing', async () => {
    const before = counts(d);
    const id = ok(await docker('run', '-d', '--name', 'web', '--hostname', 'web1', '-p', '127.0.0.1::80', 'busybox', ...HTTPD), 'run').trim();
    const port = ok(await docker('port', 'web', '80/tcp'), 'port').trim();
    assert.match(port, /^127\.0\.0\.1:\d+$/);
    const hostPort = Number(port.split(':')[1]);
    assert.equal((await httpGet(hostPort)).trim(), 'web1');
    const ps = ok(await docker('ps', '--format', '{{.Ports}}', '--filter', 'name=web'), 'ps').trim();
    assert.equal(ps, `127.0.0.1:${hostPort}->80/tcp`);
    const ns = JSON.parse(ok(await docker('inspect', '-f', '{{json .NetworkSettings}}', 'web'), 'inspect')) as {
      IPAddress: string; Gateway: string; MacAddress: string; SandboxKey: string; Networks: Record<string, { IPAddress: string; NetworkID: string; EndpointID: string }>;
    };
    assert.match(ns.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(ns.Networks.bridge?.IPAddress, ns.IPAddress);
    assert.notEqual(ns.Networks.bridge?.EndpointID, '');
    assert.ok(iptablesLines(id) > 0, 'the plugins wrote rules naming the container');
    ok(await docker('rm', '-f', 'web'), 'rm');
    assert.deepEqual(counts(d), before);
    assert.deepEqual(leftoversOf(d.execRoot, id), { iptables: 0, leases: 0, netns: false });
  });

  it('-p HOSTPORT:80 answers on 127.0.0.1; a second container on that port fails and leaves nothing', async () => {
    const hostPort = await freePort();
    ok(await docker('run', '-d', '--name', 'web2', '--hostname', 'web2', '-p', `${hostPort}:80`, 'busybox', ...HTTPD), 'run');
    assert.equal((await httpGet(hostPort)).trim(), 'web2');
    const before = counts(d);
    const clash = await docker('run', '-d', '--name', 'web3', '-p', `${hostPort}:80`, 'busybox', ...HTTPD);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /port is already allocated/);
    assert.deepEqual(counts(d), before);
    const id3 = ok(await docker('inspect', '-f', '{{.Id}}', 'web3'), 'inspect').trim();
    assert.deepEqual(leftoversOf(d.execRoot, id3), { iptables: 0, leases: 0, netns: false });
    // The port survives a restart of the container.
    ok(await docker('restart', '-t', '1', 'web2'), 'restart');
    assert.equal((await httpGet(hostPort)).trim(), 'web2');
    ok(await docker('rm', '-f', 'web2', 'web3'), 'rm');
  });

  it('--expose with -P publishes on a free port; stop releases it', async () => {
    ok(await docker('run', '-d', '--name', 'pub', '--hostname', 'pub', '--expose', '80', '-P', 'busybox', ...HTTPD), 'run');
    const hostPort = Number(ok(await docker('inspect', '-f', '{{(index .NetworkSettings.Ports "80/tcp" 0).HostPort}}', 'pub'), 'inspect').trim());
    assert.ok(hostPort > 0);
    assert.equal((await httpGet(hostPort)).trim(), 'pub');
    const id = ok(await docker('inspect', '-f', '{{.Id}}', 'pub'), 'inspect').trim();
    ok(await docker('stop', '-t', '1', 'pub'), 'stop');
    assert.deepEqual(leftoversOf(d.execRoot, id), { iptables: 0, leases: 0, netns: false });
    assert.equal(ok(await docker('inspect', '-f', '{{json .NetworkSettings.Ports}}', 'pub'), 'inspect').trim(), '{}');
    ok(await docker('rm', 'pub'), 'rm');
  });

  it('--add-host host-gateway, --dns, --dns-search, --mac-address on the default bridge', async () => {
    const gw = (JSON.parse(ok(await docker('network', 'inspect', 'bridge'), 'inspect')) as Array<{ IPAM: { Config: Array<{ Gateway: string }> } }>)[0]!.IPAM.Config[0]!.Gateway;
    const out = ok(
      await docker('run', '--rm', '--add-host', 'hg:host-gateway', '--add-host', 'x.test:10.1.2.3', '--dns', '10.9.9.9', '--dns-search', 'corp.test', '--mac-address', '02:42:ac:11:00:99', 'busybox', 'sh', '-c', 'cat /etc/hosts /etc/resolv.conf /sys/class/net/eth0/address'),
      'run',
    );
    assert.match(out, new RegExp(`^${gw.replace(/\./g, '\\.')}\thg$`, 'm'));
    assert.match(out, /^10\.1\.2\.3\tx\.test$/m);
    assert.match(out, /^nameserver 10\.9\.9\.9$/m);
    assert.match(out, /^search corp\.test$/m);
    assert.match(out, /^02:42:ac:11:00:99$/m);
  });

  it('--network none has loopback only; --network host sees the host devices', async () => {
    const none = ok(await docker('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1'), 'none');
    assert.deepEqual(none.trim().split('\n').map((s) => s.trim()), ['lo']);
    const bridged = ok(await docker('run', '--rm', 'busybox', 'sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1'), 'bridge');
    assert.deepEqual(bridged.trim().split('\n').map((s) => s.trim()).sort(), ['eth0', 'lo']);
  });

  it('user networks: containers reach each other inside one, not across two; --internal', async () => {
    ok(await docker('network', 'create', '--subnet', '10.213.250.0/24', '--label', 't=1', 'neta'), 'create a');
    ok(await docker('network', 'create', 'netb'), 'create b');
    const dup = await docker('network', 'create', 'neta');
    assert.match(dup.stderr, /network with name neta already exists/);
    const overlap = await docker('network', 'create', '--subnet', '10.213.250.128/25', 'netc');
    assert.match(overlap.stderr, /Pool overlaps/);
    ok(await docker('run', '-d', '--name', 'srv', '--hostname', 'srv', '--network', 'neta', '--ip', '10.213.250.50', 'busybox', ...HTTPD), 'srv');
    const ip = ok(await docker('inspect', '-f', '{{.NetworkSettings.Networks.neta.IPAddress}}', 'srv'), 'inspect').trim();
    assert.equal(ip, '10.213.250.50');
    const same = ok(await docker('run', '--rm', '--network', 'neta', 'busybox', ...wget(5, `http://${ip}/`)), 'same net');
    assert.equal(same.trim(), 'srv');
    const other = await docker('run', '--rm', '--network', 'netb', 'busybox', ...wget(3, `http://${ip}/`));
    assert.notEqual(other.code, 0, 'a container on another network cannot reach srv');
    // connect puts a running container on a second network; disconnect takes it off.
    ok(await docker('run', '-d', '--name', 'cli', '--network', 'netb', 'busybox', 'sleep', '300'), 'cli');
    ok(await docker('network', 'connect', '--alias', 'cliweb', '--ip', '10.213.250.77', 'neta', 'cli'), 'connect');
    assert.equal(ok(await docker('inspect', '-f', '{{.NetworkSettings.Networks.neta.IPAddress}}', 'cli'), 'inspect').trim(), '10.213.250.77');
    const alias = ok(await docker('exec', 'srv', 'busybox', 'nslookup', 'cliweb', '127.0.0.11'), 'alias after connect');
    assert.match(alias, /Address: 10\.213\.250\.77/);
    const via = ok(await docker('exec', 'cli', ...wget(5, `http://${ip}/`)), 'after connect');
    assert.equal(via.trim(), 'srv');
    const inspect = JSON.parse(ok(await docker('network', 'inspect', 'neta'), 'net inspect')) as Array<{ Containers: Record<string, { Name: string }> }>;
    assert.deepEqual(Object.values(inspect[0]!.Containers).map((c) => c.Name).sort(), ['cli', 'srv']);
    ok(await docker('network', 'disconnect', 'neta', 'cli'), 'disconnect');
    const gone = await docker('exec', 'cli', ...wget(3, `http://${ip}/`));
    assert.notEqual(gone.code, 0);
    const busy = await docker('network', 'rm', 'neta');
    assert.match(busy.stderr, /has active endpoints/);
    const predefined = await docker('network', 'rm', 'bridge');
    assert.match(predefined.stderr, /pre-defined network and cannot be removed/);
    ok(await docker('network', 'create', '--internal', 'neti'), 'internal');
    const route = ok(await docker('run', '--rm', '--network', 'neti', 'busybox', 'cat', '/proc/net/route'), 'route');
    assert.doesNotMatch(route, /\t00000000\t[0-9A-F]{8}\t0003/, 'an internal network has no default route');
    const byLabel = ok(await docker('network', 'ls', '--format', '{{.Name}}', '--filter', 'label=t=1'), 'ls label').trim();
    assert.equal(byLabel, 'neta');
    const custom = ok(await docker('network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom'), 'ls custom').trim().split('\n').sort();
    assert.deepEqual(custom, ['neta', 'netb', 'neti']);
    // prune takes the networks no container is on: neti only.
    const pruned = ok(await docker('network', 'prune', '-f'), 'prune');
    assert.match(pruned, /neti/);
    assert.doesNotMatch(pruned, /neta|netb/);
    ok(await docker('rm', '-f', 'srv', 'cli'), 'rm');
    ok(await docker('network', 'rm', 'neta', 'netb'), 'net rm');
    assert.deepEqual(netnsFiles(d.execRoot), []);
  });

  it('icc=false: containers of one network cannot reach each other, their published ports answer; on the default bridge they can', async () => {
    const chain = `BERTH-ISOLATION-${rootTag(d.dataRoot)}`;
    const netId = ok(await docker('network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'neticc'), 'create').trim();
    const br = `br-${netId.slice(0, 12)}`;
    try {
      assert.equal(iptablesLines(`-A ${chain} -i ${br} -o ${br} -j DROP`), 1, 'one DROP rule within the network');
      assert.equal(iptablesLines(`-i ${br} -o ${br} -j ACCEPT`), 0, 'nothing accepts within it');
      // Per bridge, not per container: other interfaces are kept out, its containers let out.
      const forward = `BERTH-FORWARD-${rootTag(d.dataRoot)}`;
      assert.equal(iptablesLines(`-A ${chain} -o ${br} -j DROP`), 1, 'into the bridge from elsewhere: dropped');
      assert.equal(iptablesLines(`-A ${forward} -i ${br} -j ACCEPT`), 1, 'out of the bridge: accepted');
      assert.equal(iptablesLines(`-A FORWARD -j ${chain}`), 1);
      assert.equal(iptablesLines(`-A FORWARD -j ${forward}`), 1);
      ok(await docker('run', '-d', '--name', 'isrv', '--hostname', 'isrv', '--network', 'neticc', '-p', '127.0.0.1::80', 'busybox', ...HTTPD), 'isrv');
      const hostPort = Number(ok(await docker('port', 'isrv', '80/tcp'), 'port').trim().split(':')[1]);
      assert.equal((await httpGet(hostPort, 30_000)).trim(), 'isrv');
      const ip = ok(await docker('inspect', '-f', '{{.NetworkSettings.Networks.neticc.IPAddress}}', 'isrv'), 'inspect').trim();
      const peer = await docker('run', '--rm', '--network', 'neticc', 'busybox', ...wget(3, `http://${ip}/`));
      assert.notEqual(peer.code, 0, 'a peer on an icc=false network cannot reach isrv');
      // Names still resolve there (the resolver is inside each namespace).
      assert.match(ok(await docker('run', '--rm', '--network', 'neticc', 'busybox', 'busybox', 'nslookup', 'isrv', '127.0.0.11'), 'nslookup'), new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
      ok(await docker('run', '-d', '--name', 'bsrv', '--hostname', 'bsrv', 'busybox', ...HTTPD), 'bsrv');
      const bip = ok(await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'bsrv'), 'inspect').trim();
      assert.equal(ok(await docker('run', '--rm', 'busybox', ...wget(5, `http://${bip}/`)), 'default bridge peer').trim(), 'bsrv');
    } finally {
      await docker('rm', '-f', 'isrv', 'bsrv');
      ok(await docker('network', 'rm', 'neticc'), 'net rm');
    }
    assert.equal(iptablesLines(` ${br} `), 0, 'the rules went with the network');
  });

  it('names on a user network: name, alias, short id, hostname at 127.0.0.11; outside names through the upstream', async () => {
    ok(await docker('network', 'create', 'netn'), 'create');
    ok(await docker('network', 'create', 'neto'), 'create');
    const id = ok(await docker('run', '-d', '--name', 'srv', '--hostname', 'srvh', '--network', 'netn', '--network-alias', 'api', 'busybox', ...HTTPD), 'srv').trim();
    ok(await docker('run', '-d', '--name', 'srv2', '--hostname', 'srv2h', '--network', 'netn', '--network-alias', 'api', 'busybox', ...HTTPD), 'srv2');
    const resolv = ok(await docker('run', '--rm', '--network', 'netn', 'busybox', 'cat', '/etc/resolv.conf'), 'resolv');
    assert.match(resolv, /^nameserver 127\.0\.0\.11$/m);
    for (const name of ['srv', 'SRV', id.slice(0, 12), 'srvh', 'srv.netn']) {
      const body = ok(await docker('run', '--rm', '--network', 'netn', 'busybox', ...wget(5, `http://${name}/`)), `wget ${name}`);
      assert.equal(body.trim(), 'srvh', name);
    }
    // One alias, two containers: both addresses.
    const both = ok(await docker('run', '--rm', '--network', 'netn', 'busybox', 'busybox', 'nslookup', 'api', '127.0.0.11'), 'nslookup api');
    const ips = [...both.matchAll(/Address: (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]);
    assert.equal(new Set(ips.filter((ip) => ip !== '127.0.0.11')).size, 2, both);
    const srvIp = ok(await docker('inspect', '-f', '{{.NetworkSettings.Networks.netn.IPAddress}}', 'srv'), 'inspect').trim();
    const ptr = ok(await docker('run', '--rm', '--network', 'netn', 'busybox', 'busybox', 'nslookup', srvIp, '127.0.0.11'), 'nslookup ip');
    assert.match(ptr, /srv\.netn/);
    const outside = ok(await docker('run', '--rm', '--network', 'netn', 'busybox', 'busybox', 'nslookup', 'outside.example'), 'nslookup outside');
    assert.match(outside, /192\.0\.2\.7/);
    const other = await docker('run', '--rm', '--network', 'neto', 'busybox', 'busybox', 'nslookup', 'srv');
    assert.doesNotMatch(other.stdout, /Address: 10\./, 'another network does not know srv');
    const hosts = ok(await docker('exec', 'srv', 'cat', '/etc/hosts'), 'hosts');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^\d+\.\d+\.\d+\.\d+\tsrvh$/m);
    ok(await docker('rm', '-f', 'srv', 'srv2'), 'rm');
    ok(await docker('network', 'rm', 'netn', 'neto'), 'net rm');
  });

  it('docker-compose: the project network, a published port and service names, then down removes it all', async () => {
    const file = join(d.root, 'docker-compose.yml');
    writeFileSync(file, [
      'version: "3"',
      'services:',
      '  web:',
      '    image: busybox',
      `    command: ${JSON.stringify(HTTPD)}`,
      '    hostname: webc',
      '    ports: ["127.0.0.1::80"]',
      '  cli:',
      '    image: busybox',
      '    command: ["sleep", "300"]',
      '',
    ].join('\n'));
    const compose = (...args: string[]): Promise<CommandResult> => runCommand('docker-compose', ['-p', 'proj', '-f', file, ...args], d.env, { timeoutMs: 120_000 });
    ok(await compose('up', '-d'), 'up');
    const port = Number(ok(await compose('port', 'web', '80'), 'port').trim().split(':')[1]);
    assert.equal((await httpGet(port)).trim(), 'webc');
    assert.equal(ok(await docker('exec', 'proj_cli_1', ...wget(5, 'http://web/')), 'by service name').trim(), 'webc');
    ok(await compose('down'), 'down');
    const nets = ok(await docker('network', 'ls', '--format', '{{.Name}}'), 'ls').trim().split('\n').sort();
    assert.deepEqual(nets, ['bridge', 'host', 'none']);
  });

  it('bad input: unknown network, --ip outside the subnet, bad subnet', async () => {
    // Through the API: the CLI takes any 404 of a create for a missing image and tries to pull.
    const unknown = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { NetworkMode: 'nope' } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /network nope not found/);
    const dev = `bt${process.pid % 1_000_000}`;
    ok(await docker('network', 'create', '--subnet', '10.213.251.0/24', '--gateway', '10.213.251.254', '-o', `com.docker.network.bridge.name=${dev}`, 'netd'), 'create');
    assert.match(ok(await runCommand('ip', ['-o', 'addr', 'show', 'dev', dev]), 'ip addr'), /inet 10\.213\.251\.254\/24/);
    const outside = await docker('run', '--rm', '--network', 'netd', '--ip', '10.9.9.9', 'busybox', 'true');
    assert.match(outside.stderr, /no configured subnet or ip-range contain the IP address 10\.9\.9\.9/);
    const bad = await docker('network', 'create', '--subnet', '10.1.2.3/33', 'nete');
    assert.notEqual(bad.code, 0);
    ok(await docker('run', '-d', '--name', 'ipholder', '--network', 'netd', '--ip', '10.213.251.9', 'busybox', 'sleep', '300'), 'holder');
    const taken = await docker('run', '--rm', '--network', 'netd', '--ip', '10.213.251.9', 'busybox', 'true');
    assert.match(taken.stderr, /Address already in use/);
    const proto = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { PortBindings: { '80/xyz': [{ HostPort: '1' }] } } });
    assert.equal(proto.status, 400);
    assert.match(proto.body, /invalid proto: xyz/);
    const port = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '70000' }] } } });
    assert.equal(port.status, 400);
    assert.match(port.body, /invalid port specification/);
    ok(await docker('rm', '-f', 'ipholder'), 'rm holder');
    ok(await docker('network', 'rm', 'netd'), 'rm');
    assert.notEqual((await runCommand('ip', ['-o', 'link', 'show', 'dev', dev])).code, 0, 'the bridge went with the network');
    assert.equal(ok(await docker('ps', '-aq'), 'ps').trim(), '', 'refused creates left no container');
  });
});
