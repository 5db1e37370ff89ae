// Which transport security the API's TCP hosts get, from the configuration
// (pure). dockerd's meanings: --tlsverify given at all turns TLS on; --tls
// alone encrypts but lets any client in; off loopback, plain TCP needs an
// explicit --tls=false.
import { isIP } from 'node:net';

export interface TlsConfigFields {
  hosts: readonly string[];
  tls: boolean | undefined;
  tlsVerify: boolean | undefined;
  tlsCaCert: string;
  tlsCert: string;
  tlsKey: string;
}

export interface TlsSettings {
  /** TCP hosts are served over TLS */
  enabled: boolean;
  /** clients must present a certificate signed by caFile */
  verify: boolean;
  /** --tls=false was given: plain TCP off loopback is accepted */
  plaintextAllowed: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function tlsSettings(c: Omit<TlsConfigFields, 'hosts'>): TlsSettings {
  const enabled = c.tlsVerify !== undefined || c.tls === true;
  return {
    enabled,
    verify: c.tlsVerify === true,
    plaintextAllowed: !enabled && c.tls === false,
    caFile: c.tlsCaCert,
    certFile: c.tlsCert,
    keyFile: c.tlsKey,
  };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The host part of tcp://HOST:PORT; '' (berth binds 127.0.0.1 then) when absent or unparsable. */
function tcpHostname(host: string): string {
  try {
    return new URL(host).hostname;
  } catch {
    return '';
  }
}

export function plaintextRefusal(where: string): string {
  return (
    `refusing to serve the API on ${where} without TLS: anyone who can reach that address would control this host. ` +
    'Create certificates and start with --tlsverify --tlscacert=CA.pem --tlscert=CERT.pem --tlskey=KEY.pem ' +
    '(see "Remote API over TLS" in the README for an openssl recipe), or pass --tls=false to accept plain TCP explicitly'
  );
}

/** Whether plain TCP on this address must be refused. */
export function refusesPlaintext(hostname: string, s: TlsSettings): boolean {
  return !s.enabled && !s.plaintextAllowed && hostname !== '' && !isLoopback(hostname);
}

/** Start-up refusals for tcp:// hosts off loopback without TLS. */
export function plaintextTcpErrors(hosts: readonly string[], s: TlsSettings): string[] {
  return hosts.filter((h) => h.startsWith('tcp://') && refusesPlaintext(tcpHostname(h), s)).map((h) => plaintextRefusal(h));
}

export interface TcpEndpoint {
  /** ADDRESS:PORT as listened on */
  address: string;
  tls: boolean;
  verify: boolean;
}

const WHY = '\n         Whoever can connect to it has root access on this host: use --tlsverify with client certificates.';

/** `docker info` warnings for TCP listeners that are not mutual TLS (first lines as dockerd's). */
export function endpointWarnings(endpoints: readonly TcpEndpoint[]): string[] {
  const out: string[] = [];
  for (const e of endpoints) {
    if (!e.tls) out.push(`WARNING: API is accessible on http://${e.address} without encryption.${WHY}`);
    else if (!e.verify) out.push(`WARNING: API is accessible on https://${e.address} without TLS client verification.${WHY}`);
  }
  return out;
}
