// The upload plan (what an entry creates, replaces or is refused for), the
// static-ELF check that lets busybox run chrooted, and the two unpackers
// (chrooted tar, in process) leaving the same tree behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContainerRoot, extractTo } from '../../src/containerfs/index.js';
import { UnpackPlan, type OnDisk } from '../../src/containerfs/unpack-plan.js';
import { chrootedUntarAvailable, isStaticElf } from '../../src/containerfs/untar.js';
import { tarBuffer } from '../fixtures/images.js';

const base = mkdtempSync(join(tmpdir(), 'berth-untar-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** A plan over a pretend disk: `disk` maps `dir/name` to what is there. */
function planOver(disk: Record<string, OnDisk>, noOverwrite = true): { plan: UnpackPlan; probes: string[] } {
  const probes: string[] = [];
  const plan = new UnpackPlan('/dst', noOverwrite, (dir, name) => {
    const key = dir === '' ? name : `${dir}/${name}`;
    probes.push(key);
    return disk[key] ?? 'missing';
  });
  return { plan, probes };
}

test('plan: what an upload creates is known without asking the disk below a new directory', () => {
  const { plan, probes } = planOver({ etc: 'dir' });
  assert.deepEqual(plan.entry(['new'], true, 'new/'), { key: 'new', removeFirst: undefined });
  for (let i = 0; i < 3; i++) plan.entry(['new', 'd', `f${i}`], false, `new/d/f${i}`);
  plan.entry(['etc', 'x'], false, 'etc/x');
  plan.entry(['implied', 'deep', 'f'], false, 'implied/deep/f');
  // the disk was asked for names outside what the upload made only
  assert.deepEqual(probes, ['new', 'etc', 'etc/x', 'implied']);
  // undone by removing the topmost names it made, never what was there
  assert.deepEqual(plan.created, ['new', 'etc/x', 'implied']);
});

test('plan: symlinks and files in the way, noOverwriteDirNonDir both ways, replacements', () => {
  const strict = planOver({ lnk: 'other', file: 'other', dir: 'dir' }).plan;
  assert.throws(() => strict.entry(['lnk', 'x'], false, 'lnk/x'), /cannot extract into \/dst\/lnk: it is not a directory inside the container/);
  assert.throws(() => strict.entry(['dir'], false, 'dir'), { message: 'cannot overwrite directory "/dst/dir" with non-directory "dir"' });
  assert.throws(() => strict.entry(['file'], true, 'file/'), { message: 'cannot overwrite non-directory "/dst/file" with directory "file/"' });
  // a symlink the archive itself made is in the way too
  strict.entry(['made'], false, 'made');
  assert.throws(() => strict.entry(['made', 'y'], false, 'made/y'), /not a directory inside the container/);
  assert.throws(() => strict.directory(['made', 'z']), /not a directory inside the container/);

  const loose = planOver({ file: 'other', dir: 'dir' }, false).plan;
  assert.deepEqual(loose.entry(['dir'], false, 'dir'), { key: 'dir', removeFirst: 'dir' });
  assert.deepEqual(loose.entry(['file'], true, 'file/'), { key: 'file', removeFirst: 'other' });
  // what the archive put below a directory that went is gone with it
  loose.entry(['t'], true, 't/');
  loose.entry(['t', 'inner'], true, 't/inner/');
  assert.deepEqual(loose.entry(['t'], false, 't'), { key: 't', removeFirst: 'dir' });
  assert.deepEqual(loose.entry(['t'], true, 't/'), { key: 't', removeFirst: 'other' });
  assert.deepEqual(loose.entry(['t', 'inner', 'f'], false, 't/inner/f'), { key: 't/inner/f', removeFirst: undefined });
  // a replaced name is not the upload's to remove again
  assert.deepEqual(loose.created, ['t']);
});

test('static ELF check: busybox-static runs in any root, a dynamic program or garbage does not', () => {
  const head = (path: string): Buffer => readFileSync(path).subarray(0, 4096);
  assert.equal(isStaticElf(head('/bin/busybox')), true);
  assert.equal(isStaticElf(head(process.execPath)), false);
  assert.equal(isStaticElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64))), false);
  assert.equal(isStaticElf(Buffer.alloc(10)), false);
  // program headers past the bytes given: not known to be static
  const cut = Buffer.from(head('/bin/busybox').subarray(0, 64));
  assert.equal(isStaticElf(cut), false);
});

type Entry = Parameters<typeof tarBuffer>[0][number];
const when = (s: number): Date => new Date(s * 1000);

