// Reads a tar held whole in memory without copying: headers (ustar, pax
// path/linkpath/size/uid/gid/mtime records, GNU long names) and each entry's
// data as a view into the buffer. The fast path of docker cp uploads.
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

const bad = (why: string): Error => invalidParameter(`the archive is not a valid tar file: ${why}`);

/** The entries of an in-memory tar; throws a 400 for a truncated or garbled one. */
export function* scanTar(buf: Buffer): Generator<TarEntry> {
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) return;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
    if (sum !== num(h, 148, 8)) throw bad(`bad header checksum at offset ${off}`);
    const flag = String.fromCharCode(h[156] as number);
    let size = num(h, 124, 12);
    if (pax?.has('size')) size = Number(pax.get('size'));
    const dataStart = off + 512;
    const dataEnd = dataStart + size;
    if (dataEnd > buf.length) throw bad('unexpected end of data');
    const data = buf.subarray(dataStart, dataEnd);
    off = dataStart + Math.ceil(size / 512) * 512;
    if (flag === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L') {
      longName = str(data, 0, data.length);
      continue;
    }
    if (flag === 'K') {
      longLink = str(data, 0, data.length);
      continue;
    }
    const type = TYPES[flag];
    const prefix = h.toString('ascii', 257, 262) === 'ustar' ? str(h, 345, 155) : '';
    let name = str(h, 0, 100);
    if (prefix !== '') name = `${prefix}/${name}`;
    name = pax?.get('path') ?? longName ?? name;
    const linkname = pax?.get('linkpath') ?? longLink ?? str(h, 157, 100);
    const mtime = pax?.has('mtime') ? Number(pax.get('mtime')) : num(h, 136, 12);
    const entry: TarEntry = {
      name,
      type: type ?? 'file',
      mode: num(h, 100, 8),
      uid: pax?.has('uid') ? Number(pax.get('uid')) : num(h, 108, 8),
      gid: pax?.has('gid') ? Number(pax.get('gid')) : num(h, 116, 8),
      size,
      mtime: new Date(mtime * 1000),
      linkname,
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
      data,
    };
    longName = undefined;
    longLink = undefined;
    pax = undefined;
    // Unknown type flags (e.g. sparse files) are skipped, as tar readers do.
    if (type === undefined) continue;
    yield entry;
  }
  if (off < buf.length) throw bad('unexpected end of archive');
}
