// Pure parts of the network module: port plans and views, subnet choice,
// the conflist a network gets, iptables rule splitting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bridgeConflist,
  iccEnabled,
  chooseSubnet,
  formatCidr,
  listPorts,
  namesContainer,
  namesDevice,
  overlaps,
  parseCidr,
  parsePortKey,
  planPorts,
  portKeys,
  portsView,
  routeSubnets,
  splitRule,
  type NetworkRecord,
} from '../../src/network/index.js';
import { isKind } from '../../src/errors/index.js';

const refused = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (err: unknown) => isKind(err, 'invalid-parameter') && re.test((err as Error).message));
};

test('port keys: number, protocol, range', () => {
  assert.deepEqual(parsePortKey('80'), { start: 80, end: 80, protocol: 'tcp' });
  assert.deepEqual(parsePortKey('53/udp'), { start: 53, end: 53, protocol: 'udp' });
  assert.deepEqual(parsePortKey('8000-8002/tcp'), { start: 8000, end: 8002, protocol: 'tcp' });
  refused(() => parsePortKey('80/xyz'), /invalid proto: xyz/);
  refused(() => parsePortKey('70000'), /invalid port specification/);
  refused(() => parsePortKey('0/tcp'), /invalid port specification/);
  refused(() => parsePortKey('abc'), /invalid port specification/);
  refused(() => parsePortKey('90-80'), /invalid port range/);
});

test('port plans: -p HOST:PORT, IP::PORT, PORT, ranges, -P', () => {
  assert.deepEqual(planPorts(undefined, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, false), [
    { containerPort: 80, protocol: 'tcp', hostIp: '', hostStart: 8080, hostEnd: 8080 },
  ]);
  assert.deepEqual(planPorts(undefined, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, false), [
    { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostStart: 0, hostEnd: 0 },
  ]);
  // A container range onto a host range of the same length: one to one.
  assert.deepEqual(
    planPorts(undefined, { '7000-7001/udp': [{ HostPort: '9000-9001' }] }, false).map((r) => [r.containerPort, r.hostStart, r.protocol]),
    [[7000, 9000, 'udp'], [7001, 9001, 'udp']],
  );
  // One container port onto a host range: the first free of it.
  assert.deepEqual(planPorts(undefined, { '80/tcp': [{ HostPort: '9000-9010' }] }, false)[0], { containerPort: 80, protocol: 'tcp', hostIp: '', hostStart: 9000, hostEnd: 9010 });
  refused(() => planPorts(undefined, { '80-81/tcp': [{ HostPort: '9000-9005' }] }, false), /invalid ranges/);
  refused(() => planPorts(undefined, { '80/tcp': [{ HostIp: 'nope', HostPort: '1' }] }, false), /invalid host IP/);
  refused(() => planPorts(undefined, { '80/tcp': [{ HostPort: '99999' }] }, false), /invalid port specification/);
  // -P: every exposed port without a binding, on a free port.
  const all = planPorts({ '80/tcp': {}, '443/tcp': {} }, { '80/tcp': [{ HostPort: '8080' }] }, true);
  assert.deepEqual(all.map((r) => [r.containerPort, r.hostStart]), [[80, 8080], [443, 0]]);
  assert.deepEqual(planPorts({ '80/tcp': {} }, undefined, false), []);
});

