// Registry error bodies ({"errors":[{code,message,detail}]}) and transport
// failures turned into berth errors with dockerd's texts.
import { BerthError, unavailable } from '../errors/index.js';
import { parseChallenges } from './auth.js';

export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

const MAX_SHOWN = 512;

/** The registry's error entries; an unreadable body gives none. */
export function parseErrorBody(body: Buffer): RegistryErrorEntry[] {
  try {
    const v = JSON.parse(body.toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(v.errors)) return [];
    return v.errors
      .filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object')
      .map((e) => ({ code: String(e.code ?? 'UNKNOWN'), message: String(e.message ?? ''), detail: e.detail }));
  } catch {
    return [];
  }
}

/** `code: message` lines as distribution prints them, trimmed. */
export function describeErrors(entries: readonly RegistryErrorEntry[], status: number, body: Buffer): string {
  if (entries.length === 0) {
    const text = body.toString('utf8').trim().slice(0, MAX_SHOWN);
    return text ? `unexpected status ${status} from the registry: ${text}` : `unexpected status ${status} from the registry`;
  }
  return entries.map((e) => `${e.code.toLowerCase().replace(/_/g, ' ')}: ${e.message}`).join('; ').slice(0, MAX_SHOWN);
}

/** A failure that retrying will not cure. */
export const NO_RETRY_CODES = new Set(['UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'NAME_UNKNOWN', 'MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_INVALID', 'DIGEST_INVALID']);

export class RegistryError extends BerthError {
  constructor(
    kind: BerthError['kind'],
    message: string,
    readonly status: number,
    readonly entries: readonly RegistryErrorEntry[],
    /**
     * `Head "<url>"` when the failure came from answering the registry's
     * challenge (no credentials, the token server refused them): dockerd's
     * pull errors name the request then, its push errors do not.
     */
    readonly via?: string,
  ) {
    super(kind, message);
  }

  /** The message with the request it came from, as dockerd's pull words it. */
  get withRequest(): string {
    return this.via ? `${this.via}: ${this.message}` : this.message;
  }

  get retryable(): boolean {
    if (this.entries.some((e) => NO_RETRY_CODES.has(e.code))) return false;
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export function kindOfStatus(status: number): BerthError['kind'] {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 400) return 'invalid-parameter';
  if (status === 429 || status >= 500) return 'unavailable';
  return 'internal';
}

export function registryError(status: number, body: Buffer, prefix = ''): RegistryError {
  const entries = parseErrorBody(body);
  const text = describeErrors(entries, status, body);
  return new RegistryError(kindOfStatus(status), prefix ? `${prefix}: ${text}` : text, status, entries);
}

/** `Head "<url>"`, the way Go's http client names a failed request. */
export function requestName(method: string, url: URL): string {
  return `${method[0]}${method.slice(1).toLowerCase()} ${JSON.stringify(url.href)}`;
}

/**
 * The error of a 401 that another attempt will not cure. A Bearer challenge
 * saying `error="insufficient_scope"` means DENIED (the token was fine but
 * grants nothing here: an unknown or private repository), `invalid_token`
 * UNAUTHORIZED; they come before the body's own entries, and the first entry
 * is the message, as the distribution client has it.
 */
export function unauthorizedAnswer(challenge: string | string[] | undefined, body: Buffer): RegistryError {
  const entries = parseErrorBody(body);
  const bearer = parseChallenges(challenge).find((c) => c.scheme === 'bearer');
  const oauth = bearer?.params.error;
  if (oauth === 'insufficient_scope' || oauth === 'invalid_token') {
    const code = oauth === 'insufficient_scope' ? 'DENIED' : 'UNAUTHORIZED';
    const fallback = code === 'DENIED' ? 'requested access to the resource is denied' : 'authentication required';
    entries.unshift({ code, message: bearer?.params.error_description || fallback });
  }
  const first = entries[0];
  const message = first ? describeErrors([first], 401, body) : 'unauthorized: authentication required';
  return new RegistryError('unauthorized', message, 401, entries);
}

const TLS_PLAIN_HTTP = new Set(['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/** Whether an https attempt reached a server that speaks plain http. */
export function isPlainHttpAnswer(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { library?: string; reason?: string };
  return TLS_PLAIN_HTTP.has(e.code ?? '') || /wrong version number|packet length too long/i.test(e.message ?? '');
}

/** A network-level failure as a user-facing error ("Get "https://h/v2/": …"). */
export function transportError(method: string, url: URL, err: unknown, insecureHint: boolean): BerthError {
  if (err instanceof BerthError) return err;
  const base = requestName(method, url);
  if (isPlainHttpAnswer(err)) {
    const hint = insecureHint ? ` (the registry speaks plain http: list "${url.host}" in "insecure-registries" in daemon.json to allow it)` : '';
    return unavailable(`${base}: http: server gave HTTP response to HTTPS client${hint}`);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ABORT_ERR') return unavailable(`${base}: the request was cancelled`);
  if (typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(e.code)) {
    return unavailable(`${base}: tls: failed to verify certificate: ${e.message} (put the registry's CA in certs.d/${url.host}/ca.crt)`);
  }
  return unavailable(`${base}: ${e.message ?? String(err)}`);
}

