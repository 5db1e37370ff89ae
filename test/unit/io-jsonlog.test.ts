import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeLogEntry,
  decodeLogLines,
  encodeLogAttrs,
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
    const line = encodeLogEntry({ stream: 'stderr', log: Buffer.from('a "quoted"\tline\n'), timeNs: T0 }).toString();
    assert.equal(line, '{"log":"a \\"quoted\\"\\u0009line\\n","stream":"stderr","time":"2024-01-01T00:00:00.123456789Z"}\n');
    const back = decodeLogEntry(line.trimEnd());
    assert.deepEqual(back, { stream: 'stderr', text: 'a "quoted"\tline\n', timeNs: T0 });
  });
  it('decodes a block of lines the fast way and the JSON way alike, leaving an incomplete line', () => {
    const texts = ['plain\n', 'no newline', '', 'tab\there\n', 'quote " and back\\slash\n', 'end in \\', 'ünïcødé ✓\n', '\u0001ctl\n', '\\n literal\n'];
    const lines = texts.map((text, i) => encodeLogEntry({ stream: i % 3 === 1 ? 'stderr' : 'stdout', log: Buffer.from(text), timeNs: T0 + BigInt(i) }).toString());
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

  it('escapes bytes as dockerd 20.10 wrote them (captured from its json-file log)', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from('a\tb\bc\fd\re<f>g&h"i\\j\x01k\x7fl\n', 'latin1'), '{"log":"a\\u0009b\\u0008c\\u000cd\\re\\u003cf\\u003eg\\u0026h\\"i\\\\j\\u0001k\x7fl\\n"'],
      [
        Buffer.from('\xe2\x80\xa8x\xe2\x80\xa9y\xef\xbf\xbdz\xffw\xe2\x82a\xc0\x80\xed\xa0\x80\n', 'latin1'),
        '{"log":"\\u2028x\\u2029y\ufffdz\\ufffdw\\ufffd\\ufffda\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\n"',
      ],
    ];
    for (const [log, head] of cases) {
      assert.equal(encodeLogEntry({ stream: 'stdout', log, timeNs: T0 }).toString(), `${head},"stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}\n`);
    }
    assert.equal(encodeLogAttrs({ a: '<&>', 'k"': 'tab\there' }), '{"a":"\\u003c\\u0026\\u003e","k\\"":"tab\\u0009here"}');
  });
  it('escapes runs of NULs, long entries and random bytes as a byte-by-byte encoder does', () => {
    const zeros = Buffer.alloc(MAX_LOG_LINE);
    const line = encodeLogEntry({ stream: 'stdout', log: zeros, timeNs: T0 }).toString();
    assert.equal(line, `{"log":"${'\\u0000'.repeat(MAX_LOG_LINE)}","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}\n`);
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    const samples = [Buffer.from('plain ascii text that needs nothing\n'), Buffer.from('ünïcødé ✓ 𝄞 mixed with \x00\x00\x00 and <tags>\n')];
    for (let n = 0; n < 200; n++) samples.push(Buffer.from(Array.from({ length: 1 + (n % 37) * 3 }, () => (n % 2 === 0 ? rand() : rand() % 8 === 0 ? 0xe2 : rand() & 0x7f))));
    for (const log of samples) {
      const got = encodeLogEntry({ stream: 'stdout', log, timeNs: T0 }).toString('latin1');
      assert.equal(got, `{"log":"${referenceEscape(log)}","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}\n`, `input ${log.toString('hex')}`);
    }
    // Valid UTF-8 reads back as it was written.
    for (const log of samples.slice(0, 2)) assert.equal(decodeLogEntry(encodeLogEntry({ stream: 'stdout', log, timeNs: T0 }).toString().trimEnd())?.text, log.toString());
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

/** A straightforward byte-at-a-time encoder with Go's rules (utf8.DecodeRune), as latin1 text. */
function referenceEscape(src: Buffer): string {
  let out = '';
  for (let i = 0; i < src.length; ) {
    const b = src[i] as number;
    if (b < 0x80) {
      if (b === 0x22) out += '\\"';
      else if (b === 0x5c) out += '\\\\';
      else if (b === 0x0a) out += '\\n';
      else if (b === 0x0d) out += '\\r';
      else if (b < 0x20 || b === 0x3c || b === 0x3e || b === 0x26) out += `\\u00${b.toString(16).padStart(2, '0')}`;
      else out += String.fromCharCode(b);
      i++;
      continue;
    }
    const size = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    let ok = size > 0 && i + size <= src.length;
    for (let k = 1; ok && k < size; k++) {
      const c = src[i + k] as number;
      ok = k === 1 ? c >= lo && c <= hi : c >= 0x80 && c <= 0xbf;
    }
    if (!ok) {
      out += '\\ufffd';
      i++;
    } else if (size === 3 && b === 0xe2 && src[i + 1] === 0x80 && (src[i + 2] === 0xa8 || src[i + 2] === 0xa9)) {
      out += src[i + 2] === 0xa8 ? '\\u2028' : '\\u2029';
      i += 3;
    } else {
      out += src.toString('latin1', i, i + size);
      i += size;
    }
  }
  return out;
}