test('port views: NetworkSettings.Ports and the ps entry', () => {
  const keys = portKeys({ '443/tcp': {} }, { '80/tcp': [] });
  assert.deepEqual(keys, ['443/tcp', '80/tcp']);
  const published = [{ containerPort: 80, protocol: 'tcp' as const, hostIp: '', hostPort: 8080 }];
  assert.deepEqual(portsView(keys, published), { '443/tcp': null, '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
  assert.deepEqual(listPorts(keys, published), [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 443, Type: 'tcp' },
  ]);
});

test('subnets: parsing, overlap, the first free one of the pools, host routes', () => {
  assert.equal(formatCidr(parseCidr('10.1.2.0/24')), '10.1.2.0/24');
  refused(() => parseCidr('10.1.2.3/24'), /host bits set .*10\.1\.2\.0\/24/);
  refused(() => parseCidr('10.1.2.0/33'), /invalid CIDR/);
  refused(() => parseCidr('fd00::/64'), /IPv4 only/);
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.2.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.1.0.0/16'), parseCidr('10.2.0.0/16')));
  const pools = [{ base: '10.213.0.0/16', size: 24 }];
  assert.equal(formatCidr(chooseSubnet(pools, [])!), '10.213.0.0/24');
  const taken = routeSubnets('default via 10.0.0.1 dev eth0\n10.213.0.0/24 dev berth0 proto kernel scope link src 10.213.0.1\n10.213.1.0/24 dev br-x\nlocal 127.0.0.1 dev lo\n');
  assert.equal(formatCidr(chooseSubnet(pools, taken)!), '10.213.2.0/24');
  assert.equal(chooseSubnet([{ base: '10.9.0.0/24', size: 24 }], [parseCidr('10.9.0.0/16')]), undefined);
});

test('conflist: bridge with host-local, portmap, tuning; --internal drops portmap, masquerade and the default route', () => {
  const net: NetworkRecord = {
    Name: 'web', Id: 'a'.repeat(64), Created: '', Driver: 'bridge', Internal: false, Attachable: false, Labels: {}, Options: {},
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1', IPRange: '10.5.0.128/25' }] },
    bridge: 'br-aaaaaaaaaaaa',
  };
  const list = bridgeConflist(net, { ipamDir: '/run/x/ipam', ipMasq: true, mtu: 0, mac: true });
  assert.equal(list.cniVersion, '1.0.0');
  assert.deepEqual(list.plugins.map((p) => p.type), ['bridge', 'portmap', 'tuning']);
  const bridge = list.plugins[0]!;
  assert.equal(bridge.bridge, 'br-aaaaaaaaaaaa');
  assert.equal(bridge.isGateway, false);
  assert.equal(bridge.ipMasq, true);
  assert.deepEqual(bridge.ipam, {
    type: 'host-local',
    dataDir: '/run/x/ipam',
    ranges: [[{ subnet: '10.5.0.0/24', gateway: '10.5.0.1', rangeStart: '10.5.0.129', rangeEnd: '10.5.0.254' }]],
    routes: [{ dst: '0.0.0.0/0', gw: '10.5.0.1' }],
  });
  const internal = bridgeConflist({ ...net, Internal: true }, { ipamDir: '/d', ipMasq: true, mtu: 1400 });
  assert.deepEqual(internal.plugins.map((p) => p.type), ['bridge']);
  assert.deepEqual(bridgeConflist(net, { ipamDir: '/d', ipMasq: true, mtu: 0, ports: false }).plugins.map((p) => p.type), ['bridge']);
  const bare = bridgeConflist(net, { ipamDir: '/d', ipMasq: true, mtu: 0, iptables: false });
  assert.deepEqual(bare.plugins.map((p) => p.type), ['bridge']);
  assert.equal(bare.plugins[0]!.ipMasq, false);
  assert.equal(internal.plugins[0]!.ipMasq, false);
  assert.equal(internal.plugins[0]!.mtu, 1400);
  assert.deepEqual((internal.plugins[0]!.ipam as { routes: unknown[] }).routes, []);
});

test('iptables rules: quoted comments split, rules naming a container or a device', () => {
  const rule = '-A POSTROUTING -s 10.5.0.2/32 -m comment --comment "name: \\"web\\" id: \\"abc\\"" -j CNI-0123456789abcdef01234567';
  assert.deepEqual(splitRule(rule), ['-A', 'POSTROUTING', '-s', '10.5.0.2/32', '-m', 'comment', '--comment', 'name: "web" id: "abc"', '-j', 'CNI-0123456789abcdef01234567']);
  assert.ok(namesContainer('abc')(rule));
  assert.ok(!namesContainer('abd')(rule));
  assert.ok(namesDevice('br-1')('-A BERTH-ISOLATION-x -o br-1 -j DROP'));
  assert.ok(!namesDevice('br-1')('-A BERTH-ISOLATION-x -o br-12 -j DROP'));
});

test('icc: the default bridge follows the daemon, other networks their enable_icc option (true when unset)', () => {
  const net = (options: Record<string, string>, isDefault = false): NetworkRecord => ({
    Name: 'n', Id: 'b'.repeat(64), Created: '', Driver: 'bridge', Internal: false, Attachable: false, Labels: {}, Options: options,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.6.0.0/24', Gateway: '10.6.0.1' }] }, bridge: 'br-b', ...(isDefault ? { isDefault: true } : {}),
  });
  assert.equal(iccEnabled(net({}), false), true);
  assert.equal(iccEnabled(net({ 'com.docker.network.bridge.enable_icc': 'false' }), true), false);
  assert.equal(iccEnabled(net({}, true), false), false);
  assert.equal(iccEnabled(net({ 'com.docker.network.bridge.enable_icc': 'true' }, true), true), true);
});
