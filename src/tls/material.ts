// Reading and checking the TLS files (I/O at the edge). Every problem is a
// clear error naming the file, so a bad file refuses a start or a reload
// instead of breaking handshakes later.
import { readFile } from 'node:fs/promises';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { invalidParameter, messageOf } from '../errors/index.js';
import type { TlsSettings } from './settings.js';

/** TLS 1.2 or newer only. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export interface TlsMaterial {
  verify: boolean;
  /** for tls.createServer / setSecureContext */
  options: SecureContextOptions;
  certNotAfter: Date;
}

const ERRNO: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory' };

async function read(what: string, flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw invalidParameter(`cannot read the TLS ${what} ${file} (${flag}): ${ERRNO[code] ?? messageOf(err)}`);
  }
}

function certificate(what: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw invalidParameter(`the TLS ${what} ${file} is not a PEM certificate`);
  }
}

export async function loadTlsMaterial(s: TlsSettings, now: Date = new Date()): Promise<TlsMaterial> {
  const [certPem, keyPem, caPem] = await Promise.all([
    read('certificate', '--tlscert', s.certFile),
    read('key', '--tlskey', s.keyFile),
    s.verify ? read('CA certificate', '--tlscacert', s.caFile) : Promise.resolve(undefined),
  ]);
  const cert = certificate('certificate', s.certFile, certPem);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw invalidParameter(`the TLS key ${s.keyFile} is not a PEM private key (an encrypted key needs its passphrase removed)`);
  }
  if (!cert.checkPrivateKey(key)) throw invalidParameter(`the TLS key ${s.keyFile} does not belong to the certificate ${s.certFile}`);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < now.getTime()) throw invalidParameter(`the TLS certificate ${s.certFile} expired on ${notAfter.toISOString()}`);
  if (caPem !== undefined) certificate('CA certificate', s.caFile, caPem);
  const options: SecureContextOptions = { cert: certPem, key: keyPem, minVersion: MIN_TLS_VERSION, ...(caPem ? { ca: caPem } : {}) };
  try {
    createSecureContext(options);
  } catch (err) {
    throw invalidParameter(`cannot use the TLS files ${s.certFile}, ${s.keyFile}${caPem ? `, ${s.caFile}` : ''}: ${messageOf(err)}`);
  }
  return { verify: s.verify, options, certNotAfter: notAfter };
}
