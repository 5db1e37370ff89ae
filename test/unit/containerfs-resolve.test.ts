// The in-root path resolver and the archive helpers: symlinks followed as the
// container sees them, never out of its root; Go FileMode bits; tar entry
// names; overlay changes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ContainerRoot, entryPath, extractTo, goFileMode, overlayChanges, statPath, archiveBase, followsFinal } from '../../src/containerfs/index.js';
import { tarBuffer } from '../fixtures/images.js';
import { chrootedUntarAvailable } from '../../src/containerfs/untar.js';

const base = mkdtempSync(join(tmpdir(), 'berth-resolve-'));
after(() => rmSync(base, { recursive: true, force: true }));

// <base>/host/secret is "the host"; <base>/root is the container's root.
const hostDir = join(base, 'host');
mkdirSync(hostDir);
writeFileSync(join(hostDir, 'secret'), 'host\n');
const rootDir = join(base, 'root');
mkdirSync(join(rootDir, 'etc'), { recursive: true });
mkdirSync(join(rootDir, 'a', 'b'), { recursive: true });
writeFileSync(join(rootDir, 'etc', 'passwd'), 'container\n');
symlinkSync(hostDir, join(rootDir, 'abs'));
symlinkSync(join(hostDir, 'secret'), join(rootDir, 'abs-file'));
symlinkSync('../../../../../../../..', join(rootDir, 'a', 'b', 'up'));
symlinkSync('/etc', join(rootDir, 'etcl'));
symlinkSync('loop2', join(rootDir, 'loop1'));
symlinkSync('loop1', join(rootDir, 'loop2'));
symlinkSync('b', join(rootDir, 'a', 'rel'));

const withRoot = async <T>(fn: (r: ContainerRoot) => Promise<T>): Promise<T> => {
  const root = await ContainerRoot.open(rootDir, 'ctr');
  try {
    return await fn(root);
  } finally {
    await root.close();
  }
};

test('absolute and escaping links resolve inside the root', async () => {
  await withRoot(async (root) => {
    const r = await root.resolve('/etcl/passwd', { followFinal: true });
    assert.equal(r.path, '/etc/passwd');
    await r.parent.close();
    const up = await root.resolve('/a/b/up/etc/passwd', { followFinal: true });
    assert.equal(up.path, '/etc/passwd');
    await up.parent.close();
    const dots = await root.resolve('/../../../etc/./passwd', { followFinal: true });
    assert.equal(dots.path, '/etc/passwd');
    await dots.parent.close();
    for (const p of ['/abs/secret', `/a/b/up${hostDir}/secret`, '/abs-file']) {
      await assert.rejects(root.resolve(p, { followFinal: true }), (e: unknown) => (e as { kind?: string }).kind === 'not-found' && /Could not find the file .* in container ctr/.test((e as Error).message), p);
    }
    const rel = await root.resolve('/a/rel', { followFinal: true });
    assert.equal(rel.path, '/a/b');
    await rel.parent.close();
    const lst = await root.resolve('/a/rel', { followFinal: false });
    assert.equal(lst.stat?.isSymbolicLink(), true);
    await lst.parent.close();
    await assert.rejects(root.resolve('/loop1', { followFinal: true }), /too many levels of symbolic links/);
    const top = await root.resolve('/a/..', { followFinal: true });
    assert.equal(top.path, '/');
    await top.parent.close();
  });
});

test('stat: Go mode bits and the link target in the container', async () => {
  assert.equal(goFileMode(0o040755), (2 ** 31 + 0o755) >>> 0);
  assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
  assert.equal(goFileMode(0o100644 | 0o4000), 2 ** 23 + 0o644);
  assert.equal(goFileMode(0o041777), (2 ** 31 + 2 ** 20 + 0o777) >>> 0);
  assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666);
  await withRoot(async (root) => {
    const s = await statPath(root, '/etcl');
    assert.equal(s.name, 'etcl');
    assert.equal(s.linkTarget, '/etc');
  });
  assert.equal(archiveBase('/a/b/.'), '.');
  assert.equal(archiveBase('/a/b/'), 'b');
  assert.equal(archiveBase('/'), '/');
  assert.equal(followsFinal('/a/'), true);
  assert.equal(followsFinal('/a'), false);
});

