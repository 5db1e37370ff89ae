import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { extractPluginContext } from '../../src/plugins/index.js';

type Entry = Partial<Header> & { name: string; content?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ mode: 0o644, ...header }, content ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const root = mkdtempSync(join(tmpdir(), 'berth-plugin-archive-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `rootfs-${++n}`);

const good: Entry[] = [
  { name: 'config.json', content: '{"Entrypoint":["/bin/x"]}' },
  { name: 'rootfs', type: 'directory', mode: 0o755 },
  { name: 'rootfs/bin', type: 'directory', mode: 0o755 },
  { name: 'rootfs/bin/x', content: '#!/bin/sh\n', mode: 0o755 },
  { name: 'rootfs/bin/y', type: 'symlink', linkname: 'x' },
  { name: 'rootfs/bin/z', type: 'link', linkname: 'rootfs/bin/x' },
  { name: 'rootfs/etc/deep/file', content: 'parents are created' },
  { name: 'rootfs/dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
  { name: 'README', content: 'ignored' },
];

function invalid(pattern: RegExp): (err: Error & { kind?: string }) => boolean {
  return (err) => err.kind === 'invalid-parameter' && pattern.test(err.message);
}

describe('plugin create context', () => {
  it('keeps config.json and unpacks rootfs/ with modes, links and parents', async () => {
    const dir = fresh();
    const out = await extractPluginContext(Readable.from([await tarOf(good)]), dir);
    assert.equal(out.configJson.toString(), '{"Entrypoint":["/bin/x"]}');
    assert.match(out.diffId, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(out.skipped, ['rootfs/dev/null']);
    assert.equal(readFileSync(join(dir, 'bin/x'), 'utf8'), '#!/bin/sh\n');
    assert.equal(statSync(join(dir, 'bin/x')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(dir, 'bin/y')), 'x');
    assert.equal(statSync(join(dir, 'bin/z')).ino, statSync(join(dir, 'bin/x')).ino);
    assert.equal(readFileSync(join(dir, 'etc/deep/file'), 'utf8'), 'parents are created');
    assert.ok(!existsSync(join(dir, 'README')) && !existsSync(join(dir, 'config.json')));
  });

  it('accepts a gzipped context (docker plugin create --compress), with the same diff id', async () => {
    const tar = await tarOf(good);
    const plain = await extractPluginContext(Readable.from([tar]), fresh());
    const zipped = await extractPluginContext(Readable.from([gzipSync(tar)]), fresh());
    assert.equal(zipped.diffId, plain.diffId);
  });

  it('refuses entries that leave the rootfs', async () => {
    const up = await tarOf([{ name: 'config.json', content: '{}' }, { name: 'rootfs/../../escape', content: 'x' }]);
    await assert.rejects(extractPluginContext(Readable.from([up]), fresh()), invalid(/points outside the context/));
    const through = await tarOf([
      { name: 'config.json', content: '{}' },
      { name: 'rootfs/etc', type: 'symlink', linkname: '/etc' },
      { name: 'rootfs/etc/evil', content: 'x' },
    ]);
    const dir = fresh();
    await assert.rejects(extractPluginContext(Readable.from([through]), dir), invalid(/lies under a symbolic link \(etc\)/));
    assert.ok(lstatSync(join(dir, 'etc')).isSymbolicLink());
    assert.ok(!existsSync('/etc/evil'));
    const hard = await tarOf([{ name: 'config.json', content: '{}' }, { name: 'rootfs/passwd', type: 'link', linkname: '/etc/passwd' }]);
    await assert.rejects(extractPluginContext(Readable.from([hard]), fresh()), invalid(/hard link rootfs\/passwd points outside rootfs/));
  });

  it('says what is missing', async () => {
    const noConfig = await tarOf([{ name: 'rootfs/x', content: 'x' }]);
    await assert.rejects(extractPluginContext(Readable.from([noConfig]), fresh()), invalid(/config\.json not found/));
    const noRootfs = await tarOf([{ name: 'config.json', content: '{}' }]);
    await assert.rejects(extractPluginContext(Readable.from([noRootfs]), fresh()), invalid(/rootfs\/ not found/));
    await assert.rejects(extractPluginContext(Readable.from([]), fresh()), invalid(/the request body is empty/));
    await assert.rejects(extractPluginContext(Readable.from([Buffer.from('not a tar at all, just some text that goes on')]), fresh()), invalid(/invalid plugin context/));
  });
});
