// Signal names and numbers as the Docker API accepts them: 9, KILL, SIGKILL.
import { constants } from 'node:os';
import { invalidParameter } from '../../errors/index.js';

const BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries(constants.signals as Record<string, number>).map(([name, num]) => [name.replace(/^SIG/, ''), num]),
);
const MAX_SIGNAL = 64;

/** Parses a signal; 0 and unknown names are refused with dockerd's message. */
export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > MAX_SIGNAL) throw invalidParameter(`Invalid signal: ${raw}`);
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const offset = Number(rt[1] ?? 0);
    const n = name.startsWith('RTMIN') ? 34 + offset : 64 - offset;
    if (n >= 34 && n <= 64) return n;
  }
  const n = BY_NAME.get(name);
  if (n === undefined) throw invalidParameter(`Invalid signal: ${raw}`);
  return n;
}

export function signalName(n: number): string {
  for (const [name, num] of BY_NAME) if (num === n) return `SIG${name}`;
  return String(n);
}

export const SIGKILL = 9;
export const SIGTERM = 15;
