// The remote API over TCP on 127.0.0.1: mutual TLS with the docker CLI and
// dockerode against certificates made with openssl, the clients that must be
// refused, limits and handshake timeout, certificate rotation by reload, the
// plain-TCP refusal, and systemd socket activation (fd://).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startBerthd, runCommand, dockerBin, berthdBin, ok, sleep, apiRequest, type BerthdHandle } from '../helpers/berthd.js';
import { makeCerts, makeServerCert, freePort, type CertSet } from '../helpers/tls.js';
import { dockerSaveArchiveFile } from '../fixtures/images.js';

interface Reply {
  status: number;
  body: string;
  socket: TLSSocket;
  reused: boolean;
  /** fingerprint of the server certificate on this connection */
  peer: string | undefined;
}

function get(port: number, opts: { ca: Buffer; cert?: Buffer; key?: Buffer; agent?: Agent; path?: string; headers?: Record<string, string>; method?: string; body?: Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/_ping',
        method: opts.method ?? 'GET',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        agent: opts.agent ?? false,
        headers: { ...opts.headers, ...(opts.body ? { 'Content-Type': 'application/json', 'Content-Length': String(opts.body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        // taken now: a kept-alive socket leaves the response at its end
        const socket = res.socket as TLSSocket;
        const peer = socket.getPeerX509Certificate()?.fingerprint256;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), socket, reused: req.reusedSocket, peer }));
      },
    );
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.end(opts.body);
  });
}

/** The server certificate a new TLS connection gets. */
function serverFingerprint(port: number, c: CertSet): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) }, () => {
      resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
      s.end();
    });
    s.on('error', reject);
  });
}

const fingerprint = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

