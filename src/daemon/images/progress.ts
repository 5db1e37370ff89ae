// The JSON progress stream of pull and push, as dockerd writes it (objects
// ending in \r\n) and as the docker CLI renders it: a line per layer id,
// moved over only by messages that carry progressDetail.
import { PassThrough } from 'node:stream';
import { messageOf } from '../../errors/index.js';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units HumanSize: four significant digits, decimal units ("1.234MB"). */
export function humanSize(n: number): string {
  let size = n;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${UNITS[i]}`;
}

/** Go's time.Duration String for whole seconds. */
function goDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** jsonmessage's pre-rendered bar, at the 200-column width dockerd renders with. */
export function progressBar(current: number, total: number, start = 0, nowMs = Date.now()): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  let left = '';
  if (current > 0 && start > 0 && pct < 50) {
    const elapsed = nowMs / 1000 - start;
    left = ` ${goDuration(Math.floor(((total - current) * elapsed) / current))}`;
  }
  return bar + numbers + left;
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number; start?: number };
  progress?: string;
  errorDetail?: { message: string };
  error?: string;
  aux?: unknown;
}

const MIN_BYTES = 512 * 1024;
const MIN_INTERVAL_MS = 100;

/** The response body of a pull or push. Writes after the end are dropped. */
export class ProgressStream extends PassThrough {
  private readonly last = new Map<string, { at: number; bytes: number }>();
  send(m: JsonMessage): void {
    if (this.destroyed || this.writableEnded) return;
    this.write(`${JSON.stringify(m)}\r\n`);
  }

  /** A line of its own (no progressDetail): `Pulling from …`, `Digest: …`. */
  message(status: string, id?: string): void {
    this.send(id === undefined ? { status } : { status, id });
  }

  /** A per-layer state the CLI draws in place. */
  update(id: string, status: string): void {
    this.send({ status, progressDetail: {}, id });
  }

  /** Byte progress, at most every 512 KiB or 1 % and ten times a second. */
  bytes(id: string, action: string, current: number, total: number, start: number): void {
    const now = Date.now();
    const prev = this.last.get(id);
    if (prev && current < total) {
      const step = Math.max(MIN_BYTES, total / 100);
      if (current - prev.bytes < step || now - prev.at < MIN_INTERVAL_MS) return;
    }
    this.last.set(id, { at: now, bytes: current });
    this.send({ status: action, progressDetail: { current, total, start }, progress: progressBar(current, total, start, now), id });
  }

  aux(value: unknown): void {
    this.send({ progressDetail: {}, aux: value });
  }

  /** An error after the first line went out: in the stream, and the end. */
  fail(err: unknown): void {
    const message = messageOf(err);
    this.send({ errorDetail: { message }, error: message });
    this.finish();
  }

  finish(): void {
    if (!this.destroyed && !this.writableEnded) this.end();
  }
}
