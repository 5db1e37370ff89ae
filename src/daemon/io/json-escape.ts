// Bytes as a JSON string the way dockerd's json-file writer escapes them:
// `\"`, `\\`, `\n` and `\r` with a backslash; every other control byte and
// `<`, `>`, `&` as `\u00XX`; U+2028 and U+2029 as `\u2028`/`\u2029`; each
// byte that is not part of valid UTF-8 (Go's utf8.DecodeRune) as `\ufffd`.
// Everything else is copied as is.
//
// berthd runs without an optimizing compiler (bin/berthd: lite mode), so a
// JavaScript loop over the bytes costs tens of nanoseconds each: bulk output
// goes through native calls only. An entry of one repeated byte (a stream of
// NULs) is one memcmp and one fill; valid UTF-8 is JSON.stringify's text,
// with the few escapes where Go differs swapped in by replaceAll after
// memchr says they occur. Only invalid UTF-8 takes the byte loop.
import { isUtf8 } from 'node:buffer';

/** What a byte is: copied, escaped, or the lead of a multi-byte sequence (checked). */
const PLAIN = 0;
const ESCAPED = 1;
const LEAD = 2;

const CLASS = new Uint8Array(256);
/** The escape of each ASCII byte that has one. */
const ESCAPES: (Buffer | undefined)[] = new Array<Buffer | undefined>(128);
const HEX = '0123456789abcdef';

for (let b = 0; b < 256; b++) {
  if (b >= 0x80) CLASS[b] = LEAD;
  else if (b < 0x20 || b === 0x22 || b === 0x5c || b === 0x3c || b === 0x3e || b === 0x26) {
    CLASS[b] = ESCAPED;
    const short = b === 0x22 ? '\\"' : b === 0x5c ? '\\\\' : b === 0x0a ? '\\n' : b === 0x0d ? '\\r' : undefined;
    ESCAPES[b] = Buffer.from(short ?? `\\u00${HEX[b >> 4]}${HEX[b & 0xf]}`, 'latin1');
  }
}

const REPLACEMENT = Buffer.from('\\ufffd', 'latin1');
const LINE_SEPARATOR = Buffer.from('\\u2028', 'latin1');
const PARAGRAPH_SEPARATOR = Buffer.from('\\u2029', 'latin1');

/** The most bytes escapeJsonBytes writes for `n` input bytes (`\u00XX` or `\ufffd` per byte). */
export function maxEscapedLength(n: number): number {
  return 6 * n;
}

/** Length of the valid UTF-8 sequence led by src[i] (≥ 0x80), or 0 when it is not one (Go's utf8.DecodeRune). */
function sequenceLength(src: Uint8Array, i: number, n: number): number {
  const b = src[i] as number;
  let size: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) size = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    size = 3;
    if (b === 0xe0) lo = 0xa0;
    else if (b === 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    size = 4;
    if (b === 0xf0) lo = 0x90;
    else if (b === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + size > n) return 0;
  const b1 = src[i + 1] as number;
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < size; k++) {
    const c = src[i + k] as number;
    if (c < 0x80 || c > 0xbf) return 0;
  }
  return size;
}

const LS_BYTES = Buffer.from('\u2028');
const PS_BYTES = Buffer.from('\u2029');

/** Filled with `repeatedByte`, compared against entries of one byte. */
let repeated = Buffer.alloc(0);
let repeatedByte = -1;

function isRunOf(src: Buffer, b: number): boolean {
  if (repeatedByte !== b || repeated.length < src.length) {
    repeated = Buffer.alloc(Math.max(src.length, 16 * 1024), b);
    repeatedByte = b;
  }
  return src.equals(repeated.subarray(0, src.length));
}

/**
 * Writes `src` escaped (without quotes) into `out` at `off` and returns the
 * offset after it; `out` must have maxEscapedLength(src.length) bytes free.
 */
