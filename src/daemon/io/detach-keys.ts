// Detach key sequences ("ctrl-p,ctrl-q"), parsed and matched as dockerd does:
// only on TTY input; bytes of a partial match are held back until the match
// fails (then forwarded) or completes (then the client detaches).
import { invalidParameter } from '../../errors/index.js';

export const DEFAULT_DETACH_KEYS = Buffer.from([16, 17]); // ctrl-p, ctrl-q

// ctrl-@ is 0, ctrl-a..ctrl-z are 1..26, then ctrl-[ ctrl-\ ctrl-] ctrl-^ ctrl-_
const CTRL_NAMES = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/** Parse a comma-separated key list such as "ctrl-a,a"; a bad key is a 400. */
export function parseDetachKeys(spec: string): Buffer {
  const codes: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const lower = key.toLowerCase();
    const idx = lower.length === 6 && lower.startsWith('ctrl-') ? CTRL_NAMES.indexOf(lower[5] as string) : -1;
    if (idx === -1) throw invalidParameter(`Invalid detach keys (${spec}) provided: unknown key '${key}'; use a single character or ctrl-<value> (e.g. ctrl-p,ctrl-q)`);
    codes.push(idx);
  }
  return Buffer.from(codes);
}

export class DetachScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** Bytes to forward, and whether the sequence completed (bytes after it are discarded). */
  feed(chunk: Buffer): { data: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { data: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { data: Buffer.from(out), detach: true };
        continue;
      }
      // Forward the held-back prefix, then look at this byte afresh.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i] as number);
      this.matched = 0;
      if (byte === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) return { data: Buffer.from(out), detach: true };
      } else out.push(byte);
    }
    return { data: Buffer.from(out), detach: false };
  }
}
