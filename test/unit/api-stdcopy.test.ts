import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { FrameDecoder, FrameEncoder, HEADER_SIZE, STDERR, STDOUT, demux, frame, frames } from '../../src/api/index.js';

describe('stdcopy framing', () => {
  it('writes the 8-byte header: stream, three zeros, big-endian size', () => {
    const f = frame(STDERR, 'hi\n');
    assert.deepEqual([...f.subarray(0, HEADER_SIZE)], [2, 0, 0, 0, 0, 0, 0, 3]);
    assert.equal(f.subarray(HEADER_SIZE).toString(), 'hi\n');
  });

  it('cuts large payloads into frames of at most the cap, and none for empty chunks', () => {
    const payload = randomBytes(100_000);
    const parts = frames(STDOUT, payload, 32 * 1024);
    assert.equal(parts.length, 4);
    assert.equal(frames(STDOUT, Buffer.alloc(0)).length, 0);
    const { stdout, frames: decoded } = demux(Buffer.concat(parts));
    assert.ok(decoded.every((d) => d.payload.length <= 32 * 1024));
    assert.ok(stdout.equals(payload));
  });

  it('decodes byte by byte, with headers split across chunks', () => {
    const out = randomBytes(70_000);
    const err = Buffer.from('oops\n');
    const wire = Buffer.concat([...frames(STDOUT, out), frame(STDERR, err), frame(STDOUT, 'end')]);
    for (const step of [1, 3, 7, 8, 9, 4096]) {
      const decoder = new FrameDecoder();
      const got: { stream: number; payload: Buffer }[] = [];
      for (let i = 0; i < wire.length; i += step) got.push(...decoder.push(wire.subarray(i, i + step)));
      assert.equal(decoder.buffered, 0, `step ${step}`);
      const stdout = Buffer.concat(got.filter((g) => g.stream === STDOUT).map((g) => g.payload));
      const stderr = Buffer.concat(got.filter((g) => g.stream === STDERR).map((g) => g.payload));
      assert.ok(stdout.equals(Buffer.concat([out, Buffer.from('end')])), `step ${step}`);
      assert.ok(stderr.equals(err));
    }
  });

  it('holds back an incomplete frame', () => {
    const decoder = new FrameDecoder();
    const f = frame(STDOUT, 'abcdef');
    assert.deepEqual(decoder.push(f.subarray(0, 10)), []);
    assert.equal(decoder.buffered, 10);
    const rest = decoder.push(f.subarray(10));
    assert.equal(rest.length, 1);
    assert.equal(rest[0]?.payload.toString(), 'abcdef');
  });

  it('FrameEncoder frames a stream round trip', async () => {
    const data = randomBytes(200_000);
    const chunks: Buffer[] = [];
    const encoder = Readable.from([data.subarray(0, 1), data.subarray(1, 150_000), data.subarray(150_000)]).pipe(new FrameEncoder(STDOUT, 16 * 1024));
    for await (const c of encoder) chunks.push(c as Buffer);
    const { stdout, trailing } = demux(Buffer.concat(chunks));
    assert.equal(trailing, 0);
    assert.ok(stdout.equals(data));
  });
});
