// berth's tar reader (docker cp in, build contexts) and writer (docker cp
// out, export): ustar headers, pax records for what does not fit, data read
// from files into the output, read back by the reader and by GNU tar.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { headerSum, streamTar, TarParser, type TarEntry } from '../../src/containerfs/tarscan.js';
import { TarWriter } from '../../src/containerfs/tarwrite.js';
import { tarBuffer } from '../fixtures/images.js';

const base = mkdtempSync(join(tmpdir(), 'berth-tarwrite-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** An entry's data, whole or streamed. */
async function entryBytes(body: Buffer | AsyncIterable<Buffer>): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('headers fit ustar or carry pax records; file data come from the descriptor; GNU tar agrees', async () => {
  const w = new TarWriter();
  const collected = collect(w.stream);
  const mtime = new Date('2022-02-03T04:05:06Z');
  const longName = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(120)}`;
  const split = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
  const file = join(base, 'data');
  const content = Buffer.alloc(3 * 1024 * 1024 + 7, 5);
  writeFileSync(file, content);
  await w.header({ name: 'dir/', type: 'directory', mode: 0o750, uid: 1, gid: 2, size: 0, mtime });
  await w.header({ name: 'dir/data', type: 'file', mode: 0o640, uid: 3, gid: 4, size: content.length, mtime });
  const fd = openSync(file, 'r');
  try {
    await w.file(fd, content.length);
  } finally {
    closeSync(fd);
  }
  await w.header({ name: longName, type: 'file', mode: 0o600, uid: 0, gid: 0, size: 2, mtime });
  await w.bytes(Buffer.from('hi'));
  await w.header({ name: split, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime, linkname: 'l'.repeat(150) });
  await w.header({ name: 'ünï', type: 'fifo', mode: 0o644, uid: 9_000_000, gid: 5, size: 0, mtime });
  await w.header({ name: 'null', type: 'character-device', mode: 0o666, uid: 0, gid: 0, size: 0, mtime, devmajor: 1, devminor: 3 });
  await w.finish();
  const tar = await collected;
  assert.equal(tar.length % 512, 0);
  const seen: Array<[string, string, number, number, string]> = [];
  let data: Buffer = Buffer.alloc(0);
  for await (const { entry, body } of streamTar(Readable.from([tar]), 1 << 20)) {
    const got = await entryBytes(body);
    if (entry.name === 'dir/data') data = got;
    seen.push([entry.name, entry.type, entry.mode, entry.uid, entry.linkname]);
    assert.equal(entry.mtime.getTime(), mtime.getTime());
  }
  assert.deepEqual(seen, [
    ['dir/', 'directory', 0o750, 1, ''],
    ['dir/data', 'file', 0o640, 3, ''],
    [longName, 'file', 0o600, 0, ''],
    [split, 'symlink', 0o777, 0, 'l'.repeat(150)],
    ['ünï', 'fifo', 0o644, 9_000_000, ''],
    ['null', 'character-device', 0o666, 0, ''],
  ]);
  assert.ok(data.equals(content));
  const archive = join(base, 'out.tar');
  writeFileSync(archive, tar);
  const listed = execFileSync('tar', ['-tvf', archive, '--numeric-owner'], { env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' } }).toString();
  assert.match(listed, /^drwxr-x--- 1\/2 +0 2022-02-03 04:05 dir\/$/m);
  assert.match(listed, new RegExp(`^-rw-r----- 3/4 +${content.length} 2022-02-03 04:05 dir/data$`, 'm'));
  assert.ok(listed.includes(longName));
  assert.ok(listed.includes(`${split} -> ${'l'.repeat(150)}`));
  assert.match(listed, /^prw-r--r-- 9000000\/5 .* ünï$/m);
  assert.match(listed, /^crw-rw-rw- 0\/0 +1,3 .* null$/m);
});

test('a reader that goes away stops the writer', async () => {
  const w = new TarWriter();
  w.stream.destroy();
  await assert.rejects(async () => {
    for (let i = 0; i < 5000; i++) {
      await w.header({ name: `f${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 512, mtime: new Date() });
      await w.bytes(Buffer.alloc(512));
    }
  }, /went away/);
});

test('the streaming tar reader: ustar prefixes, pax names, links, checksums, big entries streamed', async () => {
  const read = async (buf: Buffer, piece = 300, gather = 1 << 20): Promise<Array<{ name: string; type: string; mode: number; uid: number; linkname: string; data: Buffer }>> => {
    const out = [];
    const chunks = Array.from({ length: Math.ceil(buf.length / piece) }, (_, i) => buf.subarray(i * piece, (i + 1) * piece));
    for await (const { entry, body } of streamTar(Readable.from(chunks), gather)) {
      out.push({ ...entry, data: await entryBytes(body) });
    }
    return out;
  };
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const buf = await tarBuffer([
    { header: { name: 'dir/', type: 'directory', mode: 0o750, uid: 7, gid: 8 } },
    { header: { name: long, type: 'file', mode: 0o600 }, data: Buffer.from('long') },
    { header: { name: 'sym', type: 'symlink', linkname: 'x'.repeat(150) } },
    { header: { name: 'hard', type: 'link', linkname: 'dir/' } },
  ]);
  const entries = await read(buf);
  assert.deepEqual(entries.map((e) => [e.name, e.type]), [['dir/', 'directory'], [long, 'file'], ['sym', 'symlink'], ['hard', 'link']]);
  assert.equal(entries[0]?.mode, 0o750);
  assert.equal(entries[0]?.uid, 7);
  assert.equal(entries[1]?.data.toString(), 'long');
  assert.equal(entries[2]?.linkname, 'x'.repeat(150));
  const broken = Buffer.from(buf);
  broken[10] = 0x41;
  await assert.rejects(read(broken), /bad header checksum/);
  await assert.rejects(read(buf.subarray(0, 700)), /unexpected end/);
  // data over the gather limit stream in pieces; an entry left unread is skipped
  const big = Buffer.alloc(5000, 7);
  const two = await tarBuffer([{ header: { name: 'big', type: 'file', mode: 0o644 }, data: big }, { header: { name: 'after', type: 'file', mode: 0o644 }, data: Buffer.from('a') }]);
  const streamed = await read(two, 333, 1000);
  assert.deepEqual(streamed.map((e) => [e.name, e.data.length]), [['big', 5000], ['after', 1]]);
  assert.ok(streamed[0]!.data.equals(big));
  const names: string[] = [];
  for await (const { entry } of streamTar(Readable.from([two]), 1000)) names.push(entry.name);
  assert.deepEqual(names, ['big', 'after']);
});

