import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { FrameDecoder, FrameEncoder, HEADER_SIZE, STDERR, STDOUT, demux, frame, frames } from '../../src/api/index.js';
import { frameEach, frameLines } from '../../src/stdcopy/index.js';

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

  it('frameEach: one frame per item, in order, in one buffer, multi-byte text sized in bytes', () => {
    const items = [
      { stream: STDOUT, text: 'line 1\n' },
      { stream: STDOUT, text: 'line 2\n' },
      { stream: STDERR, text: 'é€😀\n' },
      { stream: STDERR, text: '' },
      { stream: STDOUT, text: 'no newline' },
    ] as const;
    const { frames: decoded, trailing } = demux(frameEach(items));
    assert.equal(trailing, 0);
    assert.deepEqual(
      decoded.map((d) => [d.stream, d.payload.toString()]),
      [
        [STDOUT, 'line 1\n'],
        [STDOUT, 'line 2\n'],
        [STDERR, 'é€😀\n'],
        [STDOUT, 'no newline'],
      ],
    );
    assert.equal(frameEach([]).length, 0);
    const many = Array.from({ length: 5000 }, (_, i) => ({ stream: i % 50 === 49 ? STDERR : STDOUT, text: `line ${i}\n` }) as const);
    const out = demux(frameEach(many));
    assert.equal(out.frames.length, 5000);
    assert.equal(out.stdout.toString(), many.filter((m) => m.stream === STDOUT).map((m) => m.text).join(''));
  });

  it('frameLines: a frame per line of a chunk, the trailing piece its own frame', () => {
    const chunk = Buffer.from('a\nbb\n\nccc');
    const decoded = demux(frameLines(STDERR, chunk)).frames;
    assert.deepEqual(
      decoded.map((d) => [d.stream, d.payload.toString()]),
      [
        [STDERR, 'a\n'],
        [STDERR, 'bb\n'],
        [STDERR, '\n'],
        [STDERR, 'ccc'],
      ],
    );
    assert.equal(frameLines(STDOUT, Buffer.alloc(0)).length, 0);
    assert.equal(demux(frameLines(STDOUT, Buffer.from('x\n'))).frames.length, 1);
    const big = randomBytes(70_000);
    assert.ok(demux(frameLines(STDOUT, big)).stdout.equals(big));
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