export function escapeJsonBytes(src: Buffer, out: Buffer, off: number): number {
  const n = src.length;
  if (n === 0) return off;
  const first = src[0] as number;
  const esc = ESCAPES[first];
  if (esc !== undefined && isRunOf(src, first)) {
    out.fill(esc, off, off + esc.length * n);
    return off + esc.length * n;
  }
  const text = isUtf8(src) ? stringifiedText(src) : undefined;
  if (text !== undefined) return off + out.write(text, off, 'utf8');
  return escapeLoop(src, out, off);
}

/** JSON.stringify's text of valid UTF-8 made into dockerd's (quotes dropped); undefined where replaceAll cannot tell escapes apart. */
function stringifiedText(src: Buffer): string | undefined {
  let s = JSON.stringify(src.toString('utf8'));
  s = s.slice(1, s.length - 1);
  // JSON.stringify writes \b, \f and \t, Go \u0008, \u000c and \u0009;
  // without a backslash in the input, every such pair is one of those.
  if (src.indexOf(0x09) !== -1 || src.indexOf(0x08) !== -1 || src.indexOf(0x0c) !== -1) {
    if (src.indexOf(0x5c) !== -1) return undefined;
    s = s.replaceAll('\\t', '\\u0009').replaceAll('\\b', '\\u0008').replaceAll('\\f', '\\u000c');
  }
  if (src.indexOf(0x3c) !== -1) s = s.replaceAll('<', '\\u003c');
  if (src.indexOf(0x3e) !== -1) s = s.replaceAll('>', '\\u003e');
  if (src.indexOf(0x26) !== -1) s = s.replaceAll('&', '\\u0026');
  if (src.indexOf(LS_BYTES) !== -1) s = s.replaceAll('\u2028', '\\u2028');
  if (src.indexOf(PS_BYTES) !== -1) s = s.replaceAll('\u2029', '\\u2029');
  return s;
}

/** The byte loop, for input with invalid UTF-8. */
function escapeLoop(src: Buffer, out: Buffer, off: number): number {
  const n = src.length;
  let i = 0;
  while (i < n) {
    // A run of bytes copied as they are, valid multi-byte sequences included.
    let j = i;
    let size = 0;
    while (j < n) {
      const cls = CLASS[src[j] as number];
      if (cls === PLAIN) {
        j++;
        continue;
      }
      if (cls === LEAD) {
        size = sequenceLength(src, j, n);
        // U+2028 and U+2029 (E2 80 A8/A9) are escaped.
        if (size > 0 && !(size === 3 && src[j] === 0xe2 && src[j + 1] === 0x80 && ((src[j + 2] as number) & 0xfe) === 0xa8)) {
          j += size;
          continue;
        }
      }
      break;
    }
    if (j > i) {
      if (j - i > 16) off += src.copy(out, off, i, j);
      else for (let k = i; k < j; k++) out[off++] = src[k] as number;
      i = j;
      if (i === n) break;
    }
    const b = src[i] as number;
    if (b >= 0x80) {
      const esc = size === 3 ? (src[i + 2] === 0xa8 ? LINE_SEPARATOR : PARAGRAPH_SEPARATOR) : REPLACEMENT;
      off += esc.copy(out, off);
      i += size === 3 ? 3 : 1;
      continue;
    }
    // A run of one escaped byte: one fill with its escape.
    const esc = ESCAPES[b] as Buffer;
    let k = i + 1;
    while (k < n && src[k] === b) k++;
    const len = esc.length * (k - i);
    if (k - i === 1) esc.copy(out, off);
    else out.fill(esc, off, off + len);
    off += len;
    i = k;
  }
  return off;
}

/** `text` as a quoted JSON string, escaped as escapeJsonBytes does. */
export function jsonString(text: string): string {
  const src = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(maxEscapedLength(src.length) + 2);
  out[0] = 0x22;
  const end = escapeJsonBytes(src, out, 1);
  out[end] = 0x22;
  return out.toString('utf8', 0, end + 1);
}
