// TLS of the API: settings from flags and daemon.json (dockerd's meanings),
// the plain-TCP refusal, info warnings, loading and checking the files,
// fd:// parsing and socket activation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseFlags, validateConfigFile, type DaemonFlags } from '../../src/config/index.js';
import { endpointWarnings, isLoopback, loadTlsMaterial, plaintextTcpErrors, tlsSettings } from '../../src/tls/index.js';
import { selectListenFds, takeListenFds, unixPathByInode } from '../../src/systemd/index.js';
import { parseHost } from '../../src/api/index.js';
import { makeCerts, type CertSet } from '../helpers/tls.js';

let dir: string;
let certs: CertSet;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  certs = makeCerts(join(dir, 'certs'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(flags: DaemonFlags, file?: Record<string, unknown>): string[] {
  try {
    loadConfig(flags, file === undefined ? undefined : JSON.stringify(file), 'F');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.errors];
  }
  return [];
}

test('flags: --tls, --tls=false, --tlsverify and the file paths', () => {
  assert.deepEqual(parseFlags(['--tls']), { tls: true });
  assert.deepEqual(parseFlags(['--tls=false']), { tls: false });
  assert.deepEqual(parseFlags(['--tlsverify', '--tlscacert', 'a', '--tlscert', 'b', '--tlskey', 'c']), {
    tlsVerify: true,
    tlsCaCert: 'a',
    tlsCert: 'b',
    tlsKey: 'c',
  });
  assert.throws(() => parseFlags(['--tls=maybe']), ConfigError);
});

test('defaults under /etc/berth; daemon.json keys as dockerd names them; a flag and the file conflict', () => {
  const d = loadConfig({}, undefined, 'F');
  assert.deepEqual([d.tlsCaCert, d.tlsCert, d.tlsKey], ['/etc/berth/ca.pem', '/etc/berth/cert.pem', '/etc/berth/key.pem']);
  const f = loadConfig({}, JSON.stringify({ tlsverify: true, tlscacert: '/x/ca.pem', tlscert: '/x/c.pem', tlskey: '/x/k.pem' }), 'F');
  assert.equal(f.tlsVerify, true);
  assert.equal(f.tlsCert, '/x/c.pem');
  assert.match(errorsOf({ tls: true }, { tls: true }).join('\n'), /specified both as a flag and in the configuration file: tls: \(from flag: true, from file: true\)/);
  assert.match(errorsOf({}, { tls: 'yes' }).join('\n'), /invalid value for 'tls' in F/);
});

test('DOCKER_CERT_PATH moves the default certificate paths and DOCKER_TLS_VERIFY turns verification on, as dockerd reads them', () => {
  const env = { DOCKER_CERT_PATH: '/srv/certs', DOCKER_TLS_VERIFY: '1' };
  const d = loadConfig(parseFlags([], '0', env), undefined, 'F');
  assert.deepEqual([d.tlsCaCert, d.tlsCert, d.tlsKey, d.tlsVerify], ['/srv/certs/ca.pem', '/srv/certs/cert.pem', '/srv/certs/key.pem', true]);
  // Flags and daemon.json still win over the environment, and name no conflict with it.
  const f = loadConfig(parseFlags(['--tlscert', '/x/c.pem', '--tlsverify=false'], '0', env), JSON.stringify({ tlskey: '/y/k.pem' }), 'F');
  assert.deepEqual([f.tlsCaCert, f.tlsCert, f.tlsKey, f.tlsVerify], ['/srv/certs/ca.pem', '/x/c.pem', '/y/k.pem', false]);
  const file = loadConfig(parseFlags([], '0', env), JSON.stringify({ tlsverify: false }), 'F');
  assert.equal(file.tlsVerify, false);
  const none = loadConfig(parseFlags([], '0', { DOCKER_CERT_PATH: '', DOCKER_TLS_VERIFY: '' }), undefined, 'F');
  assert.deepEqual([none.tlsCaCert, none.tlsVerify], ['/etc/berth/ca.pem', undefined]);
});

test('dockerd meanings: --tlsverify at all turns TLS on; --tls alone does not verify', () => {
  const base = { tlsCaCert: 'a', tlsCert: 'b', tlsKey: 'c' };
  assert.deepEqual(
    [tlsSettings({ ...base, tls: undefined, tlsVerify: undefined }).enabled, tlsSettings({ ...base, tls: true, tlsVerify: undefined }).verify],
    [false, false],
  );
  const verifyFalse = tlsSettings({ ...base, tls: undefined, tlsVerify: false });
  assert.deepEqual([verifyFalse.enabled, verifyFalse.verify], [true, false]);
  const off = tlsSettings({ ...base, tls: false, tlsVerify: undefined });
  assert.deepEqual([off.enabled, off.plaintextAllowed], [false, true]);
  assert.equal(tlsSettings({ ...base, tls: false, tlsVerify: true }).enabled, true);
});

test('plain TCP off loopback is refused at start unless --tls=false; loopback starts', () => {
  const [e] = errorsOf({ hosts: ['tcp://0.0.0.0:2375'] });
  assert.match(e!, /^refusing to serve the API on tcp:\/\/0\.0\.0\.0:2375 without TLS/);
  assert.match(e!, /--tlsverify --tlscacert=CA\.pem --tlscert=CERT\.pem --tlskey=KEY\.pem/);
  assert.match(e!, /or pass --tls=false/);
  assert.deepEqual(errorsOf({ hosts: ['tcp://0.0.0.0:2375'], tls: false }), []);
  assert.deepEqual(errorsOf({ hosts: ['tcp://0.0.0.0:2375'], tlsVerify: true }), []);
  assert.deepEqual(errorsOf({ hosts: ['tcp://127.0.0.1:2375', 'tcp://[::1]:2375', 'tcp://localhost:2375'] }), []);
  assert.equal(plaintextTcpErrors(['tcp://192.168.1.4:2375', 'unix:///x'], tlsSettings({ tls: undefined, tlsVerify: undefined, tlsCaCert: '', tlsCert: '', tlsKey: '' })).length, 1);
  for (const h of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '128.0.0.1']) assert.ok(!isLoopback(h), h);
});

