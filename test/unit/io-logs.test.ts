import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { encodeLogEntry, readLogs, StdcopyDecoder, type LogReadOptions } from '../../src/daemon/io/index.js';

const BASE = 1704067200n * 1_000_000_000n; // 2024-01-01T00:00:00Z
const sec = (n: number): bigint => BASE + BigInt(n) * 1_000_000_000n;

function entry(n: number, stream: 'stdout' | 'stderr', text: string): string {
  return encodeLogEntry({ stream, log: Buffer.from(text), timeNs: sec(n) + 5n }).toString();
}

const defaults: LogReadOptions = {
  stdout: true,
  stderr: true,
  follow: false,
  tail: 'all',
  since: 0,
  until: 0,
  timestamps: false,
  multiplexed: false,
};

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('readLogs', () => {
  let dir = '';
  let fixture = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-io-logs-'));
    fixture = join(dir, 'fixture-json.log');
    // 10 entries one second apart, alternating streams, plus a junk line dockerd would skip.
    let text = '';
    for (let i = 0; i < 10; i++) text += entry(i, i % 2 === 0 ? 'stdout' : 'stderr', `line ${i}\n`);
    text += 'garbage that is not json\n';
    await writeFile(fixture, text);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads everything in order', async () => {
    const out = (await collect(readLogs(fixture, defaults))).toString();
    assert.equal(out, Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(''));
  });

  it('filters streams', async () => {
    const out = (await collect(readLogs(fixture, { ...defaults, stderr: false }))).toString();
    assert.equal(out, 'line 0\nline 2\nline 4\nline 6\nline 8\n');
  });

  it('tails the last N lines (the junk line counts as a line, like dockerd)', async () => {
    const out = (await collect(readLogs(fixture, { ...defaults, tail: 3 }))).toString();
    assert.equal(out, 'line 8\nline 9\n');
    const none = await collect(readLogs(fixture, { ...defaults, tail: 0 }));
    assert.equal(none.length, 0);
    const more = (await collect(readLogs(fixture, { ...defaults, tail: 100 }))).toString();
    assert.equal(more.split('\n').length, 11);
  });

  it('applies since and until (unix seconds)', async () => {
    const since = Number(sec(3) / 1_000_000_000n);
    const until = Number(sec(6) / 1_000_000_000n) + 0.5;
    const out = (await collect(readLogs(fixture, { ...defaults, since, until }))).toString();
    assert.equal(out, 'line 3\nline 4\nline 5\nline 6\n');
  });

  it('prefixes RFC3339Nano timestamps with nine digits', async () => {
    const out = (await collect(readLogs(fixture, { ...defaults, tail: 3, timestamps: true }))).toString();
    assert.equal(out, '2024-01-01T00:00:08.000000005Z line 8\n2024-01-01T00:00:09.000000005Z line 9\n');
  });

  it('frames with stdcopy when multiplexed', async () => {
    const raw = await collect(readLogs(fixture, { ...defaults, tail: 3, multiplexed: true }));
    const frames = new StdcopyDecoder().push(raw);
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, 'line 8\n'],
        [2, 'line 9\n'],
      ],
    );
  });

  it('tails a file bigger than the read block from its end', async () => {
    const big = join(dir, 'big-json.log');
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(entry(i, 'stdout', `entry number ${i} ${'z'.repeat(40)}\n`));
    await writeFile(big, lines.join(''));
    const out = (await collect(readLogs(big, { ...defaults, tail: 2 }))).toString();
    assert.equal(out, `entry number 4998 ${'z'.repeat(40)}\nentry number 4999 ${'z'.repeat(40)}\n`);
  });

  it('treats a missing log as empty', async () => {
    const out = await collect(readLogs(join(dir, 'nope.log'), defaults));
    assert.equal(out.length, 0);
  });

  it('follows new entries until `ended` resolves, then drains and ends', async () => {
    const path = join(dir, 'follow-json.log');
    await writeFile(path, entry(0, 'stdout', 'first\n'));
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const stream = readLogs(path, { ...defaults, follow: true, ended });
    const got: string[] = [];
    stream.on('data', (c: Buffer) => got.push(c.toString()));
    const closed = new Promise<void>((resolve) => stream.once('end', resolve));
    await waitFor(() => got.join('') === 'first\n');
    await appendFile(path, entry(1, 'stderr', 'second\n'));
    await waitFor(() => got.join('') === 'first\nsecond\n');
    // Written just before the end: must still be delivered.
    await appendFile(path, entry(2, 'stdout', 'third\n'));
    end();
    await closed;
    assert.equal(got.join(''), 'first\nsecond\nthird\n');
  });

  it('follows a log that does not exist yet and stops when the signal aborts', async () => {
    const path = join(dir, 'later-json.log');
    const ac = new AbortController();
    const stream = readLogs(path, { ...defaults, follow: true, signal: ac.signal });
    const got: string[] = [];
    stream.on('data', (c: Buffer) => got.push(c.toString()));
    const closed = new Promise<void>((resolve) => stream.once('close', resolve));
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(path, entry(0, 'stdout', 'late\n'));
    await waitFor(() => got.join('') === 'late\n');
    ac.abort();
    await closed;
    assert.equal(stream.destroyed, true);
  });

  it('stops following on destroy without leaking the watcher', async () => {
    const path = join(dir, 'destroy-json.log');
    await writeFile(path, '');
    const stream = readLogs(path, { ...defaults, follow: true });
    stream.resume();
    await new Promise((r) => setTimeout(r, 50));
    const closed = new Promise<void>((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