test('the header checksum sums the bytes with the checksum field as spaces, whatever the bytes', () => {
  for (const fill of [0, 0xff, -1]) {
    const h = Buffer.alloc(512, fill < 0 ? 0 : fill);
    if (fill < 0) for (let i = 0; i < 512; i++) h[i] = (i * 131 + 7) & 0xff;
    let want = 0;
    for (let i = 0; i < 512; i++) want += i >= 148 && i < 156 ? 32 : (h[i] as number);
    assert.equal(headerSum(h), want);
    // a view at an odd offset of a bigger chunk, as headers arrive
    const chunk = Buffer.alloc(1027);
    h.copy(chunk, 3);
    assert.equal(headerSum(chunk.subarray(3, 515)), want);
  }
});

/** Everything the push parser hands on, for a tar cut into pieces of `piece` bytes. */
function pushRead(buf: Buffer, piece: number): Array<{ entry: Omit<TarEntry, 'data'>; data: Buffer }> {
  const out: Array<{ entry: Omit<TarEntry, 'data'>; data: Buffer[] }> = [];
  let open = false;
  const parser = new TarParser({
    entry: (entry) => {
      assert.equal(open, false);
      open = true;
      out.push({ entry, data: [] });
    },
    data: (b) => {
      assert.equal(open, true);
      out.at(-1)!.data.push(Buffer.from(b));
    },
    end: () => {
      assert.equal(open, true);
      open = false;
    },
  });
  for (let i = 0; i < buf.length; i += piece) parser.write(buf.subarray(i, i + piece));
  parser.finish();
  return out.map((e) => ({ entry: e.entry, data: Buffer.concat(e.data) }));
}

test('the push tar reader gives what the streaming reader gives, however the bytes are cut', async () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const big = Buffer.alloc(70_000, 9);
  const buf = await tarBuffer([
    { header: { name: 'dir/', type: 'directory', mode: 0o750, uid: 7, gid: 8 } },
    { header: { name: long, type: 'file', mode: 0o600 }, data: Buffer.from('long') },
    { header: { name: 'empty', type: 'file', mode: 0o644 }, data: Buffer.alloc(0) },
    { header: { name: 'big', type: 'file', mode: 0o644 }, data: big },
    { header: { name: 'sym', type: 'symlink', linkname: 'x'.repeat(150) } },
    { header: { name: 'hard', type: 'link', linkname: 'dir/' } },
  ]);
  const expected: Array<{ entry: Omit<TarEntry, 'data'>; data: Buffer }> = [];
  for await (const { entry, body } of streamTar(Readable.from([buf]), 1 << 20)) expected.push({ entry, data: await entryBytes(body) });
  assert.deepEqual(expected.map((e) => e.entry.name), ['dir/', long, 'empty', 'big', 'sym', 'hard']);
  for (const piece of [1, 7, 300, 511, 512, 513, 4096, 65_536, buf.length]) {
    const got = pushRead(buf, piece);
    assert.deepEqual(got.map((e) => e.entry), expected.map((e) => e.entry), `pieces of ${piece}`);
    for (const [i, e] of got.entries()) assert.ok(e.data.equals(expected[i]!.data), `data of ${e.entry.name}, pieces of ${piece}`);
  }
  // The CLI's rewrite of a context ends without padding and end blocks; a cut inside a header or data is an error.
  const noEnd = await tarBuffer([{ header: { name: 'a', type: 'file', mode: 0o644 }, data: Buffer.from('abc') }]);
  assert.deepEqual(pushRead(noEnd.subarray(0, 515), 100).map((e) => e.data.toString()), ['abc']);
  assert.throws(() => pushRead(buf.subarray(0, 700), 100), /unexpected end of archive/);
  assert.throws(() => pushRead(noEnd.subarray(0, 514), 100), /unexpected end of data/);
  const broken = Buffer.from(buf);
  broken[10] = 0x41;
  assert.throws(() => pushRead(broken, 1000), /bad header checksum at offset 0/);
  // Whatever follows the end blocks is dropped.
  const trailer = Buffer.concat([noEnd, Buffer.from('garbage')]);
  assert.deepEqual(pushRead(trailer, 64).map((e) => e.entry.name), ['a']);
});
