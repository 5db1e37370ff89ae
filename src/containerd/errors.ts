// gRPC status → BerthError kind, at the edge where containerd answers.
import { status } from '@grpc/grpc-js';
import { BerthError, type ErrorKind } from '../errors/index.js';

export function kindForStatus(code: number): ErrorKind {
  switch (code) {
    case status.NOT_FOUND:
      return 'not-found';
    case status.ALREADY_EXISTS:
    case status.FAILED_PRECONDITION:
      return 'conflict';
    case status.UNAVAILABLE:
    // A containerd that does not answer in time is as good as down for the caller.
    case status.DEADLINE_EXCEEDED:
      return 'unavailable';
    case status.INVALID_ARGUMENT:
      return 'invalid-parameter';
    default:
      return 'internal';
  }
}

interface StatusLike {
  code: number;
  details?: string;
  message?: string;
}

export function isStatusError(err: unknown): err is StatusLike & Error {
  return err instanceof Error && typeof (err as Partial<StatusLike>).code === 'number';
}

/** The gRPC code of an error, or undefined for errors that did not come from a call. */
export function statusCode(err: unknown): number | undefined {
  if (err instanceof BerthError && isStatusError(err.cause)) return err.cause.code;
  if (isStatusError(err)) return err.code;
  return undefined;
}

// grpc-js prefixes messages with "N CODE: "; containerd's own text is in `details`.
function containerdMessage(err: StatusLike): string {
  if (typeof err.details === 'string' && err.details !== '') return err.details;
  const m = err.message ?? '';
  return m.replace(/^\d+ [A-Z_]+: /, '');
}

// Transport failures (socket missing, connection refused or dropped) as grpc-js words them.
const TRANSPORT_FAILURE = /No connection established|Connection dropped|failed to connect|ECONNREFUSED|ENOENT|ECONNRESET|EPIPE/i;

export function fromGrpcError(err: unknown, address: string): BerthError {
  if (err instanceof BerthError) return err;
  if (!isStatusError(err)) {
    const text = err instanceof Error ? err.message : String(err);
    return new BerthError('internal', `containerd client: ${text}`, err);
  }
  const kind = kindForStatus(err.code);
  let message = containerdMessage(err);
  if (err.code === status.UNAVAILABLE && TRANSPORT_FAILURE.test(message)) {
    message = `containerd is not reachable at ${address} (${message}); check that containerd is running`;
  } else if (err.code === status.DEADLINE_EXCEEDED) {
    message = `containerd at ${address} did not answer in time (${message})`;
  }
  return new BerthError(kind, message, err);
}