/** Each name below `dir` with its type, mode, owner, times (not of symlinks' targets), link count and content. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const p = join(rel, n);
      const st = lstatSync(join(dir, p));
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link->${readlinkSync(join(dir, p))}` : st.isFIFO() ? 'fifo' : `file:${readFileSync(join(dir, p), 'utf8')}`;
      // directories the upload implied get the time of the upload
      const mtime = st.isDirectory() && st.mtimeMs > 1.5e12 ? 'now' : String(Math.floor(st.mtimeMs / 1000));
      out.push(`${p} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${mtime} ${st.nlink}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

test('the chrooted tar leaves what the in-process unpacker leaves: set-id bits, owners, symlinks, times, replacements', { skip: !chrootedUntarAvailable() && 'no chrooted tar here (root, python3, static busybox)' }, async () => {
  const entries: Entry[] = [
    { header: { name: 't/', type: 'directory', mode: 0o750, uid: 5, gid: 6, mtime: when(978307200) } },
    { header: { name: 't/suid', type: 'file', mode: 0o4755, uid: 1000, gid: 1000, mtime: when(1e9) }, data: Buffer.from('s') },
    { header: { name: 't/sgid', type: 'file', mode: 0o2711, uid: 0, gid: 50, mtime: when(1e9) }, data: Buffer.from('g') },
    { header: { name: 't/lnk', type: 'symlink', linkname: '/etc/passwd', mode: 0o777, uid: 7, gid: 8, mtime: when(1009843200) } },
    { header: { name: 't/hard', type: 'link', linkname: 't/suid' } },
    { header: { name: 't/sub/deep/f', type: 'file', mode: 0o600, uid: 3, gid: 3, mtime: when(1e9) }, data: Buffer.from('z') },
    { header: { name: 't/fifo', type: 'fifo', mode: 0o640, uid: 12, gid: 34, mtime: when(1e9) } },
    { header: { name: 't/sticky/', type: 'directory', mode: 0o1777, mtime: when(1040000000) } },
    { header: { name: 't/./odd/../n', type: 'file', mode: 0o644, mtime: when(1e9) }, data: Buffer.from('n') },
    // replacements (noOverwriteDirNonDir off): a file, a directory and a symlink where the other kind stood
    { header: { name: 'r/wasfile/', type: 'directory', mode: 0o755, mtime: when(1e9) } },
    { header: { name: 'r/wasfile/inner', type: 'file', mode: 0o644, mtime: when(1e9) }, data: Buffer.from('i') },
    { header: { name: 'r/wasdir', type: 'file', mode: 0o644, mtime: when(1e9) }, data: Buffer.from('f') },
    { header: { name: 'r/waslink/', type: 'directory', mode: 0o755, mtime: when(1e9) } },
    { header: { name: 'r/old', type: 'file', mode: 0o644, mtime: when(1e9) }, data: Buffer.from('new') },
  ];
  const seen: string[][] = [];
  for (const inProcess of [false, true]) {
    const root = join(base, inProcess ? 'in-process' : 'chrooted');
    mkdirSync(join(root, 'dst', 'r', 'wasdir', 'sub'), { recursive: true });
    writeFileSync(join(root, 'dst', 'r', 'wasdir', 'sub', 'x'), 'x');
    writeFileSync(join(root, 'dst', 'r', 'wasfile'), 'f');
    writeFileSync(join(root, 'dst', 'r', 'old'), 'old');
    symlinkSync('/etc', join(root, 'dst', 'r', 'waslink'));
    const held = await ContainerRoot.open(root, 'ctr');
    try {
      await extractTo(held, '/dst', Readable.from([await tarBuffer(entries)]), { noOverwriteDirNonDir: false, inProcess });
      // the owner of cp -a for every entry
      await extractTo(held, '/dst', Readable.from([await tarBuffer([{ header: { name: 'a/f', type: 'file', mode: 0o640, uid: 1, gid: 2 }, data: Buffer.from('a') }])]), { noOverwriteDirNonDir: true, owner: { uid: 77, gid: 88 }, inProcess });
    } finally {
      await held.close();
    }
    seen.push(listing(join(root, 'dst')).map((l) => (l.startsWith('r ') || l.startsWith('a ') ? l.replace(/ \d+ (\d+)$/, ' - $1') : l)));
  }
  const [chrooted, inProcess] = seen as [string[], string[]];
  assert.deepEqual(chrooted, inProcess);
  assert.ok(chrooted.includes('t/suid file:s 4755 1000:1000 1000000000 2'), chrooted.join('\n'));
  assert.ok(chrooted.includes('t/lnk link->/etc/passwd 777 7:8 1009843200 1'), chrooted.join('\n'));
  assert.ok(chrooted.some((l) => l.startsWith('t dir 750 5:6 978307200 ')), chrooted.join('\n'));
  assert.ok(chrooted.some((l) => /^a\/f file:a 640 77:88 \d+ 1$/.test(l)), chrooted.join('\n'));
  assert.ok(chrooted.some((l) => l.startsWith('r/waslink dir 755')), chrooted.join('\n'));
});

test('the chrooted tar: a failing writer is the error, and what the upload made is removed', { skip: !chrootedUntarAvailable() && 'no chrooted tar here (root, python3, static busybox)' }, async () => {
  const root = join(base, 'failing');
  mkdirSync(join(root, 'dst'), { recursive: true });
  const held = await ContainerRoot.open(root, 'ctr');
  try {
    // a hard link to a name that is nowhere: busybox cannot make it
    const tar = await tarBuffer([
      { header: { name: 'made/', type: 'directory', mode: 0o755 } },
      { header: { name: 'made/f', type: 'file', mode: 0o644 }, data: Buffer.from('x') },
      { header: { name: 'made/h', type: 'link', linkname: 'nowhere' } },
    ]);
    await assert.rejects(extractTo(held, '/dst', Readable.from([tar]), { noOverwriteDirNonDir: true }), (err: unknown) => (err as { kind?: string }).kind === 'internal' && /extracting the archive: .*nowhere/.test((err as Error).message));
    assert.deepEqual(readdirSync(join(root, 'dst')), []);
  } finally {
    await held.close();
  }
});
