// Structured JSON logs (pino). One root logger; subsystems take children.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function createLogger(level: LogLevel = 'info', destination: number = 2): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: destination, sync: false }));
}

/** A logger that drops everything: for unit tests and pure code paths. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
