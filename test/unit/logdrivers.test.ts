import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { decodeLogEntry, readLogs, type LogReadOptions } from '../../src/daemon/io/index.js';
import { LogFileWriter } from '../../src/daemon/io/log-writer.js';
import { expandTag, logAttributes, parseHumanSize, resolveLogConfig, rotationOf, type LogSubject } from '../../src/logdrivers/index.js';
import { silentLogger } from '../../src/log/index.js';

const defaults = { driver: 'json-file', opts: {} };

describe('log driver configuration', () => {
  it('an empty type is the daemon default, whose options fill the unset ones', () => {
    assert.deepEqual(resolveLogConfig(undefined, defaults), { Type: 'json-file', Config: {} });
    assert.deepEqual(resolveLogConfig({ Type: '', Config: { 'max-file': '2' } }, { driver: 'json-file', opts: { 'max-size': '1m', 'max-file': '9' } }), {
      Type: 'json-file',
      Config: { 'max-size': '1m', 'max-file': '2' },
    });
    // Another driver than the default takes none of the default's options.
    assert.deepEqual(resolveLogConfig({ Type: 'none', Config: {} }, { driver: 'json-file', opts: { 'max-size': '1m' } }), { Type: 'none', Config: {} });
    assert.deepEqual(resolveLogConfig({ Type: '' }, { driver: 'local', opts: {} }), { Type: 'local', Config: {} });
  });

  it("refuses with dockerd's messages", () => {
    const refuse = (type: string, config: Record<string, string>, re: RegExp): void =>
      assert.throws(() => resolveLogConfig({ Type: type, Config: config }, defaults), (err: Error & { kind?: string }) => err.kind === 'invalid-parameter' && re.test(err.message));
    refuse('syslog', {}, /^logger: no log driver named 'syslog' is registered$/);
    refuse('json-file', { 'max-size': 'ten' }, /^invalid size: 'ten'$/);
    refuse('json-file', { 'max-size': '0' }, /^max-size must be a positive number$/);
    refuse('json-file', { 'max-file': 'x' }, /invalid syntax/);
    refuse('json-file', { 'max-file': '0' }, /^max-file cannot be less than 1$/);
    refuse('json-file', { compress: 'true', 'max-size': '1k' }, /^compress cannot be true when max-file is less than 2 or max-size is not set$/);
    refuse('json-file', { nope: '1' }, /^unknown log opt 'nope' for json-file log driver$/);
    refuse('local', { labels: 'a' }, /^unknown log opt 'labels' for local log driver$/);
    assert.doesNotThrow(() => resolveLogConfig({ Type: 'none', Config: { anything: 'x' } }, defaults));
  });

  it('sizes and rotation as dockerd reads them', () => {
    assert.equal(parseHumanSize('10k'), 10_000);
    assert.equal(parseHumanSize('1.5m'), 1_500_000);
    assert.equal(parseHumanSize('2MiB'), 2_000_000);
    assert.equal(parseHumanSize('100'), 100);
    assert.deepEqual(rotationOf('json-file', {}), { maxSize: undefined, maxFile: 1, compress: false });
    assert.deepEqual(rotationOf('json-file', { 'max-size': '1k', 'max-file': '3', compress: 'true' }), { maxSize: 1000, maxFile: 3, compress: true });
    assert.deepEqual(rotationOf('local', {}), { maxSize: 20 * 1024 * 1024, maxFile: 5, compress: true });
    assert.deepEqual(rotationOf('local', { 'max-file': '1' }), { maxSize: 20 * 1024 * 1024, maxFile: 1, compress: false });
  });

  it('attributes: named labels and env, regexes, and the tag template', () => {
    const s: LogSubject = {
      id: 'a'.repeat(64), name: '/web', imageName: 'busybox:latest', imageId: `sha256:${'b'.repeat(64)}`, command: 'sh -c x',
      labels: { app: 'shop', tier: 'front', other: 'x' }, env: ['A=1', 'B=2=3', 'PATH=/bin'], daemonName: 'berth',
    };
    assert.deepEqual(logAttributes({ labels: 'app,missing', 'labels-regex': '^ti', env: 'B', 'env-regex': '^A$', tag: '{{.Name}}/{{.ID}}' }, s), {
      app: 'shop', tier: 'front', B: '2=3', A: '1', tag: `web/${'a'.repeat(12)}`,
    });
    assert.deepEqual(logAttributes({}, s), {});
    assert.equal(expandTag('{{.ImageName}} {{.ImageID}} {{.FullID}} {{.DaemonName}} {{.Nope}}', s), `busybox:latest ${'b'.repeat(12)} ${'a'.repeat(64)} berth {{.Nope}}`);
  });
});

