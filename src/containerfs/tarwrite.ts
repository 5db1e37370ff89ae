// Writes a tar straight into large output chunks: headers are encoded in
// place (ustar, with a pax record where a name, link, size, id or time does
// not fit) and file data are read into the chunk itself, so an archive of
// many small files costs no buffer per file, no copy to join them and no
// stream per entry. docker cp out and export go through here.
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export type TarWriteType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarWriteHeader {
  name: string;
  type: TarWriteType;
  mode: number;
  uid: number;
  gid: number;
  /** data bytes that follow (files only) */
  size: number;
  mtime: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const FLAGS: Record<TarWriteType, number> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  'character-device': 0x33,
  'block-device': 0x34,
  directory: 0x35,
  fifo: 0x36,
};

const CHUNK = 1 << 20;
const isAscii = (s: string): boolean => !/[^\x01-\x7f]/.test(s);
const fitsOctal = (v: number, len: number): boolean => Number.isInteger(v) && v >= 0 && v < 8 ** (len - 1);

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0'), off, len - 1, 'ascii');
  b[off + len - 1] = 0;
}

/** Splits a name into ustar's prefix (≤155) and name (≤100), or undefined when it cannot. */
function splitName(name: string): [string, string] | undefined {
  if (name.length <= 100) return ['', name];
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    if (i > 155) break;
    if (name.length - i - 1 <= 100 && name.length - i - 1 > 0) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

/** One pax record, `<len> key=value\n`, its length counting its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = Buffer.byteLength(body);
  let len = n + String(n).length;
  if (String(len).length !== String(n).length) len = n + String(len).length;
  return `${len}${body}`;
}

interface UstarFields {
  name: string;
  prefix: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  flag: number;
  devmajor: number;
  devminor: number;
}

/** Encodes a 512-byte ustar header at `off` of `b`. */
function ustar(b: Buffer, off: number, f: UstarFields): void {
  b.fill(0, off, off + 512);
  b.write(f.name, off, 100, 'utf8');
  octal(b, off + 100, 8, f.mode & 0o7777);
  octal(b, off + 108, 8, f.uid);
  octal(b, off + 116, 8, f.gid);
  octal(b, off + 124, 12, f.size);
  octal(b, off + 136, 12, f.mtime);
  b[off + 156] = f.flag;
  b.write(f.linkname, off + 157, 100, 'utf8');
  b.write('ustar\x0000', off + 257, 8, 'ascii');
  octal(b, off + 329, 8, f.devmajor);
  octal(b, off + 337, 8, f.devminor);
  b.write(f.prefix, off + 345, 155, 'utf8');
  // The checksum counts its own field as spaces.
  b.fill(0x20, off + 148, off + 156);
  let sum = 0;
  for (let i = off; i < off + 512; i++) sum += b[i] as number;
  b.write(sum.toString(8).padStart(6, '0'), off + 148, 6, 'ascii');
  b[off + 154] = 0;
  b[off + 155] = 0x20;
}

/** An entry's header blocks, planned: their length is known before they are written. */
interface PlannedHeader {
  length: number;
  pax: Buffer | undefined;
  paxName: string;
  fields: UstarFields;
}

function planHeader(h: TarWriteHeader): PlannedHeader {
  const linkname = h.linkname ?? '';
  const mtime = Math.floor(h.mtime.getTime() / 1000);
  const split = isAscii(h.name) ? splitName(h.name) : undefined;
  const records: string[] = [];
  if (split === undefined) records.push(paxRecord('path', h.name));
  if (linkname.length > 100 || !isAscii(linkname)) records.push(paxRecord('linkpath', linkname));
  if (!fitsOctal(h.size, 12)) records.push(paxRecord('size', String(h.size)));
  if (!fitsOctal(h.uid, 8)) records.push(paxRecord('uid', String(h.uid)));
  if (!fitsOctal(h.gid, 8)) records.push(paxRecord('gid', String(h.gid)));
  if (!fitsOctal(mtime, 12)) records.push(paxRecord('mtime', String(mtime)));
  const [prefix, name] = split ?? ['', h.name.slice(-100)];
  const clamp = (v: number, len: number): number => (fitsOctal(v, len) ? v : 0);
  const pax = records.length > 0 ? Buffer.from(records.join('')) : undefined;
  const fields: UstarFields = {
    name,
    prefix,
    linkname: linkname.length > 100 ? linkname.slice(0, 100) : linkname,
    mode: h.mode,
    uid: clamp(h.uid, 8),
    gid: clamp(h.gid, 8),
    size: clamp(h.size, 12),
    mtime: clamp(mtime, 12),
    flag: FLAGS[h.type],
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  };
  const paxName = `PaxHeaders/${name.replace(/\/$/, '').split('/').pop() ?? 'entry'}`.slice(0, 100);
  return { length: (pax === undefined ? 0 : 512 + Math.ceil(pax.length / 512) * 512) + 512, pax, paxName, fields };
}

/** Writes planned header blocks at `off` of `b` (which has `p.length` bytes there). */
function writeHeader(b: Buffer, off: number, p: PlannedHeader): void {
  if (p.pax !== undefined) {
    ustar(b, off, { name: p.paxName, prefix: '', linkname: '', mode: 0o644, uid: 0, gid: 0, size: p.pax.length, mtime: p.fields.mtime, flag: 0x78, devmajor: 0, devminor: 0 });
    p.pax.copy(b, off + 512);
    b.fill(0, off + 512 + p.pax.length, off + p.length - 512);
  }
  ustar(b, off + p.length - 512, p.fields);
}

/**
 * The header blocks of one entry: a pax record first where a name, link,
 * size, id or time does not fit ustar, then the ustar header.
 */
export function encodeHeader(h: TarWriteHeader): Buffer {
  const p = planHeader(h);
  const out = Buffer.allocUnsafe(p.length);
  writeHeader(out, 0, p);
  return out;
}

/** The tar as a readable stream, written by one producer that waits when the reader is behind. */
export class TarWriter {
  readonly stream: Readable;
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private wanted: (() => void) | undefined;
  private closed = false;

  constructor() {
    this.stream = new Readable({
      highWaterMark: 2 * CHUNK,
      read: () => {
        const w = this.wanted;
        this.wanted = undefined;
        w?.();
      },
      destroy: (err, cb) => {
        this.closed = true;
        const w = this.wanted;
        this.wanted = undefined;
        w?.();
        cb(err);
      },
    });
  }

  /** Whether the reader went away (the producer stops). */
  get gone(): boolean {
    return this.closed || this.stream.destroyed;
  }

  private async emit(): Promise<void> {
    if (this.pos === 0) return;
    if (this.gone) throw new Error('the archive reader went away');
    const full = this.stream.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
    if (!full) await new Promise<void>((r) => (this.wanted = r));
    if (this.gone) throw new Error('the archive reader went away');
  }

  private async room(n: number): Promise<void> {
    if (CHUNK - this.pos < n) await this.emit();
  }

  /** Zero bytes up to the next 512-byte boundary after `size` data bytes. */
  private async pad(size: number): Promise<void> {
    const n = (512 - (size % 512)) % 512;
    if (n === 0) return;
    await this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Encoded in place in the output chunk (a pax record too big for one chunk goes through a copy). */
  async header(h: TarWriteHeader): Promise<void> {
    const p = planHeader(h);
    if (p.length > CHUNK) return this.append(encodeHeader(h));
    await this.room(p.length);
    writeHeader(this.buf, this.pos, p);
    this.pos += p.length;
  }

  /** Data bytes of the current entry, padded. */
  async bytes(data: Buffer): Promise<void> {
    await this.append(data);
    await this.pad(data.length);
  }

  /** Bytes copied into the output as they are. */
  private async append(data: Buffer): Promise<void> {
    let at = 0;
    while (at < data.length) {
      if (this.pos === CHUNK) await this.emit();
      const n = Math.min(CHUNK - this.pos, data.length - at);
      data.copy(this.buf, this.pos, at, at + n);
      this.pos += n;
      at += n;
    }
  }

  /**
   * Exactly `size` bytes of an open file read into the output (a file that
   * shrank meanwhile is padded with zeros): synchronously for a small file,
   * through the thread pool for a big one.
   */
  async file(fd: number | FileHandle, size: number): Promise<void> {
    let left = size;
    while (left > 0) {
      if (this.pos === CHUNK) await this.emit();
      const want = Math.min(CHUNK - this.pos, left);
      const got = typeof fd === 'number' ? readSync(fd, this.buf, this.pos, want, size - left) : (await fd.read(this.buf, this.pos, want, size - left)).bytesRead;
      if (got === 0) {
        this.buf.fill(0, this.pos, this.pos + want);
        this.pos += want;
        left -= want;
        continue;
      }
      this.pos += got;
      left -= got;
    }
    await this.pad(size);
  }

  /** The two end blocks, then the end of the stream. */
  async finish(): Promise<void> {
    await this.room(1024);
    this.buf.fill(0, this.pos, this.pos + 1024);
    this.pos += 1024;
    await this.emit();
    this.stream.push(null);
  }

  fail(err: Error): void {
    this.stream.destroy(err);
  }
}
