// Reads a tar as it arrives, without a stream per entry: headers (ustar, pax
// path/linkpath/size/uid/gid/mtime records, GNU long names) and each entry's
// data, a view into the chunk it came in where it lies in one. docker cp
// uploads go through here.
import { invalidParameter } from '../errors/index.js';

export type TarType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'contiguous-file';

export interface TarEntry {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string;
  devmajor: number;
  devminor: number;
  data: Buffer;
}

const TYPES: Record<string, TarType> = {
  '0': 'file',
  '\0': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  '7': 'contiguous-file',
};

function str(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

/** A numeric field: octal text, or base-256 when the high bit of the first byte is set. */
function num(b: Buffer, off: number, len: number): number {
  if ((b[off] as number) & 0x80) {
    let v = (b[off] as number) & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + (b[off + i] as number);
    return v;
  }
  const s = str(b, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(data.toString('ascii', i, sp), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

const ZERO_BLOCK = Buffer.alloc(512);
/** An aligned copy of the header being summed: four bytes per step instead of one. */
const SUM_BYTES = Buffer.alloc(512);
const SUM_WORDS = new Uint32Array(SUM_BYTES.buffer, SUM_BYTES.byteOffset, 128);

/**
 * The header's checksum: the unsigned sum of its bytes, the checksum field
 * counted as spaces. Each 32-bit word adds its bytes 0 and 2 and its bytes
 * 1 and 3 in two 16-bit lanes, which 128 words of bytes ≤ 255 cannot
 * overflow; the lanes are added at the end. (Per byte in the interpreter
 * the daemon runs under, this loop was a good part of an upload's time.)
 */
export function headerSum(h: Buffer): number {
  h.copy(SUM_BYTES, 0, 0, 512);
  SUM_BYTES.fill(0x20, 148, 156);
  let acc = 0;
  for (let i = 0; i < 128; i++) {
    const w = SUM_WORDS[i] as number;
    acc += (w & 0xff00ff) + ((w >>> 8) & 0xff00ff);
  }
  return (acc % 0x10000) + Math.floor(acc / 0x10000);
}

/** Whether an upload's first bytes are gzip's (docker-py sends archives so). */
export const isGzip = (head: Buffer): boolean => head[0] === 0x1f && head[1] === 0x8b;

const bad = (why: string): Error => invalidParameter(`the archive is not a valid tar file: ${why}`);

/** What a 512-byte header says about the bytes that follow it. */
interface Header {
  flag: string;
  size: number;
  padding: number;
  /** a pax, GNU long name or long link record for the next entry */
  meta: boolean;
  /** undefined for a type readers skip (sparse files…) */
  type: TarType | undefined;
}

/** A header block's framing; throws for a bad checksum. */
function readHeader(h: Buffer, offset: number, pax: Map<string, string> | undefined): Header {
  if (headerSum(h) !== num(h, 148, 8)) throw bad(`bad header checksum at offset ${offset}`);
  const flag = String.fromCharCode(h[156] as number);
  let size = num(h, 124, 12);
  if (pax?.has('size')) size = Number(pax.get('size'));
  return { flag, size, padding: Math.ceil(size / 512) * 512 - size, meta: flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K', type: TYPES[flag] };
}

/** Records that describe the next entry (pax headers, GNU long names). */
interface Pending {
  pax?: Map<string, string> | undefined;
  longName?: string | undefined;
  longLink?: string | undefined;
}

/** Takes a meta record's data into `p`. */
function takeMeta(p: Pending, flag: string, data: Buffer): void {
  if (flag === 'x') p.pax = paxRecords(data);
  else if (flag === 'L') p.longName = str(data, 0, data.length);
  else if (flag === 'K') p.longLink = str(data, 0, data.length);
}

/** The entry a header describes, with the pending records applied (and cleared). */
function entryOf(h: Buffer, hd: Header, p: Pending): Omit<TarEntry, 'data'> {
  const { pax } = p;
  const prefix = h.toString('ascii', 257, 262) === 'ustar' ? str(h, 345, 155) : '';
  let name = str(h, 0, 100);
  if (prefix !== '') name = `${prefix}/${name}`;
  name = pax?.get('path') ?? p.longName ?? name;
  const linkname = pax?.get('linkpath') ?? p.longLink ?? str(h, 157, 100);
  const mtime = pax?.has('mtime') ? Number(pax.get('mtime')) : num(h, 136, 12);
  p.pax = undefined;
  p.longName = undefined;
  p.longLink = undefined;
  return {
    name,
    type: hd.type ?? 'file',
    mode: num(h, 100, 8),
    uid: pax?.has('uid') ? Number(pax.get('uid')) : num(h, 108, 8),
    gid: pax?.has('gid') ? Number(pax.get('gid')) : num(h, 116, 8),
    size: hd.size,
    mtime: new Date(mtime * 1000),
    linkname,
    devmajor: num(h, 329, 8),
    devminor: num(h, 337, 8),
  };
}

const isZeroBlock = (h: Buffer): boolean => h[0] === 0 && h.equals(ZERO_BLOCK);

export interface StreamedEntry {
  entry: Omit<TarEntry, 'data'>;
  /** the data, whole up to the gather limit, else a stream to read to its end before the next entry */
  body: Buffer | AsyncIterable<Buffer>;
}

type ParsedEvent = { kind: 'entry'; entry: Omit<TarEntry, 'data'> } | { kind: 'data'; piece: Buffer } | { kind: 'end' };

/**
 * The entries of a tar as it arrives, one at a time (the next chunk is read
 * only once the caller asks for more, so the caller's pace is the stream's):
 * TarParser's reading, pulled. Data up to `gatherMax` bytes come whole; a
 * bigger entry's data stream. Throws a 400 for a truncated or garbled
 * archive.
 */
export async function* streamTar(input: AsyncIterable<Buffer | string>, gatherMax: number): AsyncGenerator<StreamedEntry> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const events: ParsedEvent[] = [];
  const parser = new TarParser({
    entry: (entry) => void events.push({ kind: 'entry', entry }),
    data: (piece) => void events.push({ kind: 'data', piece }),
    end: () => void events.push({ kind: 'end' }),
  });
  let inputDone = false;
  /** The next parsed event, reading on as needed; undefined once the input (or the archive) ended. */
  const next = async (): Promise<ParsedEvent | undefined> => {
    while (events.length === 0 && !inputDone && !parser.ended) {
      const r = await it.next();
      if (r.done) {
        inputDone = true;
        parser.finish();
      } else parser.write(typeof r.value === 'string' ? Buffer.from(r.value) : r.value);
    }
    return events.shift();
  };
  const truncated = (): Error => bad('unexpected end of data');
  for (;;) {
    const ev = await next();
    if (ev === undefined) break;
    if (ev.kind !== 'entry') continue;
    const { entry } = ev;
    if (entry.size <= gatherMax) {
      const parts: Buffer[] = [];
      for (let d = await next(); d?.kind !== 'end'; d = await next()) {
        if (d === undefined) throw truncated();
        if (d.kind === 'data') parts.push(d.piece);
      }
      yield { entry, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
      continue;
    }
    let ended = false;
    const body = (async function* (): AsyncGenerator<Buffer> {
      while (!ended) {
        const d = await next();
        if (d === undefined) throw truncated();
        if (d.kind === 'end') ended = true;
        else if (d.kind === 'data') yield d.piece;
      }
    })();
    yield { entry, body };
    // Whatever the caller left unread of a streamed entry.
    while (!ended) {
      const d = await next();
      if (d === undefined) throw truncated();
      if (d.kind === 'end') ended = true;
    }
  }
  // The end blocks: the rest (the second block, padding) is read and
  // dropped, so the sender finishes its request before it is answered.
  if (parser.ended) while (!(await it.next()).done);
}

/** What a TarParser hands on, synchronously, as the bytes arrive. */
export interface TarSink {
  /**
   * A new entry (not a pax or long-name record, nor an unknown type); its
   * data follow. `header` is its ustar block as it came when no record
   * before it changed what that block says, else undefined.
   */
  entry(entry: Omit<TarEntry, 'data'>, header: Buffer | undefined): void;
  /** a piece of the entry's data: a view into the chunk given to write(), valid as long as the caller keeps that chunk */
  data(piece: Buffer): void;
  /** the entry's data are complete */
  end(): void;
}

/**
 * A tar read as it is pushed: chunks go in through write() and
 * the sink hears of each entry and its data as views into them, with no
 * promise or copy per chunk (a header split across chunks is the one
 * thing copied). A caller that needs time pauses its source.
 */
export class TarParser {
  private state: 'header' | 'meta' | 'data' | 'skip' | 'padding' | 'trailer' = 'header';
  /** bytes of a header or meta record split across chunks */
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** bytes still to come in the current state */
  private left = 512;
  private padding = 0;
  private header: Header | undefined;
  private offset = 0;
  private readonly pending: Pending = {};

  constructor(private readonly sink: TarSink) {}

  /** Whether the end blocks were seen (the rest is dropped). */
  get ended(): boolean {
    return this.state === 'trailer';
  }

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.state !== 'trailer') {
      const n = Math.min(this.left, chunk.length - at);
      if (this.state === 'data') {
        this.sink.data(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
        this.left -= n;
        at += n;
        if (this.left === 0) this.endEntry();
        continue;
      }
      if (this.state === 'skip' || this.state === 'padding') {
        this.left -= n;
        at += n;
        if (this.left === 0) this.next(this.state === 'skip' ? this.padding : 0);
        continue;
      }
      // A header or meta record: whole, copied only when split across chunks.
      const piece = chunk.subarray(at, at + n);
      at += n;
      this.left -= n;
      if (this.left > 0) {
        this.partial.push(piece);
        this.partialLength += n;
        continue;
      }
      const whole = this.partialLength === 0 ? piece : Buffer.concat([...this.partial, piece]);
      this.partial = [];
      this.partialLength = 0;
      if (this.state === 'header') this.onHeader(whole);
      else {
        takeMeta(this.pending, this.header!.flag, whole);
        this.next(this.header!.padding);
      }
    }
  }

  /** The input ended: throws when it ended inside a header or an entry's data (missing padding and end blocks are taken). */
  finish(): void {
    if (this.state === 'header' && this.partialLength > 0) throw bad('unexpected end of archive');
    if (this.state === 'meta' || this.state === 'data') throw bad('unexpected end of data');
  }

  private onHeader(h: Buffer): void {
    if (isZeroBlock(h)) {
      this.state = 'trailer';
      return;
    }
    const hd = readHeader(h, this.offset, this.pending.pax);
    this.header = hd;
    this.offset += 512 + hd.size + hd.padding;
    this.padding = hd.padding;
    if (hd.meta) {
      this.state = 'meta';
      this.left = hd.size;
      if (hd.size === 0) {
        takeMeta(this.pending, hd.flag, Buffer.alloc(0));
        this.next(hd.padding);
      }
      return;
    }
    const plain = this.pending.pax === undefined && this.pending.longName === undefined && this.pending.longLink === undefined;
    const entry = entryOf(h, hd, this.pending);
    // Unknown type flags (e.g. sparse files) are skipped, as tar readers do.
    if (hd.type === undefined) {
      this.state = 'skip';
      this.left = hd.size;
      if (hd.size === 0) this.next(hd.padding);
      return;
    }
    this.sink.entry(entry, plain ? h : undefined);
    this.state = 'data';
    this.left = hd.size;
    if (hd.size === 0) this.endEntry();
  }

  private endEntry(): void {
    this.sink.end();
    this.next(this.padding);
  }

  /** After an entry or record: its padding, then the next header. */
  private next(padding: number): void {
    if (padding > 0) {
      this.state = 'padding';
      this.left = padding;
      return;
    }
    this.state = 'header';
    this.left = 512;
  }
}
