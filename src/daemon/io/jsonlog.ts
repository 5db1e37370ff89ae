// Docker's json-file log format: one JSON object per line,
// {"log":"text\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}.
import { STDERR, STDOUT, type StreamId } from '../../stdcopy/index.js';
import { escapeJsonBytes, jsonString, maxEscapedLength } from './json-escape.js';
import { formatRfc3339Nano, parseRfc3339Nano } from './timefmt.js';

export type OutputStream = 'stdout' | 'stderr';

/** The stdcopy stream id of an output stream. */
export function streamId(stream: OutputStream): StreamId {
  return stream === 'stderr' ? STDERR : STDOUT;
}

export interface LogEntry {
  stream: OutputStream;
  /** the bytes as the process wrote them, newline included when the line was complete */
  log: Buffer;
  /** nanoseconds since the epoch */
  timeNs: bigint;
}

/** Docker's copier splits lines longer than its 16 KiB buffer into partial entries. */
export const MAX_LOG_LINE = 16 * 1024;

/** What follows an entry's log text on its line: stream, attributes and time. */
export function logEntryTail(entry: LogEntry, attrs?: string): string {
  const extra = attrs === undefined ? '' : `,"attrs":${attrs}`;
  return `","stream":"${entry.stream}"${extra},"time":"${formatRfc3339Nano(entry.timeNs, false)}"}\n`;
}

/** The most bytes encodeLogEntryInto writes for an entry with this tail. */
export function logEntryBound(entry: LogEntry, tail: string): number {
  return LINE_HEAD.length + maxEscapedLength(entry.log.length) + 3 * tail.length;
}

/**
 * Writes one json-file line, byte for byte as dockerd writes it (escapes in
 * json-escape.ts), into `out` at `off` (logEntryBound bytes free) and
 * returns the offset after it.
 */
export function encodeLogEntryInto(entry: LogEntry, tail: string, out: Buffer, off: number): number {
  off += out.write(LINE_HEAD, off, 'latin1');
  off = escapeJsonBytes(entry.log, out, off);
  return off + out.write(tail, off, 'utf8');
}

/** One json-file line; `attrs` is the JSON of the entry's attributes, placed before the time as dockerd writes it. */
export function encodeLogEntry(entry: LogEntry, attrs?: string): Buffer {
  const tail = logEntryTail(entry, attrs);
  const out = Buffer.allocUnsafe(logEntryBound(entry, tail));
  return out.subarray(0, encodeLogEntryInto(entry, tail, out, 0));
}

/** The `attrs` JSON object of json-file entries, its strings escaped as dockerd's. */
export function encodeLogAttrs(attrs: Readonly<Record<string, string>>): string {
  return `{${Object.entries(attrs)
    .map(([k, v]) => `${jsonString(k)}:${jsonString(v)}`)
    .join(',')}}`;
}

/**
 * An entry as read back from a log. The writer turned the bytes into valid
 * UTF-8 before encoding them, so the text holds them all.
 */
export interface LoggedLine {
  stream: OutputStream;
  text: string;
  /** nanoseconds since the epoch */
  timeNs: bigint;
}

/** Parse one line of a json-file log; undefined for anything that is not a log entry. */
export function decodeLogEntry(line: string): LoggedLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const rec = value as Record<string, unknown>;
  const stream = rec.stream;
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  if (typeof rec.time !== 'string') return undefined;
  const timeNs = parseRfc3339Nano(rec.time);
  if (timeNs === undefined) return undefined;
  return { stream, text: typeof rec.log === 'string' ? rec.log : '', timeNs };
}

const LINE_HEAD = '{"log":"';
const STDOUT_MIDDLE = '","stream":"stdout","time":"';
const STDERR_MIDDLE = '","stream":"stderr","time":"';
const LINE_TAIL = '"}';

/**
 * The entries of every complete line in `data`, and how many bytes those
 * lines take (the rest is an incomplete line). Lines that are not entries are
 * skipped.
 *
 * The lines are decoded to one string, and lines in the shape encodeLogEntry
 * writes are cut from it with string builtins; any other line goes through
 * JSON.parse. JSON.parse and Buffer calls per line were most of the cost of
 * `docker logs` of a long log.
 */
