// The one place where error kinds become HTTP statuses. Everything the API
// sends back as an error goes through `errorReply`.
import { STATUS_CODES } from 'node:http';
import { isBerthError, type ErrorKind } from '../errors/index.js';
import type { Logger } from '../log/index.js';

const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  'invalid-parameter': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'not-modified': 304,
  internal: 500,
  'not-implemented': 501,
  unavailable: 503,
};

const GENERIC_MESSAGE = 'internal server error: see the berthd log for details';

export function statusOfKind(kind: ErrorKind): number {
  return STATUS_BY_KIND[kind];
}

export interface ErrorReply {
  status: number;
  body: { message: string };
}

/**
 * Status and JSON body for a thrown value. Anything that is not a BerthError
 * is a bug: the client gets a generic 500 and the stack goes to the log.
 */
export function errorReply(err: unknown, logger?: Logger): ErrorReply {
  if (isBerthError(err)) {
    const status = statusOfKind(err.kind);
    if (status >= 500) logger?.error({ err }, 'request failed: %s', err.message);
    return { status, body: { message: err.message } };
  }
  logger?.error({ err }, 'unexpected error while serving a request');
  return { status: 500, body: { message: GENERIC_MESSAGE } };
}

export function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}
