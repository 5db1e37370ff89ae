// State files: atomic writes, ordering, loading, interrupted removals; and
// reading files out of an overlay rootfs without mounting it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore, newContainerId, type ContainerRecordState } from '../../src/daemon/containers/index.js';
import { readRootfsFile } from '../../src/daemon/containers/rootfs-files.js';
import { resolvConf, hostsFile } from '../../src/daemon/containers/etc-files.js';
import { silentLogger } from '../../src/log/index.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'berth-cstore-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function record(id: string, version: number): ContainerRecordState {
  return { Id: id, Name: `c${version}`, Version: version } as unknown as ContainerRecordState;
}

test('saves are atomic and the last one wins', async () => {
  const store = new StateStore(join(dir, 'a'), silentLogger());
  await store.init();
  const id = newContainerId();
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.save(record(id, i))));
  const saved = JSON.parse(readFileSync(join(store.dir(id), 'state.json'), 'utf8')) as ContainerRecordState;
  assert.equal(saved.Version, 29);
  assert.deepEqual(readdirSync(store.dir(id)), ['state.json']);
});

test('loadAll skips unreadable records and finishes interrupted removals', async () => {
  const root = join(dir, 'b');
  const store = new StateStore(root, silentLogger());
  await store.init();
  const good = newContainerId();
  await store.save(record(good, 1));
  const broken = newContainerId();
  mkdirSync(store.dir(broken));
  writeFileSync(join(store.dir(broken), 'state.json'), '{"Id": "trunc');
  const gone = newContainerId();
  mkdirSync(join(root, 'containers', `.removing-${gone}`));
  const { states, interruptedRemovals } = await store.loadAll();
  assert.deepEqual(states.map((s) => s.Id), [good]);
  assert.deepEqual(interruptedRemovals, [gone]);
  assert.equal(existsSync(join(root, 'containers', `.removing-${gone}`)), false);
  await store.remove(good);
  assert.equal(existsSync(store.dir(good)), false);
  await store.remove(good);
});

test('rootfs files: upper wins over lower, symlinks stay inside the rootfs', async () => {
  const lower = join(dir, 'lower');
  const upper = join(dir, 'upper');
  mkdirSync(join(lower, 'etc'), { recursive: true });
  mkdirSync(join(upper, 'etc'), { recursive: true });
  mkdirSync(join(lower, 'usr/share'), { recursive: true });
  writeFileSync(join(lower, 'etc/passwd'), 'lower');
  writeFileSync(join(lower, 'etc/group'), 'lowergroup');
  writeFileSync(join(upper, 'etc/passwd'), 'upper');
  writeFileSync(join(lower, 'usr/share/real'), 'real');
  symlinkSync('/usr/share/real', join(lower, 'etc/abs'));
  symlinkSync('../usr/share/real', join(lower, 'etc/rel'));
  symlinkSync('/etc/hostname', join(lower, 'etc/escape'));
  const mounts = [{ type: 'overlay', source: 'overlay', options: [`upperdir=${upper}`, `lowerdir=${lower}`, 'workdir=/w'] }];
  assert.equal(await readRootfsFile(mounts, '/etc/passwd'), 'upper');
  assert.equal(await readRootfsFile(mounts, '/etc/group'), 'lowergroup');
  assert.equal(await readRootfsFile(mounts, '/etc/abs'), 'real');
  assert.equal(await readRootfsFile(mounts, '/etc/rel'), 'real');
  assert.equal(await readRootfsFile(mounts, '/etc/escape'), undefined);
  assert.equal(await readRootfsFile(mounts, '/etc/none'), undefined);
  assert.equal(await readRootfsFile([{ type: 'bind', source: lower, options: ['rbind'] }], 'etc/passwd'), 'lower');
});

test('resolv.conf drops loopback name servers for a private network, keeps them for host', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\n';
  const none = { Dns: [], DnsSearch: [], DnsOptions: [] };
  assert.equal(resolvConf(host, false, none), 'nameserver 10.0.0.2\nsearch example.org\n');
  assert.equal(resolvConf(host, true, none), host);
  assert.equal(resolvConf(host, false, { Dns: ['1.1.1.1'], DnsSearch: ['x.y'], DnsOptions: ['ndots:2'] }), 'nameserver 1.1.1.1\nsearch x.y\noptions ndots:2\n');
  assert.match(hostsFile(['db:10.0.0.5']), /^127\.0\.0\.1\tlocalhost\n[\s\S]*10\.0\.0\.5\tdb\n$/);
});
