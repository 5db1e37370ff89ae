import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeLogEntry,
  decodeLogLines,
  encodeLogEntry,
  formatRfc3339Nano,
  LineSplitter,
  MAX_LOG_LINE,
  parseRfc3339Nano,
  StdcopyDecoder,
  stdcopyFrame,
  STDERR,
  STDOUT,
  type LogEntry,
} from '../../src/daemon/io/index.js';
import { parseDetachKeys } from '../../src/daemon/io/index.js';
import { DetachScanner } from '../../src/daemon/io/detach-keys.js';

const T0 = 1704067200_123456789n; // 2024-01-01T00:00:00.123456789Z

function split(chunks: string[] | Buffer[], max?: number): LogEntry[] {
  const out: LogEntry[] = [];
  const s = new LineSplitter('stdout', (e) => out.push(e), max);
  let t = T0;
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c), t++);
  s.flush(t);
  return out;
}

describe('json-file time format', () => {
  it('formats like Go RFC3339Nano (trimmed) and RFC3339NanoFixed', () => {
    assert.equal(formatRfc3339Nano(T0, false), '2024-01-01T00:00:00.123456789Z');
    assert.equal(formatRfc3339Nano(1704067200_120000000n, false), '2024-01-01T00:00:00.12Z');
    assert.equal(formatRfc3339Nano(1704067200_000000000n, false), '2024-01-01T00:00:00Z');
    assert.equal(formatRfc3339Nano(1704067200_120000000n, true), '2024-01-01T00:00:00.120000000Z');
  });
  it('parses with any fraction length and zone offsets', () => {
    assert.equal(parseRfc3339Nano('2024-01-01T00:00:00.123456789Z'), T0);
    assert.equal(parseRfc3339Nano('2024-01-01T00:00:00.12Z'), 1704067200_120000000n);
    assert.equal(parseRfc3339Nano('2024-01-01T00:00:00Z'), 1704067200_000000000n);
    assert.equal(parseRfc3339Nano('2024-01-01T02:00:00.5+02:00'), 1704067200_500000000n);
    assert.equal(parseRfc3339Nano('yesterday'), undefined);
  });
});

describe('json-file entries', () => {
  it('encodes one JSON object per line in Docker field order', () => {
    const line = encodeLogEntry({ stream: 'stderr', log: Buffer.from('a "quoted"\tline\n'), timeNs: T0 });
    assert.equal(line, '{"log":"a \\"quoted\\"\\tline\\n","stream":"stderr","time":"2024-01-01T00:00:00.123456789Z"}\n');
    const back = decodeLogEntry(line.trimEnd());
    assert.deepEqual(back, { stream: 'stderr', text: 'a "quoted"\tline\n', timeNs: T0 });
  });
  it('decodes a block of lines the fast way and the JSON way alike, leaving an incomplete line', () => {
    const texts = ['plain\n', 'no newline', '', 'tab\there\n', 'quote " and back\\slash\n', 'end in \\', 'ünïcødé ✓\n', '\u0001ctl\n', '\\n literal\n'];
    const lines = texts.map((text, i) => encodeLogEntry({ stream: i % 3 === 1 ? 'stderr' : 'stdout', log: Buffer.from(text), timeNs: T0 + BigInt(i) }));
    const dockerd = '{"log":"a\\u003cb\\n","stream":"stdout","attrs":{"x":"y"},"time":"2024-01-01T00:00:01Z"}\n';
    const junk = 'not json\n{"log":"x","stream":"stdout","time":"yesterday"}\n';
    const tail = Buffer.from('{"log":"cut in th');
    const block = Buffer.concat([Buffer.from(lines.join('') + dockerd + junk), tail]);
    const { entries, consumed } = decodeLogLines(block);
    assert.equal(consumed, block.length - tail.length);
    const want = [
      ...texts.map((text, i) => ({ stream: i % 3 === 1 ? 'stderr' : 'stdout', text, timeNs: T0 + BigInt(i) })),
      { stream: 'stdout', text: 'a<b\n', timeNs: 1704067201_000000000n },
    ];
    assert.deepEqual(entries, want);
    // Each line alone decodes as in the block (the backslash look-ahead is per block).
    for (const [i, line] of lines.entries()) assert.deepEqual(decodeLogLines(Buffer.from(line)).entries, [want[i]]);
    assert.deepEqual(decodeLogLines(tail), { entries: [], consumed: 0 });
  });

  it('decodes what dockerd writes and rejects junk', () => {
    const e = decodeLogEntry('{"log":"hi\\u003cthere\\u003e\\n","stream":"stdout","time":"2024-01-01T00:00:00.5Z"}');
    assert.equal(e?.text, 'hi<there>\n');
    assert.equal(e?.timeNs, 1704067200_500000000n);
    assert.equal(decodeLogEntry('not json'), undefined);
    assert.equal(decodeLogEntry('{"log":"x","stream":"other","time":"2024-01-01T00:00:00Z"}'), undefined);
  });
});

