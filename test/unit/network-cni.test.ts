// The CNI runtime's check for plugin binaries: every plugin of a list and the
// IPAM plugin the bridge runs, a 404 naming the package when one is missing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isKind } from '../../src/errors/index.js';
import { bridgeConflist, CniRuntime, type NetworkRecord } from '../../src/network/index.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cni-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const net: NetworkRecord = {
  Name: 'n', Id: 'c'.repeat(64), Created: '', Driver: 'bridge', Internal: false, Attachable: false, Labels: {}, Options: {},
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.7.0.0/24', Gateway: '10.7.0.1' }] }, bridge: 'br-c',
};

test('requirePlugins: the list\'s plugins and the bridge\'s IPAM plugin must be there', () => {
  const cni = new CniRuntime([dir], join(dir, 'cache'));
  const list = bridgeConflist(net, { ipamDir: '/d', ipMasq: true, mtu: 0, ports: true });
  for (const p of ['bridge', 'portmap']) writeFileSync(join(dir, p), '');
  assert.throws(
    () => cni.requirePlugins([list]),
    (err: unknown) => isKind(err, 'not-found') && /CNI plugin host-local not found in .*install the Debian package containernetworking-plugins/.test(String((err as Error).message)),
  );
  writeFileSync(join(dir, 'host-local'), '');
  cni.requirePlugins([list]);
  rmSync(join(dir, 'portmap'));
  assert.throws(() => cni.requirePlugins([list]), /CNI plugin portmap not found/);
  // Without published ports the list has no portmap, and needs none.
  cni.requirePlugins([bridgeConflist(net, { ipamDir: '/d', ipMasq: true, mtu: 0, ports: false })]);
});