test('tar entry names: ../ escapes and absolute names are refused', () => {
  assert.deepEqual(entryPath('a/./b/../c', '/dst'), ['a', 'c']);
  assert.throws(() => entryPath('../x', '/dst'), /"\.\.\/x" is outside of "\/dst"/);
  assert.throws(() => entryPath('a/../../x', '/dst'), /is outside of/);
  assert.throws(() => entryPath('/etc/passwd', '/dst'), /absolute names are refused/);
});

for (const inProcess of [false, true]) {
  test(`extraction never follows a symlink on the way, and a refused archive leaves nothing it created (${inProcess ? 'in process' : 'chrooted tar'})`, { skip: !inProcess && !chrootedUntarAvailable() && 'no chrooted tar here (root, python3, static busybox)' }, async () => {
    const file = (name: string): Parameters<typeof tarBuffer>[0][number] => ({ header: { name, type: 'file', mode: 0o644 }, data: Buffer.from('x') });
    const dir = (name: string): Parameters<typeof tarBuffer>[0][number] => ({ header: { name, type: 'directory', mode: 0o755 } });
    const body = async (entries: Parameters<typeof tarBuffer>[0]): Promise<Readable> => {
      const buf = await tarBuffer(entries);
      // in small pieces, as a socket delivers it: entries and headers span chunks
      return Readable.from(Array.from({ length: Math.ceil(buf.length / 700) }, (_, i) => buf.subarray(i * 700, (i + 1) * 700)));
    };
    await withRoot(async (root) => {
      // a bad entry after good ones: what the good ones created is removed again
      const bad = await body([file('good'), dir('newdir/'), dir('newdir/deeper/'), file('newdir/deeper/f'), file('implied/parent/f'), file('../../escape')]);
      await assert.rejects(extractTo(root, '/a', bad, { noOverwriteDirNonDir: true, inProcess }), /is outside of/);
      assert.deepEqual(readdirSync(join(rootDir, 'a')).sort(), ['b', 'rel']);
      // a garbled archive part way: the same
      const good = await tarBuffer([file('good2'), file('good3')]);
      const garbled = Buffer.from(good);
      garbled[1024 + 10] = 0x41;
      await assert.rejects(extractTo(root, '/a', Readable.from([garbled]), { noOverwriteDirNonDir: true, inProcess }), /bad header checksum/);
      assert.deepEqual(readdirSync(join(rootDir, 'a')).sort(), ['b', 'rel']);
      // an existing symlink to the host in the way of an entry
      await assert.rejects(extractTo(root, '/', await body([file('abs/pwned')]), { noOverwriteDirNonDir: true, inProcess }), /not a directory inside the container/);
      assert.deepEqual(readdirSync(hostDir), ['secret']);
      // the extraction point itself through a link: resolved inside the root
      await extractTo(root, '/etcl', await body([file('through-link')]), { noOverwriteDirNonDir: true, inProcess });
      assert.equal(readFileSync(join(rootDir, 'etc', 'through-link'), 'utf8'), 'x');
      // a gzip upload (docker-py sends them), and a replaced file
      const zipped = gzipSync(await tarBuffer([{ header: { name: 'through-link', type: 'file', mode: 0o600 }, data: Buffer.from('zipped') }]));
      await extractTo(root, '/etc', Readable.from([zipped.subarray(0, 5), zipped.subarray(5)]), { noOverwriteDirNonDir: true, inProcess });
      assert.equal(readFileSync(join(rootDir, 'etc', 'through-link'), 'utf8'), 'zipped');
      await assert.rejects(extractTo(root, '/etc', Readable.from([zipped.subarray(0, 30)]), { noOverwriteDirNonDir: true, inProcess }), /not a valid tar file/);
      await assert.rejects(extractTo(root, '/abs', await body([file('x')]), { noOverwriteDirNonDir: true, inProcess }), /Could not find the file \/abs/);
    });
  });
}