test('info warnings: plain TCP and TLS without client verification; none for mutual TLS', () => {
  const w = endpointWarnings([
    { address: '127.0.0.1:1', tls: false, verify: false },
    { address: '127.0.0.1:2', tls: true, verify: false },
    { address: '127.0.0.1:3', tls: true, verify: true },
  ]);
  assert.equal(w.length, 2);
  assert.match(w[0]!, /^WARNING: API is accessible on http:\/\/127\.0\.0\.1:1 without encryption\./);
  assert.match(w[1]!, /^WARNING: API is accessible on https:\/\/127\.0\.0\.1:2 without TLS client verification\./);
});

test('TLS files: loaded and checked; missing, garbage, mismatched or expired ones are clear errors', async () => {
  const s = (over: Partial<{ caFile: string; certFile: string; keyFile: string }> = {}) => ({
    enabled: true,
    verify: true,
    plaintextAllowed: false,
    caFile: certs.ca,
    certFile: certs.serverCert,
    keyFile: certs.serverKey,
    ...over,
  });
  const m = await loadTlsMaterial(s());
  assert.equal(m.verify, true);
  assert.equal(m.options.minVersion, 'TLSv1.2');
  assert.ok(m.options.ca);
  await assert.rejects(loadTlsMaterial(s({ certFile: join(dir, 'nope.pem') })), /cannot read the TLS certificate .*nope\.pem \(--tlscert\): no such file or directory/);
  await assert.rejects(loadTlsMaterial(s({ caFile: join(dir, 'nope.pem') })), /cannot read the TLS CA certificate .*\(--tlscacert\)/);
  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate\n');
  await assert.rejects(loadTlsMaterial(s({ certFile: junk })), /is not a PEM certificate/);
  await assert.rejects(loadTlsMaterial(s({ keyFile: junk })), /is not a PEM private key/);
  await assert.rejects(loadTlsMaterial(s({ caFile: junk })), /CA certificate .* is not a PEM certificate/);
  await assert.rejects(loadTlsMaterial(s({ keyFile: certs.clientKey })), /does not belong to the certificate/);
  await assert.rejects(loadTlsMaterial(s({ certFile: certs.expiredCert, keyFile: certs.expiredKey })), /expired on/);
  // berthd --validate reads them as a start would
  const file = join(dir, 'daemon.json');
  writeFileSync(file, JSON.stringify({ tlsverify: true, tlscacert: certs.ca, tlscert: certs.serverCert, tlskey: certs.clientKey }));
  const report = await validateConfigFile(file, {});
  assert.equal(report.ok, false);
  assert.match(report.errors.join('\n'), /does not belong to the certificate/);
  writeFileSync(file, JSON.stringify({ tlsverify: true, tlscacert: certs.ca, tlscert: certs.serverCert, tlskey: certs.serverKey }));
  assert.equal((await validateConfigFile(file, {})).ok, true);
  // --tls alone: no CA needed
  assert.equal((await loadTlsMaterial({ ...s({ caFile: join(dir, 'nope.pem') }), verify: false })).options.ca, undefined);
});

test('fd:// hosts and socket activation (LISTEN_PID must be ours; the variables are removed)', () => {
  assert.deepEqual(parseHost('fd://'), { kind: 'fd', fd: undefined });
  assert.deepEqual(parseHost('fd://3'), { kind: 'fd', fd: 3 });
  assert.throws(() => parseHost('fd://x'), /expected fd:\/\/ or fd:\/\/N/);
  const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'a:b' };
  assert.deepEqual(takeListenFds(env, 42), [3, 4]);
  assert.deepEqual(env, {});
  assert.deepEqual(takeListenFds({ LISTEN_FDS: '1', LISTEN_PID: '7' }, 42), []);
  assert.deepEqual(takeListenFds({}, 42), []);
  assert.deepEqual(selectListenFds(undefined, [3, 4]), [3, 4]);
  assert.deepEqual(selectListenFds(4, [3, 4]), [4]);
  assert.throws(() => selectListenFds(5, [3, 4]), /systemd passed no socket as fd 5/);
  assert.throws(() => selectListenFds(undefined, []), /no sockets found via socket activation/);
  const table = 'Num       RefCount Protocol Flags    Type St Inode Path\n0000: 00000002 00000000 00010000 0001 01 1234 /run/berth/berth.sock\n0001: 00000003 00000000 00000000 0001 03 99\n';
  assert.equal(unixPathByInode(table, '1234'), '/run/berth/berth.sock');
  assert.equal(unixPathByInode(table, '99'), undefined);
});
