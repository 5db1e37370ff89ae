// Ingests through containerd's content folder: where files go, and the
// partial download (resume, restart, verification) on a temporary folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { blobPath, contentRootOf, download, isStale, partialPath, resumeAt, STALE_MS } from '../../src/containerd/content-direct.js';

const HEX = 'a'.repeat(64);

test('the content root comes from the content plugin of the local store', () => {
  assert.equal(contentRootOf([{ type: 'io.containerd.content.v1', id: 'content', exports: { root: '/var/lib/containerd/io.containerd.content.v1.content' } }]), '/var/lib/containerd/io.containerd.content.v1.content');
  assert.equal(contentRootOf([{ type: 'io.containerd.snapshotter.v1', id: 'overlayfs', exports: { root: '/x' } }]), undefined);
  assert.equal(contentRootOf([{ type: 'io.containerd.content.v1', id: 'content', exports: {} }]), undefined);
  assert.equal(contentRootOf([{ type: 'io.containerd.content.v1', id: 'content', exports: { root: 'relative' } }]), undefined);
  assert.equal(contentRootOf([]), undefined);
});

test('blob and partial paths: sha256 digests only, one partial per namespace', () => {
  assert.equal(blobPath('/r', `sha256:${HEX}`), `/r/blobs/sha256/${HEX}`);
  assert.equal(blobPath('/r', `sha512:${HEX}${HEX}`), undefined);
  assert.equal(blobPath('/r', 'sha256:../../etc'), undefined);
  assert.equal(partialPath('/r', 'berth', `sha256:${HEX}`), `/r/berth-ingest/berth-${HEX}`);
  assert.equal(partialPath('/r', 'a/b', `sha256:${HEX}`), undefined);
  assert.equal(partialPath('/r', 'berth', 'sha256:ABC'), undefined);
});

test('resume points and stale partial files', () => {
  assert.equal(resumeAt(0, 10), 0);
  assert.equal(resumeAt(4, 10), 4);
  assert.equal(resumeAt(10, 10), 10);
  assert.equal(resumeAt(11, 10), 0);
  const now = Date.now();
  assert.equal(isStale(now - STALE_MS - 1, now), true);
  assert.equal(isStale(now - 1000, now), false);
});

function blobOf(n: number): { data: Buffer; expected: { digest: string; size: number } } {
  const data = randomBytes(n);
  return { data, expected: { digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: n } };
}

/** A source answering from `offset` in 100 KiB pieces, or from 0 when `ranges` is false. */
function sourceOf(data: Buffer, opts: { ranges?: boolean; opened?: number[] } = {}) {
  return async (offset: number) => {
    opts.opened?.push(offset);
    const from = opts.ranges === false ? 0 : offset;
    const pieces: Buffer[] = [];
    for (let at = from; at < data.length; at += 100 * 1024) pieces.push(data.subarray(at, Math.min(at + 100 * 1024, data.length)));
    return { offset: from, stream: Readable.from(pieces) };
  };
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync('/tmp/berth-direct-');
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'a download lands whole, verified, read-only, with progress up to the size',
  withDir(async (dir) => {
    const { data, expected } = blobOf(3 * 1024 * 1024 + 17);
    const path = join(dir, 'p');
    const seen: number[] = [];
    await download(path, expected, sourceOf(data), (o) => seen.push(o));
    assert.ok(readFileSync(path).equals(data));
    assert.equal(statSync(path).mode & 0o777, 0o444);
    assert.equal(seen.at(-1), data.length);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen);
  }),
);

test(
  'an interrupted download resumes after what the file holds',
  withDir(async (dir) => {
    const { data, expected } = blobOf(2 * 1024 * 1024);
    const path = join(dir, 'p');
    writeFileSync(path, data.subarray(0, 700_000));
    const opened: number[] = [];
    await download(path, expected, sourceOf(data, { opened }));
    assert.deepEqual(opened, [700_000]);
    assert.ok(readFileSync(path).equals(data));
  }),
);

test(
  'a source without ranges starts the file over',
  withDir(async (dir) => {
    const { data, expected } = blobOf(1024 * 1024 + 5);
    const path = join(dir, 'p');
    writeFileSync(path, data.subarray(0, 1000));
    await download(path, expected, sourceOf(data, { ranges: false }));
    assert.ok(readFileSync(path).equals(data));
  }),
);

test(
  'a complete file is not downloaded again',
  withDir(async (dir) => {
    const { data, expected } = blobOf(300_000);
    const path = join(dir, 'p');
    writeFileSync(path, data);
    const opened: number[] = [];
    await download(path, expected, sourceOf(data, { opened }));
    assert.deepEqual(opened, []);
  }),
);

test(
  'wrong bytes, too many or too few fail as a conflict naming digest or size, and leave no file',
  withDir(async (dir) => {
    const { data, expected } = blobOf(500_000);
    const path = join(dir, 'p');
    const other = randomBytes(500_000);
    await assert.rejects(download(path, expected, sourceOf(other)), (err: Error & { kind?: string }) => err.kind === 'conflict' && /digest/.test(err.message));
    assert.equal(existsSync(path), false);
    await assert.rejects(download(path, expected, sourceOf(Buffer.concat([data, Buffer.from('x')]))), (err: Error & { kind?: string }) => err.kind === 'conflict' && /size/.test(err.message));
    assert.equal(existsSync(path), false);
    await assert.rejects(download(path, expected, sourceOf(data.subarray(0, 1000))), (err: Error & { kind?: string }) => err.kind === 'conflict' && /size/.test(err.message));
    assert.equal(existsSync(path), false);
  }),
);

test(
  'a source that fails midway keeps what arrived for the next attempt',
  withDir(async (dir) => {
    const { data, expected } = blobOf(3 * 1024 * 1024);
    const path = join(dir, 'p');
    const failing = async (offset: number) => ({
      offset,
      stream: (async function* () {
        yield data.subarray(0, 1024 * 1024);
        yield data.subarray(1024 * 1024, 1536 * 1024);
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      })(),
    });
    await assert.rejects(download(path, expected, failing), /ECONNRESET/);
    const kept = statSync(path).size;
    assert.equal(kept, 1536 * 1024);
    assert.ok(readFileSync(path).equals(data.subarray(0, kept)));
    await download(path, expected, sourceOf(data));
    assert.ok(readFileSync(path).equals(data));
  }),
);
