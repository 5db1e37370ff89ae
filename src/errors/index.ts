// One error catalogue for berth. Core code throws these; the API edge maps
// `kind` to an HTTP status in exactly one place (src/api/status.ts).

export type ErrorKind =
  | 'invalid-parameter'
  | 'not-found'
  | 'conflict'
  | 'unavailable'
  | 'forbidden'
  | 'not-modified'
  | 'not-implemented'
  | 'unauthorized'
  | 'payload-too-large'
  | 'internal';

export class BerthError extends Error {
  readonly kind: ErrorKind;
  override readonly cause?: unknown;

  constructor(kind: ErrorKind, message: string, cause?: unknown) {
    super(message);
    this.name = 'BerthError';
    this.kind = kind;
    this.cause = cause;
  }
}

export const invalidParameter = (message: string, cause?: unknown): BerthError =>
  new BerthError('invalid-parameter', message, cause);
export const notFound = (message: string, cause?: unknown): BerthError => new BerthError('not-found', message, cause);
export const conflict = (message: string, cause?: unknown): BerthError => new BerthError('conflict', message, cause);
export const unavailable = (message: string, cause?: unknown): BerthError =>
  new BerthError('unavailable', message, cause);
export const forbidden = (message: string, cause?: unknown): BerthError => new BerthError('forbidden', message, cause);
export const notModified = (message: string): BerthError => new BerthError('not-modified', message);
export const unauthorized = (message: string, cause?: unknown): BerthError => new BerthError('unauthorized', message, cause);
export const notImplemented = (message: string): BerthError => new BerthError('not-implemented', message);
export const payloadTooLarge = (message: string): BerthError => new BerthError('payload-too-large', message);
export const internal = (message: string, cause?: unknown): BerthError => new BerthError('internal', message, cause);

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

export function isKind(err: unknown, kind: ErrorKind): boolean {
  return err instanceof BerthError && err.kind === kind;
}

/** What `work` resolves to, or undefined when it fails for want of the thing it looked up. */
export async function unlessNotFound<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

/** A message fit for a client: never a stack trace. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
