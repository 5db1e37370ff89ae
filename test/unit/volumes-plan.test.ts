// Mount planning: -v, --mount, --tmpfs, --volumes-from and image VOLUMEs into
// mount points, with dockerd's error texts; OCI mounts and inspect entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ociMount, mountView, parseBindSpec, parseMountConfig, parseVolumesFrom, planMounts, validMountMode, tmpfsSize, type PlanInput } from '../../src/volumes/index.js';
import { validateVolumeName, validateLocalOptions, localMountArgs } from '../../src/volumes/index.js';

const plan = (p: Partial<PlanInput>) => planMounts({ binds: null, mounts: null, tmpfs: undefined, volumesFrom: [], configVolumes: null, ...p });
const refused = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (e: unknown) => (e as { kind?: string }).kind === 'invalid-parameter' && message.test((e as Error).message));
};

test('-v forms: named volume, bind, modes', () => {
  const v = parseBindSpec('data:/var/lib/db');
  assert.deepEqual([v.Type, v.Name, v.Destination, v.Mode, v.RW, v.CopyData, v.Anonymous], ['volume', 'data', '/var/lib/db', 'z', true, true, false]);
  const ro = parseBindSpec('data:/d/:ro,nocopy');
  assert.deepEqual([ro.Destination, ro.Mode, ro.RW, ro.CopyData], ['/d', 'ro,nocopy', false, false]);
  const b = parseBindSpec('/src//x/:/dst:rshared');
  assert.deepEqual([b.Type, b.Source, b.Propagation, b.Mode, b.CreateSource], ['bind', '/src/x', 'rshared', 'rshared', true]);
  assert.equal(parseBindSpec('/src:/dst').Propagation, 'rprivate');
  assert.equal(parseBindSpec('/anon').Anonymous, true);
});

test('-v errors are dockerd\'s', () => {
  refused(() => parseBindSpec(''), /^invalid volume specification: ''$/);
  refused(() => parseBindSpec('a:b:c:d'), /^invalid volume specification: 'a:b:c:d'$/);
  refused(() => parseBindSpec('/foo:rw'), /^invalid volume specification: '\/foo:rw'$/);
  refused(() => parseBindSpec('v:/x:ro,rw'), /^invalid mode: ro,rw$/);
  refused(() => parseBindSpec('v:/x:nope'), /^invalid mode: nope$/);
  refused(() => parseBindSpec('v:rel'), /^invalid volume specification: 'v:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute$/);
  refused(() => parseBindSpec('/h:/'), /invalid specification: destination can't be '\/'/);
  assert.equal(validMountMode('ro,z,rshared,nocopy,cached'), true);
  assert.equal(validMountMode('z,Z'), false);
});

test('--mount entries', () => {
  const v = parseMountConfig({ Type: 'volume', Source: 'v', Target: '/d', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } });
  assert.deepEqual([v.Name, v.CopyData, v.Labels, v.DriverOpts, v.Mode], ['v', false, { a: 'b' }, { type: 'tmpfs', device: 'tmpfs' }, 'z']);
  const t = parseMountConfig({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1777 } });
  assert.equal(t.Tmpfs, 'mode=1777,size=64m');
  assert.deepEqual(ociMount(t), { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=64m'] });
  const b = parseMountConfig({ Type: 'bind', Source: '/s', Target: '/d', ReadOnly: true, BindOptions: { Propagation: 'slave' } });
  assert.deepEqual(ociMount(b), { destination: '/d', type: 'bind', source: '/s', options: ['rbind', 'ro', 'slave'] });
  assert.equal(b.CreateSource, false);
  refused(() => parseMountConfig({ Type: 'bind', Target: '/d' }), /^invalid mount config for type "bind": field Source must not be empty$/);
  refused(() => parseMountConfig({ Type: 'bind', Source: '/s', Target: '/d', VolumeOptions: {} }), /field VolumeOptions must not be specified/);
  refused(() => parseMountConfig({ Type: 'bind', Source: '/s', Target: '/d', BindOptions: { Propagation: 'x' } }), /invalid propagation mode: x/);
  refused(() => parseMountConfig({ Type: 'volume', Target: '/d', ReadOnly: true }), /must not set ReadOnly mode when using anonymous volumes/);
  refused(() => parseMountConfig({ Type: 'volume', Source: 'v', Target: '/d', VolumeOptions: { Subpath: '../x' } }), /subpath/);
  refused(() => parseMountConfig({ Type: 'nfs', Target: '/d' }), /^invalid mount config for type "nfs": mount type unknown$/);
  refused(() => parseMountConfig({ Type: 'tmpfs', Target: '' }), /field Target must not be empty/);
  assert.equal(tmpfsSize(1536), '1536');
  assert.equal(tmpfsSize(3 * 2 ** 30), '3g');
});

test('planning: order, duplicates, image volumes, volumes-from', () => {
  refused(() => plan({ binds: ['a1:/d', 'b1:/d'] }), /^Duplicate mount point: \/d$/);
  refused(() => plan({ binds: ['a1:/d'], mounts: [{ Type: 'volume', Source: 'b1', Target: '/d/' }] }), /^Duplicate mount point: \/d$/);
  refused(() => plan({ binds: ['a1:/d'], tmpfs: { '/d': '' } }), /^Duplicate mount point: \/d$/);
  const from = [{ mode: 'ro', points: [parseBindSpec('shared:/s'), parseBindSpec('/h:/h'), parseBindSpec('other:/o')] }];
  const points = plan({ binds: ['mine:/o'], volumesFrom: from, configVolumes: { '/s': {}, '/img': {}, '/s/deeper': {} } });
  const byDst = Object.fromEntries(points.map((p) => [p.Destination, p]));
  assert.equal(byDst['/s']?.Name, 'shared');
  assert.equal(byDst['/s']?.RW, false);
  assert.equal(byDst['/s']?.CopyData, false);
  assert.equal(byDst['/o']?.Name, 'mine', 'a bind overrides a volumes-from mount point');
  assert.equal(byDst['/img']?.Anonymous, true);
  assert.equal(byDst['/img']?.Mode, '');
  assert.equal(points.findIndex((p) => p.Destination === '/s') < points.findIndex((p) => p.Destination === '/s/deeper'), true);
  assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', mode: 'rw' });
  assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro' });
  refused(() => parseVolumesFrom('c1:rshared'), /^invalid mode: rshared$/);
  refused(() => parseVolumesFrom('c1:nocopy'), /^invalid mode: nocopy$/);
  refused(() => parseVolumesFrom(''), /volumes-from specification cannot be an empty string/);
  const view = mountView({ ...parseBindSpec('/h:/x:ro'), Source: '/h' });
  assert.deepEqual(view, { Type: 'bind', Source: '/h', Destination: '/x', Mode: 'ro', RW: false, Propagation: 'rprivate' });
});

test('volume names and local options', () => {
  validateVolumeName('ok_name-1.2');
  refused(() => validateVolumeName('a'), /too short/);
  for (const bad of ['../x', '.hidden', 'a/b', '-x', '']) refused(() => validateVolumeName(bad), /includes invalid characters/);
  refused(() => validateLocalOptions({ size: '1' }), /^invalid option: "size"$/);
  assert.deepEqual(localMountArgs({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }, '/t'), ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', '/t']);
  assert.equal(localMountArgs(null, '/t'), undefined);
});
