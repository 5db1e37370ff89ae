import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { FrameDecoder, FrameEncoder, HEADER_SIZE, STDERR, STDOUT, demux, frame, frames } from '../../src/api/index.js';
import { frameRuns } from '../../src/stdcopy/index.js';

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

  it('joins consecutive chunks of one stream into frames up to the cap, in order', () => {
    const line = (n: number): Buffer => Buffer.from(`line ${n}\n`);
    const chunks = [
      { stream: STDOUT, payload: line(1) },
      { stream: STDOUT, payload: line(2) },
      { stream: STDERR, payload: line(3) },
      { stream: STDERR, payload: Buffer.alloc(0) },
      { stream: STDOUT, payload: line(4) },
    ] as const;
    const { frames: decoded, trailing } = demux(frameRuns(chunks));
    assert.equal(trailing, 0);
    assert.deepEqual(
      decoded.map((d) => [d.stream, d.payload.toString()]),
      [
        [STDOUT, 'line 1\nline 2\n'],
        [STDERR, 'line 3\n'],
        [STDOUT, 'line 4\n'],
      ],
    );
    assert.equal(frameRuns([]).length, 0);

    // Many small chunks and a large one: no frame over the cap, bytes unchanged.
    const many = Array.from({ length: 5000 }, (_, i) => ({ stream: i % 1000 === 999 ? STDERR : STDOUT, payload: line(i) }) as const);
    const big = randomBytes(70_000);
    const all = [...many, { stream: STDOUT, payload: big } as const];
    const out = demux(frameRuns(all, 4096));
    assert.ok(out.frames.every((d) => d.payload.length > 0 && d.payload.length <= 4096));
    assert.ok(out.frames.length < 100, `${out.frames.length} frames for 5001 chunks`);
    const want = (id: number): Buffer => Buffer.concat(all.filter((c) => c.stream === id).map((c) => c.payload));
    assert.ok(out.stdout.equals(want(STDOUT)));
    assert.ok(out.stderr.equals(want(STDERR)));
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