export function decodeLogLines(data: Buffer): { entries: LoggedLine[]; consumed: number } {
  const consumed = data.lastIndexOf(0x0a) + 1;
  const text = data.toString('utf8', 0, consumed);
  const entries: LoggedLine[] = [];
  // The next backslash at or after a point: looked up again only once passed,
  // so that lines without one do not each scan ahead.
  let backslash = -1;
  for (let start = 0, nl = text.indexOf('\n'); nl !== -1; start = nl + 1, nl = text.indexOf('\n', start)) {
    if (backslash !== -2 && backslash < start) {
      backslash = text.indexOf('\\', start);
      if (backslash === -1) backslash = -2;
    }
    const entry = decodePlainLine(text, start, nl, backslash === -2 ? text.length : backslash) ?? decodeLogEntry(text.slice(start, nl));
    if (entry !== undefined) entries.push(entry);
  }
  return { entries, consumed };
}

/** One line in encodeLogEntry's shape, given where the next backslash is; undefined for any other. */
function decodePlainLine(text: string, start: number, nl: number, backslash: number): LoggedLine | undefined {
  if (!text.startsWith(LINE_HEAD, start)) return undefined;
  const textStart = start + LINE_HEAD.length;
  const textEnd = text.indexOf('"', textStart);
  // An escaped quote, or no quote on this line: leave it to JSON.parse.
  if (textEnd === -1 || textEnd > nl || text.charCodeAt(textEnd - 1) === 0x5c) return undefined;
  let stream: OutputStream;
  if (text.startsWith(STDOUT_MIDDLE, textEnd)) stream = 'stdout';
  else if (text.startsWith(STDERR_MIDDLE, textEnd)) stream = 'stderr';
  else return undefined;
  const timeStart = textEnd + STDOUT_MIDDLE.length;
  const timeEnd = nl - LINE_TAIL.length;
  if (timeEnd <= timeStart || !text.startsWith(LINE_TAIL, timeEnd)) return undefined;
  const timeNs = parseRfc3339Nano(text.slice(timeStart, timeEnd));
  if (timeNs === undefined) return undefined;
  if (backslash >= textEnd) return { stream, text: text.slice(textStart, textEnd), timeNs };
  // Most lines end in an escaped newline and hold no other escape.
  if (backslash === textEnd - 2 && text.charCodeAt(textEnd - 1) === 0x6e) return { stream, text: `${text.slice(textStart, textEnd - 2)}\n`, timeNs };
  return undefined;
}

/**
 * Turns one output stream's chunks into log entries: one per complete line,
 * a partial entry whenever MAX_LOG_LINE bytes pile up without a newline, and
 * the rest on flush (end of stream). Pieces of one long line share the time
 * of their first piece, as in dockerd.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private partialTimeNs: bigint | undefined;

  constructor(
    private readonly stream: OutputStream,
    private readonly emit: (entry: LogEntry) => void,
    private readonly maxLine: number = MAX_LOG_LINE,
  ) {}

  push(chunk: Buffer, timeNs: bigint): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const lineEnd = nl === -1 ? chunk.length : nl + 1;
      const room = this.maxLine - this.pendingLen;
      if (lineEnd - start <= room) {
        this.append(chunk.subarray(start, lineEnd));
        start = lineEnd;
        if (nl !== -1) this.emitPending(timeNs, false);
        else if (this.pendingLen === this.maxLine) this.emitPending(timeNs, true);
      } else {
        this.append(chunk.subarray(start, start + room));
        start += room;
        this.emitPending(timeNs, true);
      }
    }
  }

  /** Emit what is left (a line without newline) at end of stream. */
  flush(timeNs: bigint): void {
    if (this.pendingLen > 0) this.emitPending(timeNs, false);
    this.partialTimeNs = undefined;
  }

  /** Bytes of the current incomplete line (not yet in the log). */
  peek(): Buffer {
    return Buffer.concat(this.pending, this.pendingLen);
  }

  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    this.pending.push(piece);
    this.pendingLen += piece.length;
  }

  private emitPending(timeNs: bigint, partial: boolean): void {
    // One piece is passed as the view of the chunk it came in: emit consumes it before returning.
    const log = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    const t = this.partialTimeNs ?? timeNs;
    this.partialTimeNs = partial ? t : undefined;
    this.emit({ stream: this.stream, log, timeNs: t });
  }
}
