import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { peek } from '../../src/daemon/images/streams.js';

async function all(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

test('peek: the head of a stream in pieces, and every byte again from the stream it hands back', async () => {
  const input = new PassThrough();
  const pieces = [Buffer.from('ab'), Buffer.from('cdef'), Buffer.from('ghij')];
  setImmediate(() => {
    for (const p of pieces) input.write(p);
    input.end();
  });
  const { head, stream } = await peek(input, 5);
  assert.ok(head.length >= 5);
  assert.equal(head.subarray(0, 5).toString(), 'abcde');
  assert.equal((await all(stream)).toString(), 'abcdefghij');
});

test('peek: a stream shorter than asked, an empty one, and an error before the head', async () => {
  const short = await peek(Readable.from([Buffer.from('xy')]), 6);
  assert.equal(short.head.toString(), 'xy');
  assert.equal((await all(short.stream)).toString(), 'xy');
  const empty = await peek(Readable.from([]), 6);
  assert.equal(empty.head.length, 0);
  assert.equal((await all(empty.stream)).length, 0);
  const failing = new PassThrough();
  setImmediate(() => failing.destroy(new Error('cut')));
  await assert.rejects(peek(failing, 6), /cut/);
});
