// Content writes regroup a source stream into messages of at most MESSAGE_BYTES (512 KiB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { chunked, MESSAGE_BYTES, serializeWrite } from '../../src/containerd/content-write.js';
import { messageCodec } from '../../src/containerd/proto.js';

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

test('a WRITE message written from pieces decodes as the generic encoder\'s', () => {
  const codec = messageCodec('containerd.services.content.v1.WriteContentRequest')!;
  for (const sizes of [[0], [3, 4], [100, 28], [65_536, 65_536, 300], [M]]) {
    const parts = sizes.map((n, k) => Buffer.alloc(n, k + 1));
    const req = { action: 'WRITE' as const, ref: 'layer-sha256:ab', offset: 1_048_576, data: parts };
    const got = codec.deserialize(serializeWrite(req)) as { action: string; ref: string; offset: number | string; data: Buffer };
    const want = codec.deserialize(codec.serialize({ ...req, data: Buffer.concat(parts) })) as typeof got;
    assert.deepEqual({ ...got, data: Buffer.from(got.data) }, { ...want, data: Buffer.from(want.data) });
    assert.ok(Buffer.from(got.data).equals(Buffer.concat(parts)), `data of ${sizes.join('+')} bytes`);
  }
});