describe('LineSplitter', () => {
  it('emits one entry per line across chunk boundaries', () => {
    const out = split(['hel', 'lo\nwor', 'ld\n\nlast']);
    assert.deepEqual(
      out.map((e) => e.log.toString()),
      ['hello\n', 'world\n', '\n', 'last'],
    );
    // 'hello' completes in the second chunk: its time is that chunk's time.
    assert.equal(out[0]?.timeNs, T0 + 1n);
  });
  it('splits long lines at 16 KiB like dockerd, pieces sharing the first piece time', () => {
    const long = 'x'.repeat(MAX_LOG_LINE * 2 + 10) + '\n';
    const out = split([long.slice(0, 5000), long.slice(5000)]);
    assert.deepEqual(
      out.map((e) => e.log.length),
      [MAX_LOG_LINE, MAX_LOG_LINE, 11],
    );
    assert.equal(out[2]?.log.at(-1), 0x0a);
    assert.ok(out.every((e) => e.timeNs === out[0]?.timeNs));
  });
  it('keeps a line of exactly 16 KiB including its newline whole', () => {
    const out = split(['y'.repeat(MAX_LOG_LINE - 1) + '\n']);
    assert.equal(out.length, 1);
    const out2 = split(['y'.repeat(MAX_LOG_LINE) + '\n']);
    assert.deepEqual(
      out2.map((e) => e.log.length),
      [MAX_LOG_LINE, 1],
    );
  });
  it('flushes nothing when there is no partial line', () => {
    assert.deepEqual(split(['a\n']).length, 1);
    assert.deepEqual(split([]).length, 0);
  });
});

describe('stdcopy', () => {
  it('frames with an 8-byte header and decodes across chunk boundaries', () => {
    const f1 = stdcopyFrame(STDOUT, Buffer.from('hello'));
    assert.deepEqual([...f1.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 5]);
    const f2 = stdcopyFrame(STDERR, Buffer.from('oops'));
    const all = Buffer.concat([f1, f2]);
    const dec = new StdcopyDecoder();
    const frames = [...dec.push(all.subarray(0, 3)), ...dec.push(all.subarray(3, 11)), ...dec.push(all.subarray(11))];
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, 'hello'],
        [2, 'oops'],
      ],
    );
    assert.equal(dec.buffered, 0);
  });
});

describe('detach keys', () => {
  it('parses ctrl- names and single characters', () => {
    assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
    assert.deepEqual([...parseDetachKeys('ctrl-a,a')], [1, 97]);
    assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-_')], [0, 31]);
    assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys/);
  });
  it('holds back a partial match and forwards it when the match fails', () => {
    const s = new DetachScanner(Buffer.from([16, 17]));
    assert.deepEqual(s.feed(Buffer.from([65, 16])), { data: Buffer.from([65]), detach: false });
    assert.deepEqual(s.feed(Buffer.from([66])), { data: Buffer.from([16, 66]), detach: false });
    assert.deepEqual(s.feed(Buffer.from([16])), { data: Buffer.alloc(0), detach: false });
    assert.deepEqual(s.feed(Buffer.from([17, 99])), { data: Buffer.alloc(0), detach: true });
  });
});