describe('remote API over TCP with mutual TLS', { timeout: 240_000 }, () => {
  let dir: string;
  let c: CertSet;
  let d: BerthdHandle | undefined;
  let port: number;
  let liveCert: string;
  let liveKey: string;
  const cliEnv = (): NodeJS.ProcessEnv => {
    const env = { ...d!.env };
    delete env.DOCKER_HOST;
    return env;
  };
  const tlsArgs = (cert: string, key: string): string[] => ['--tlsverify', '--tlscacert', c.ca, '--tlscert', cert, '--tlskey', key, '-H', `tcp://127.0.0.1:${port}`];
  const cli = (args: string[], cert = c.clientCert, key = c.clientKey) => runCommand(dockerBin, [...tlsArgs(cert, key), ...args], cliEnv());

  before(async () => {
    dir = mkdtempSync('/tmp/berth-tls-');
    c = makeCerts(join(dir, 'certs'));
    liveCert = join(dir, 'live-cert.pem');
    liveKey = join(dir, 'live-key.pem');
    copyFileSync(c.serverCert, liveCert);
    copyFileSync(c.serverKey, liveKey);
    port = await freePort();
    d = await startBerthd({ args: ['--tlsverify', '--tlscacert', c.ca, '--tlscert', liveCert, '--tlskey', liveKey, '-H', `tcp://127.0.0.1:${port}`] });
    const archive = await dockerSaveArchiveFile(d.root, { repoTags: ['busybox:latest'] });
    ok(await d.docker(['load', '-i', archive]), 'docker load');
  });

  after(async () => {
    await d?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the docker CLI with a client certificate of the CA: info, version, run --rm over TLS', async () => {
    const info = JSON.parse(ok(await cli(['info', '--format', '{{json .}}']), 'docker info')) as { Warnings: string[]; SecurityOptions: string[] };
    // mutual TLS on loopback: no exposure warning
    assert.deepEqual(info.Warnings.filter((w) => /API is accessible/.test(w)), []);
    assert.ok(Array.isArray(info.SecurityOptions));
    assert.match(ok(await cli(['version', '--format', '{{.Server.Version}}']), 'docker version'), /\S/);
    const run = await cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo over-tls']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'over-tls\n');
  });

  it('dockerode over https with the client certificate', async () => {
    const docker = new Docker({ host: '127.0.0.1', port, protocol: 'https', ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) });
    assert.equal(String(await docker.ping()), 'OK');
    const info = await docker.info();
    assert.equal(info.DefaultRuntime, 'runc');
    const images = await docker.listImages();
    assert.ok(images.some((i) => (i.RepoTags ?? []).includes('busybox:latest')));
    const r = await get(port, { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) });
    assert.equal(r.status, 200);
    assert.ok(['TLSv1.2', 'TLSv1.3'].includes(r.socket.getProtocol() ?? ''), `negotiated ${r.socket.getProtocol()}`);
    // a TLS 1.2 client gets in too
    const s = await new Promise<string>((resolve, reject) => {
      const t = tlsConnect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) }, () => {
        resolve(t.getProtocol() ?? '');
        t.end();
      });
      t.on('error', reject);
    });
    assert.equal(s, 'TLSv1.2');
  });

  it('refused: no certificate, another CA, expired, plain HTTP; the daemon keeps serving', async () => {
    const ca = readFileSync(c.ca);
    await assert.rejects(get(port, { ca }), 'no client certificate');
    await assert.rejects(get(port, { ca, cert: readFileSync(c.strangerCert), key: readFileSync(c.strangerKey) }), 'certificate of another CA');
    await assert.rejects(get(port, { ca, cert: readFileSync(c.expiredCert), key: readFileSync(c.expiredKey) }), 'expired certificate');
    // the docker CLI: no certificate, another CA's, an expired one, and plain HTTP
    const noCert = await runCommand(dockerBin, ['--tls', '--tlscacert', c.ca, '-H', `tcp://127.0.0.1:${port}`, 'version'], cliEnv());
    assert.notEqual(noCert.code, 0);
    assert.match(noCert.stderr, /certificate required|bad certificate|EOF|reset/i);
    for (const [cert, key] of [[c.strangerCert, c.strangerKey], [c.expiredCert, c.expiredKey]] as const) {
      const r = await cli(['version'], cert, key);
      assert.notEqual(r.code, 0, `${cert} got in`);
      assert.doesNotMatch(r.stdout, /Server:/);
    }
    const plain = await runCommand(dockerBin, ['-H', `tcp://127.0.0.1:${port}`, 'version'], cliEnv());
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /TLS-enabled daemon|HTTPS server/);
    const raw = await new Promise<string>((resolve, reject) => {
      const s = netConnect(port, '127.0.0.1', () => s.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let got = '';
      s.on('data', (b: Buffer) => (got += b.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.0 400 Bad Request\r\n/);
    assert.match(raw, /Client sent an HTTP request to an HTTPS server\./);
    assert.equal(d!.child.exitCode, null);
    ok(await cli(['version']), 'allowed client after the refusals');
  });

  it('header and body limits on TLS are those of the Unix socket', async () => {
    const creds = { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) };
    const big = { 'X-Big': 'a'.repeat(20 * 1024) };
    const overTls = await get(port, { ...creds, headers: big });
    const overUnix = await new Promise<number>((resolve, reject) => {
      const s = netConnect(d!.socket, () => s.write(`GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ${big['X-Big']}\r\n\r\n`));
      let got = '';
      s.on('data', (b: Buffer) => (got += b.toString()));
      s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0)));
      s.on('error', reject);
    });
    assert.equal(overTls.status, 431);
    assert.equal(overUnix, 431);
    const body = Buffer.from(JSON.stringify({ Image: 'busybox', Env: ['X=' + 'b'.repeat(2 * 1024 * 1024)] }));
    const tlsBody = await get(port, { ...creds, method: 'POST', path: '/containers/create', body });
    const unixBody = await apiRequest(d!.socket, 'POST', '/containers/create', body.toString());
    assert.equal(tlsBody.status, unixBody.status);
    assert.equal(tlsBody.status, 413);
    assert.equal(tlsBody.body, unixBody.body);
  });

  it('half-open handshakes do not block other clients and are cut after the handshake timeout', async () => {
    const held: Socket[] = [];
    try {
      const closed = new Set<Socket>();
      for (let i = 0; i < 40; i++) {
        const s = netConnect(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.on('close', () => closed.add(s));
        s.resume();
        // half of them start a TLS record and never finish it
        if (i % 2 === 0) s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
        held.push(s);
      }
      await Promise.all(held.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r) : r(undefined)))));
      const started = Date.now();
      const r = await get(port, { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) });
      assert.equal(r.status, 200);
      assert.ok(Date.now() - started < 3000, `a client waited ${Date.now() - started} ms behind half-open handshakes`);
      const deadline = Date.now() + 20_000;
      while (closed.size < held.length && Date.now() < deadline) await sleep(250);
      const open = held.map((s, i) => (closed.has(s) ? -1 : i)).filter((i) => i >= 0);
      assert.deepEqual(open, [], 'half-open handshakes still open after the timeout');
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('certificate rotation by reload keeps established connections; a bad file refuses the reload and keeps the old ones', async () => {
    const creds = { ca: readFileSync(c.ca), cert: readFileSync(c.clientCert), key: readFileSync(c.clientKey) };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(port, { ...creds, agent });
      assert.equal(first.status, 200);
      const oldPrint = first.peer;
      assert.equal(oldPrint, fingerprint(c.serverCert));

      const next = makeServerCert(c, 'server-rotated');
      copyFileSync(next.cert, liveCert);
      copyFileSync(next.key, liveKey);
      const reload = await runCommand(berthdBin, ['reload', '-H', `unix://${d!.socket}`]);
      assert.equal(reload.code, 0, reload.stderr + reload.stdout);
      assert.equal(await serverFingerprint(port, c), fingerprint(next.cert), 'new connections get the new certificate');

      const again = await get(port, { ...creds, agent });
      assert.equal(again.status, 200);
      assert.equal(again.reused, true, 'the established connection was dropped');
      // the same TLS connection, so still on the old certificate
      assert.equal(again.socket, first.socket);

      writeFileSync(liveKey, 'garbage\n');
      const refused = await runCommand(berthdBin, ['reload', '-H', `unix://${d!.socket}`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr + refused.stdout, /live-key\.pem is not a PEM private key/);
      assert.equal(await serverFingerprint(port, c), fingerprint(next.cert), 'a refused reload keeps the certificate in force');
      ok(await cli(['version']), 'docker CLI after a refused reload');
      copyFileSync(next.key, liveKey);
    } finally {
      agent.destroy();
    }
  });
});

