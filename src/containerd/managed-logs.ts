// containerd logs logrus text lines on stderr (time="…" level=info msg="…" k=v);
// berth re-emits them through its own logger at the matching level.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger, LogLevel } from '../log/index.js';

export interface ContainerdLogLine {
  level: LogLevel;
  msg: string;
  fields: Record<string, string>;
}

const LEVELS: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
};

const PAIR = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;

function unquote(v: string): string {
  if (!v.startsWith('"')) return v;
  try {
    return JSON.parse(v) as string;
  } catch {
    // Go quoting has escapes JSON lacks (\x, \a); the raw text is still readable.
    return v.slice(1, -1);
  }
}

export function parseContainerdLogLine(line: string): ContainerdLogLine {
  const pairs: Record<string, string> = {};
  for (const m of line.matchAll(PAIR)) {
    const key = m[1];
    const value = m[2];
    if (key !== undefined && value !== undefined) pairs[key] = unquote(value);
  }
  const level = pairs.level !== undefined ? LEVELS[pairs.level] : undefined;
  if (level === undefined || pairs.msg === undefined) {
    // Not a logrus line: a panic or Go runtime output, which deserves attention.
    return { level: 'warn', msg: line, fields: {} };
  }
  const { time: _time, level: _level, msg, ...fields } = pairs;
  return { level, msg: msg ?? '', fields };
}

export function pipeContainerdLogs(stream: Readable, logger: Logger, remember: (line: string) => void): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    remember(line);
    const parsed = parseContainerdLogLine(line);
    if (Object.keys(parsed.fields).length > 0) logger[parsed.level]({ fields: parsed.fields }, parsed.msg);
    else logger[parsed.level](parsed.msg);
  });
}