const read: LogReadOptions = { stdout: true, stderr: true, follow: false, tail: 'all', since: 0, until: 0, timestamps: false, multiplexed: false };

async function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const lineText = (i: number): string => `line ${String(i).padStart(5, '0')} ${'x'.repeat(30)}\n`;
const expected = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => lineText(from + k)).join('');

describe('json-file rotation', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-rotate-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('rotates past max-size, keeps max-file files (gzipped), and docker logs reads them in order, tail across files', async () => {
    const path = join(dir, 'c1-json.log');
    const w = await LogFileWriter.open(path, silentLogger(), { maxSize: 4000, maxFile: 4, compress: true, attrs: { tag: 't' } });
    for (let i = 0; i < 200; i++) w.append({ stream: i % 10 === 9 ? 'stderr' : 'stdout', log: Buffer.from(lineText(i)), timeNs: BigInt(i + 1) * 1_000_000_000n });
    await w.close();
    const names = (await readdir(dir)).filter((n) => n.startsWith('c1-json.log')).sort();
    assert.deepEqual(names, ['c1-json.log', 'c1-json.log.1.gz', 'c1-json.log.2.gz', 'c1-json.log.3.gz']);
    const all = await collect(readLogs(path, read));
    const lines = all.split('\n').filter((l) => l !== '');
    // Older files were dropped: what is left is a contiguous, ordered end of the output.
    const first = Number(/line (\d+)/.exec(lines[0] ?? '')?.[1]);
    assert.ok(first > 0 && first < 150, `first kept line ${first}`);
    assert.equal(all, expected(first, 200));
    assert.ok(200 - first > 60);
    assert.equal(await collect(readLogs(path, { ...read, tail: 60 })), expected(140, 200));
    assert.equal(await collect(readLogs(path, { ...read, tail: 3 })), expected(197, 200));
    assert.equal(await collect(readLogs(path, { ...read, tail: 100000 })), all);
    assert.equal(await collect(readLogs(path, { ...read, stdout: false })), lines.filter((l) => /line \d+9 /.test(l)).map((l) => `${l}\n`).join(''));
  });

  it('writes attrs before the time, as dockerd does', async () => {
    const path = join(dir, 'c2-json.log');
    const w = await LogFileWriter.open(path, silentLogger(), { attrs: { tag: 'web', app: 'a"b' } });
    w.append({ stream: 'stdout', log: Buffer.from('hi\n'), timeNs: 1_000_000_000n });
    await w.close();
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(path, 'utf8');
    assert.equal(text, '{"log":"hi\\n","stream":"stdout","attrs":{"tag":"web","app":"a\\"b"},"time":"1970-01-01T00:00:01Z"}\n');
    assert.equal(decodeLogEntry(text.trim())?.text, 'hi\n');
  });

  it('a follow goes on into the new file when the current one is rotated away, losing nothing', async () => {
    const path = join(dir, 'c3-json.log');
    const w = await LogFileWriter.open(path, silentLogger(), { maxSize: 2000, maxFile: 1000 });
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    const following = collect(readLogs(path, { ...read, follow: true, ended }));
    for (let i = 0; i < 300; i++) {
      w.append({ stream: 'stdout', log: Buffer.from(lineText(i)), timeNs: BigInt(i + 1) });
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await w.flushed();
    end();
    assert.equal(await following, expected(0, 300));
    await w.close();
    assert.ok((await readdir(dir)).filter((n) => n.startsWith('c3-json.log.')).length > 5);
  });
});