test('overlay changes: added, changed, deleted; mount points hidden', async () => {
  const lower = join(base, 'lower');
  const upper = join(base, 'upper');
  mkdirSync(join(lower, 'etc'), { recursive: true });
  writeFileSync(join(lower, 'etc', 'passwd'), 'p');
  writeFileSync(join(lower, 'etc', 'group'), 'g');
  mkdirSync(join(upper, 'etc'), { recursive: true });
  writeFileSync(join(upper, 'etc', 'passwd'), 'changed');
  writeFileSync(join(upper, 'etc', 'new'), 'n');
  writeFileSync(join(upper, 'etc', 'hosts'), '');
  mkdirSync(join(upper, 'proc'));
  execFileSync('mknod', [join(upper, 'etc', 'group'), 'c', '0', '0']);
  const changes = await overlayChanges(upper, [lower], ['/proc', '/etc/hosts']);
  assert.deepEqual(changes, [
    { Path: '/etc', Kind: 0 },
    { Path: '/etc/group', Kind: 2 },
    { Path: '/etc/new', Kind: 1 },
    { Path: '/etc/passwd', Kind: 0 },
  ]);
  // a parent changed only because of a hidden mount point is left out
  rmSync(join(upper, 'etc'), { recursive: true });
  mkdirSync(join(upper, 'etc'));
  writeFileSync(join(upper, 'etc', 'hosts'), '');
  assert.deepEqual(await overlayChanges(upper, [lower], ['/proc', '/etc/hosts']), []);
});

for (const inProcess of [false, true]) {
  test(`extraction writes directories side by side: every file whole, a name listed twice keeps its last copy, a hard link finds its target (${inProcess ? 'in process' : 'chrooted tar'})`, { skip: !inProcess && !chrootedUntarAvailable() && 'no chrooted tar here (root, python3, static busybox)' }, async () => {
    type Entry = Parameters<typeof tarBuffer>[0][number];
    const expected = new Map<string, Buffer>();
    const entries: Entry[] = [];
    for (let d = 0; d < 12; d++) {
      for (let f = 0; f < 30; f++) {
        // mostly small files, a few past the size written through the thread pool
        const data = Buffer.alloc(f === 7 ? 300_000 : 1000 + ((d * 31 + f * 17) % 5000), `${d}.${f};`);
        entries.push({ header: { name: `tree/d${d}/f${f}`, type: 'file', mode: 0o640 }, data });
        expected.set(`d${d}/f${f}`, data);
      }
    }
    const again = Buffer.from('second copy');
    entries.push({ header: { name: 'tree/d0/f1', type: 'file', mode: 0o600 }, data: again });
    expected.set('d0/f1', again);
    entries.push({ header: { name: 'tree/d5/link', type: 'link', linkname: 'tree/d3/f2' } });
    expected.set('d5/link', expected.get('d3/f2') as Buffer);
    const buf = await tarBuffer(entries);
    const dest = join(rootDir, 'side-by-side');
    mkdirSync(dest);
    try {
      await withRoot(async (root) => {
        await extractTo(root, '/side-by-side', Readable.from(Array.from({ length: Math.ceil(buf.length / 65536) }, (_, i) => buf.subarray(i * 65536, (i + 1) * 65536))), { noOverwriteDirNonDir: true, inProcess });
      });
      for (const [name, data] of expected) assert.ok(readFileSync(join(dest, 'tree', name)).equals(data), name);
      assert.equal(readdirSync(join(dest, 'tree')).length, 12);

      // A refusal with writes still queued: nothing of the new tree is left.
      const bad = await tarBuffer([...entries.slice(0, 200).map((e) => ({ ...e, header: { ...e.header, name: e.header.name.replace('tree/', 'other/') } })), { header: { name: '../../escape', type: 'file', mode: 0o644 }, data: Buffer.from('x') }]);
      await withRoot(async (root) => {
        await assert.rejects(extractTo(root, '/side-by-side', Readable.from([bad]), { noOverwriteDirNonDir: true, inProcess }), /is outside of/);
      });
      assert.deepEqual(readdirSync(dest), ['tree']);
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  });
}
