// Certificates for TLS tests and benchmarks, made with the openssl CLI: a CA,
// a server certificate for 127.0.0.1, clients signed by it (valid, expired)
// and a client signed by another CA.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';

export interface CertSet {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** a client the CA signed */
  clientCert: string;
  clientKey: string;
  /** signed by the CA, but expired */
  expiredCert: string;
  expiredKey: string;
  /** signed by another CA */
  strangerCert: string;
  strangerKey: string;
  /** the other CA */
  otherCa: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], dir);
}

function makeLeaf(dir: string, ca: string, name: string, ext: string, days: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['req', ...EC, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.pem`],
    dir,
  );
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

/** Makes a fresh set in `dir`. */
export function makeCerts(dir: string): CertSet {
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'ca', 'server', SERVER_EXT, '2');
  makeLeaf(dir, 'ca', 'client', CLIENT_EXT, '2');
  // -days -1: notAfter is a day before now
  makeLeaf(dir, 'ca', 'expired', CLIENT_EXT, '-1');
  makeLeaf(dir, 'other-ca', 'stranger', CLIENT_EXT, '2');
  const f = (n: string): string => join(dir, n);
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client-key.pem'),
    expiredCert: f('expired.pem'),
    expiredKey: f('expired-key.pem'),
    strangerCert: f('stranger.pem'),
    strangerKey: f('stranger-key.pem'),
    otherCa: f('other-ca.pem'),
  };
}

/** Another server certificate from the same CA (for rotation), written to `name`.pem / `name`-key.pem. */
export function makeServerCert(set: CertSet, name: string): { cert: string; key: string } {
  makeLeaf(set.dir, 'ca', name, SERVER_EXT, '2');
  return { cert: join(set.dir, `${name}.pem`), key: join(set.dir, `${name}-key.pem`) };
}

/** A TCP port on 127.0.0.1 free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
