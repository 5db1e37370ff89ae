// The TCP+TLS listener both daemons get for the TLS figures: one set of
// certificates (made with openssl), a port per daemon on 127.0.0.1.
import { join } from 'node:path';
import { freePort, makeCerts, type CertSet } from '../test/helpers/tls.js';

export interface BenchTls {
  certs: CertSet;
  port: number;
}

export async function benchTls(root: string, certs?: CertSet): Promise<BenchTls> {
  return { certs: certs ?? makeCerts(join(root, 'certs')), port: await freePort() };
}

/** The daemon's flags: mutual TLS on 127.0.0.1:port (dockerd and berthd spell them alike). */
export function tlsDaemonArgs(t: BenchTls): string[] {
  return ['--tlsverify', '--tlscacert', t.certs.ca, '--tlscert', t.certs.serverCert, '--tlskey', t.certs.serverKey, '-H', `tcp://127.0.0.1:${t.port}`];
}

/** The docker CLI's flags to reach that listener with the client certificate. */
export function tlsClientArgs(t: BenchTls): string[] {
  return ['--tlsverify', '--tlscacert', t.certs.ca, '--tlscert', t.certs.clientCert, '--tlskey', t.certs.clientKey, '-H', `tcp://127.0.0.1:${t.port}`];
}
