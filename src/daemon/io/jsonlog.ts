// Docker's json-file log format: one JSON object per line,
// {"log":"text\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}.
import { formatRfc3339Nano, parseRfc3339Nano } from './timefmt.js';

export type OutputStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: OutputStream;
  /** the bytes as the process wrote them, newline included when the line was complete */
  log: Buffer;
  /** nanoseconds since the epoch */
  timeNs: bigint;
}

/** Docker's copier splits lines longer than its 16 KiB buffer into partial entries. */
export const MAX_LOG_LINE = 16 * 1024;

export function encodeLogEntry(entry: LogEntry): string {
  // Buffer→string replaces invalid UTF-8 with U+FFFD, as Go's encoder does.
  return `{"log":${JSON.stringify(entry.log.toString('utf8'))},"stream":"${entry.stream}","time":"${formatRfc3339Nano(entry.timeNs, false)}"}\n`;
}

/** Parse one line of a json-file log; undefined for anything that is not a log entry. */
export function decodeLogEntry(line: string): LogEntry | undefined {
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
  const log = typeof rec.log === 'string' ? Buffer.from(rec.log, 'utf8') : Buffer.alloc(0);
  return { stream, log, timeNs };
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
    const log = this.pending.length === 1 ? Buffer.from(this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    const t = this.partialTimeNs ?? timeNs;
    this.partialTimeNs = partial ? t : undefined;
    this.emit({ stream: this.stream, log, timeNs: t });
  }
}
