// Content writes regroup a source stream into messages of at most MESSAGE_BYTES (512 KiB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { chunked, MESSAGE_BYTES } from '../../src/containerd/content-write.js';

const M = MESSAGE_BYTES;

async function sizesOf(pieces: Buffer[]): Promise<{ sizes: number[]; joined: Buffer }> {
  const out: Buffer[] = [];
  for await (const c of chunked(Readable.from(pieces))) out.push(c);
  return { sizes: out.map((c) => c.length), joined: Buffer.concat(out) };
}

test('small pieces are coalesced into full messages, in order', async () => {
  assert.equal(M, 512 * 1024);
  const data = Buffer.alloc(2 * M + 10);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  const pieces = Array.from({ length: Math.ceil(data.length / 65_536) }, (_, i) => data.subarray(i * 65_536, (i + 1) * 65_536));
  const { sizes, joined } = await sizesOf(pieces);
  assert.deepEqual(sizes, [M, M, 10]);
  assert.ok(joined.equals(data));
});

test('a piece larger than a message is split', async () => {
  const { sizes } = await sizesOf([Buffer.alloc(3 * M + 1)]);
  assert.deepEqual(sizes, [M, M, M, 1]);
});

test('an empty source yields no message', async () => {
  assert.deepEqual((await sizesOf([])).sizes, []);
});