describe('TCP without TLS, refusals at start, socket activation', { timeout: 180_000 }, () => {
  let dir: string;
  let c: CertSet;
  before(() => {
    dir = mkdtempSync('/tmp/berth-tls-');
    c = makeCerts(join(dir, 'certs'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = (args: string[]) =>
    runCommand(berthdBin, ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', '', '-H', `unix://${join(dir, 'b.sock')}`, ...args], process.env, { timeoutMs: 30_000 });

  it('a TCP host off loopback without TLS is refused at start with how to set up certificates', async () => {
    // refused before anything binds: nothing listens beyond 127.0.0.1
    const r = await start(['-H', 'tcp://0.0.0.0:2375']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to serve the API on tcp:\/\/0\.0\.0\.0:2375 without TLS/);
    assert.match(r.stderr, /--tlsverify --tlscacert=CA\.pem --tlscert=CERT\.pem --tlskey=KEY\.pem/);
    assert.match(r.stderr, /--tls=false/);
    const v = await start(['-H', 'tcp://0.0.0.0:2375', '--validate']);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /refusing to serve the API/);
  });

  it('a missing or bad TLS file is a clear error at start', async () => {
    const missing = await start(['--tlsverify', '--tlscacert', c.ca, '--tlscert', join(dir, 'none.pem'), '--tlskey', c.serverKey, '-H', `tcp://127.0.0.1:${await freePort()}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the TLS certificate .*none\.pem \(--tlscert\): no such file or directory/);
    const mismatch = await start(['--tlsverify', '--tlscacert', c.ca, '--tlscert', c.serverCert, '--tlskey', c.clientKey, '-H', `tcp://127.0.0.1:${await freePort()}`]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /does not belong to the certificate/);
  });

  it('DOCKER_CERT_PATH and DOCKER_TLS_VERIFY give the defaults, as dockerd reads them: mutual TLS without a TLS flag', async () => {
    const certPath = join(dir, 'cert-path');
    mkdirSync(certPath);
    copyFileSync(c.ca, join(certPath, 'ca.pem'));
    copyFileSync(c.serverCert, join(certPath, 'cert.pem'));
    copyFileSync(c.serverKey, join(certPath, 'key.pem'));
    const port = await freePort();
    let d: BerthdHandle | undefined;
    try {
      d = await startBerthd({ args: ['-H', `tcp://127.0.0.1:${port}`], env: { DOCKER_CERT_PATH: certPath, DOCKER_TLS_VERIFY: '1' } });
      const env = { ...d.env };
      delete env.DOCKER_HOST;
      const tls = ['--tlsverify', '--tlscacert', c.ca, '--tlscert', c.clientCert, '--tlskey', c.clientKey, '-H', `tcp://127.0.0.1:${port}`];
      const warnings = JSON.parse(ok(await runCommand(dockerBin, [...tls, 'info', '--format', '{{json .Warnings}}'], env), 'info over TLS')) as string[];
      assert.deepEqual(warnings.filter((w) => /API is accessible/.test(w)), [], 'verified TLS: no warning');
      const anonymous = await runCommand(dockerBin, ['--tls', '--tlscacert', c.ca, '-H', `tcp://127.0.0.1:${port}`, 'version'], env);
      assert.notEqual(anonymous.code, 0, 'a client without a certificate is refused');
    } finally {
      await d?.cleanup();
    }
  });

  it('socket activation: a TCP and a Unix socket passed as fds 3 and 4 with LISTEN_FDS; plain loopback TCP is warned about in info', async () => {
    const tcp = createNetServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    // libuv removes a socket file when its server closes: bind under another name and link the real one
    const activated = join(dir, 'activated.sock');
    const unix = createNetServer();
    await new Promise<void>((r) => unix.listen(`${activated}.bind`, r));
    linkSync(`${activated}.bind`, activated);
    const fdOf = (s: NetServer): number => (s as unknown as { _handle: { fd: number } })._handle.fd;
    let d: BerthdHandle | undefined;
    try {
      d = await startBerthd({ args: ['-H', 'fd://'], listenFds: [fdOf(tcp), fdOf(unix)] });
      // this process stops accepting on them: only berthd does
      await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => unix.close(r))]);
      const env = { ...d.env, DOCKER_HOST: `tcp://127.0.0.1:${port}` };
      const info = JSON.parse(ok(await runCommand(dockerBin, ['info', '--format', '{{json .}}'], env), 'docker info over fd 3')) as { Warnings: string[] };
      assert.ok(
        info.Warnings.some((w) => w.startsWith(`WARNING: API is accessible on http://127.0.0.1:${port} without encryption.`)),
        JSON.stringify(info.Warnings),
      );
      ok(await runCommand(dockerBin, ['version'], { ...d.env, DOCKER_HOST: `unix://${activated}` }), 'docker version over fd 4');
      assert.equal(statSync(activated).mode & 0o777, 0o660);
      assert.equal(statSync(activated).isSocket(), true);
      await d.stop();
      // the socket systemd made is systemd's: berthd leaves it in place
      assert.equal(statSync(activated).isSocket(), true);
    } finally {
      tcp.close();
      unix.close();
      await d?.cleanup();
    }
  });

  it('fd://N names one passed socket; fd:// without sockets from systemd is refused', async () => {
    const none = await start(['-H', 'fd://']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no sockets found via socket activation/);
    const tcp = createNetServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    let d: BerthdHandle | undefined;
    try {
      d = await startBerthd({
        args: ['-H', 'fd://3', '--tlsverify', '--tlscacert', c.ca, '--tlscert', c.serverCert, '--tlskey', c.serverKey],
        listenFds: [(tcp as unknown as { _handle: { fd: number } })._handle.fd],
      });
      await new Promise((r) => tcp.close(r));
      const env = { ...d.env };
      delete env.DOCKER_HOST;
      const info = JSON.parse(
        ok(await runCommand(dockerBin, ['--tlsverify', '--tlscacert', c.ca, '--tlscert', c.clientCert, '--tlskey', c.clientKey, '-H', `tcp://127.0.0.1:${port}`, 'info', '--format', '{{json .Warnings}}'], env), 'info over TLS on fd 3'),
      ) as string[];
      assert.deepEqual(info.filter((w) => /API is accessible/.test(w)), []);
      const plain = await runCommand(dockerBin, ['-H', `tcp://127.0.0.1:${port}`, 'version'], env);
      assert.notEqual(plain.code, 0);
    } finally {
      tcp.close();
      await d?.cleanup();
    }
  });
});
