// The registry client's pure parts: challenges, X-Registry-Auth, platform
// choice, hosts (insecure, mirrors, RegistryConfig), error texts, progress.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import {
  Authorizer,
  basicCredentials,
  chooseManifest,
  decodeRegistryAuth,
  describeErrors,
  Limiter,
  loginHost,
  normalizeInsecureEntry,
  normalizeMirror,
  parseChallenges,
  parseErrorBody,
  readCertsDir,
  RegistryHosts,
  type Descriptor,
  type RegistrySettings,
} from '../../src/distribution/index.js';
import { transportError, unauthorizedAnswer } from '../../src/distribution/errors.js';
import type { TokenRequest } from '../../src/distribution/auth.js';
import { readBody } from '../../src/distribution/http.js';
import { humanSize, progressBar, ProgressStream } from '../../src/daemon/images/progress.js';

const settings = (o: Partial<RegistrySettings> = {}): RegistrySettings => ({
  mirrors: [],
  insecure: [],
  certsDir: '/nonexistent',
  maxConcurrentDownloads: 3,
  maxConcurrentUploads: 5,
  maxDownloadAttempts: 5,
  ...o,
});

describe('auth', () => {
  it('parses Bearer and Basic challenges', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
    assert.deepEqual(parseChallenges(['Basic realm="r"']), [{ scheme: 'basic', params: { realm: 'r' } }]);
    assert.deepEqual(parseChallenges(undefined), []);
  });

  it('decodes X-Registry-Auth (base64url JSON); anything unreadable is anonymous', () => {
    const enc = Buffer.from(JSON.stringify({ username: 'alice', password: 'p?>', serveraddress: 'h:5000', extra: 1 })).toString('base64url');
    assert.deepEqual(decodeRegistryAuth(enc), { username: 'alice', password: 'p?>', serveraddress: 'h:5000' });
    assert.deepEqual(decodeRegistryAuth('e30='), {});
    assert.deepEqual(decodeRegistryAuth('!!not base64 json'), {});
    assert.deepEqual(decodeRegistryAuth(undefined), {});
    assert.deepEqual(basicCredentials({ auth: Buffer.from('bob:x:y').toString('base64') }), { username: 'bob', password: 'x:y' });
  });

  it('answers Basic once with credentials, never without', async () => {
    const withCreds = new Authorizer({ username: 'a', password: 'b' }, () => Promise.reject(new Error('no tokens')));
    assert.equal(await withCreds.header('s'), undefined);
    assert.equal(withCreds.onUnauthorized('Basic realm="r"', 's', false), true);
    assert.equal(await withCreds.header('s'), `Basic ${Buffer.from('a:b').toString('base64')}`);
    assert.equal(withCreds.onUnauthorized('Basic realm="r"', 's', true), false);
    const anonymous = new Authorizer({}, () => Promise.reject(new Error('no tokens')));
    assert.equal(anonymous.onUnauthorized('Basic realm="r"', 's', false), false);
  });

  it('gets Bearer tokens per scope from the realm, with the account', async () => {
    const asked: string[] = [];
    const a = new Authorizer({ username: 'u', password: 'p' }, async ({ realm, headers }) => {
      asked.push(`${realm.href} ${headers.authorization ?? ''}`);
      return { token: `t${asked.length}`, expiresIn: 300 };
    });
    assert.equal(a.onUnauthorized('Bearer realm="http://127.0.0.1:1/token",service="reg"', 'repository:x:pull', false), true);
    assert.equal(await a.header('repository:x:pull'), 'Bearer t1');
    assert.equal(await a.header('repository:x:pull'), 'Bearer t1', 'cached');
    assert.equal(await a.header('repository:y:pull'), 'Bearer t2');
    assert.match(asked[0]!, /service=reg&scope=repository%3Ax%3Apull&account=u&client_id=docker Basic /);
  });

  it('login asks for an offline token and keeps the refresh token; an identity token is traded by OAuth2 POST', async () => {
    const asked: TokenRequest[] = [];
    const login = new Authorizer({ username: 'u', password: 'p' }, async (req) => {
      asked.push(req);
      return { token: 't', expiresIn: 300, refreshToken: 'r1' };
    });
    login.onUnauthorized('Bearer realm="http://127.0.0.1:1/token",service="reg"', '', false);
    await login.header('');
    assert.equal(asked[0]!.realm.searchParams.get('offline_token'), 'true');
    assert.equal(asked[0]!.form, undefined);
    assert.equal(login.identityToken, 'r1');

    const later = new Authorizer({ username: 'u', identitytoken: 'r1' }, async (req) => {
      asked.push(req);
      return { token: 't2', expiresIn: 300 };
    });
    later.onUnauthorized('Bearer realm="http://127.0.0.1:1/token",service="reg"', 'repository:x:pull repository:y:pull', false);
    assert.equal(await later.header('repository:x:pull repository:y:pull'), 'Bearer t2');
    const post = asked[1]!;
    assert.deepEqual(post.form, { grant_type: 'refresh_token', refresh_token: 'r1', client_id: 'docker', service: 'reg', scope: 'repository:x:pull repository:y:pull' });
    assert.equal(post.headers.authorization, undefined, 'no Basic with an identity token');
    assert.equal(later.identityToken, 'r1');
  });

  it('words a final 401 as the distribution client does', () => {
    const body = Buffer.from(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
    const denied = unauthorizedAnswer('Bearer realm="http://t/token",service="s",scope="repository:a:pull",error="insufficient_scope"', body);
    assert.deepEqual(denied.entries.map((e) => e.code), ['DENIED', 'UNAUTHORIZED']);
    assert.equal(denied.message, 'denied: requested access to the resource is denied');
    assert.equal(unauthorizedAnswer('Basic realm="r"', body).message, 'unauthorized: authentication required');
    assert.equal(unauthorizedAnswer(undefined, Buffer.from('nope')).message, 'unauthorized: authentication required');
    assert.equal(unauthorizedAnswer('Bearer realm="x",error="invalid_token",error_description="expired"', Buffer.alloc(0)).message, 'unauthorized: expired');
  });
});

describe('platforms', () => {
  const d = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${architecture}${variant ?? ''}`,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  it('picks the host platform, skips attestations, ranks variants', () => {
    const list = [d('unknown', undefined, 'unknown'), d('arm', 'v6'), d('arm', 'v7'), d('amd64'), d('386')];
    assert.equal(chooseManifest(list, { os: 'linux', architecture: 'amd64' }, false)?.digest, 'sha256:amd64');
    assert.equal(chooseManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' }, false)?.digest, 'sha256:armv7');
    assert.equal(chooseManifest([d('arm', 'v6')], { os: 'linux', architecture: 'arm', variant: 'v7' }, false)?.digest, 'sha256:armv6');
    assert.equal(chooseManifest([d('arm', 'v6')], { os: 'linux', architecture: 'arm', variant: 'v7' }, true), undefined, '--platform is exact');
    assert.equal(chooseManifest([d('386')], { os: 'linux', architecture: 'amd64' }, false)?.digest, 'sha256:386');
    assert.equal(chooseManifest([d('arm64', 'v8')], { os: 'linux', architecture: 'arm64' }, true)?.digest, 'sha256:arm64v8');
    assert.equal(chooseManifest([d('s390x')], { os: 'linux', architecture: 'amd64' }, false), undefined);
  });
});

describe('hosts', () => {
  it('loopback and listed entries are insecure; hostnames and CIDRs', () => {
    const h = new RegistryHosts(settings({ insecure: ['myreg:5000', 'http://plain.example', '10.1.0.0/16'] }));
    for (const host of ['127.0.0.1:5000', '127.8.9.1', 'localhost:5000', '[::1]:5000', 'myreg:5000', 'plain.example:443', '10.1.2.3:5000']) assert.ok(h.isInsecure(host), host);
    for (const host of ['myreg:5001', 'registry-1.docker.io', '10.2.0.1:5000']) assert.ok(!h.isInsecure(host), host);
    assert.throws(() => normalizeInsecureEntry('ftp://x'), /insecure registry ftp:\/\/x should not contain ':\/\/'/);
  });

  it('docker.io goes to its mirrors first, then registry-1.docker.io; other registries have none', () => {
    const h = new RegistryHosts(settings({ mirrors: ['http://127.0.0.1:5000', 'https://mirror.example/path'] }));
    assert.deepEqual(
      h.endpoints('docker.io').map((e) => `${e.origin}${e.prefix} ${e.mirror}`),
      ['http://127.0.0.1:5000 true', 'https://mirror.example/path true', 'https://registry-1.docker.io false'],
    );
    assert.deepEqual(h.endpoints('docker.io', { mirrors: false }).map((e) => e.origin), ['https://registry-1.docker.io']);
    assert.deepEqual(h.endpoints('quay.io').map((e) => e.origin), ['https://quay.io']);
    const v = h.view();
    assert.deepEqual(v.Mirrors, ['http://127.0.0.1:5000/', 'https://mirror.example/path/']);
    assert.deepEqual(v.InsecureRegistryCIDRs, ['127.0.0.0/8', '::1/128']);
    assert.equal(v.IndexConfigs['docker.io']?.Official, true);
  });

  it('checks mirrors as dockerd does', () => {
    assert.equal(normalizeMirror('https://m.example'), 'https://m.example/');
    assert.throws(() => normalizeMirror('ftp://m'), /invalid mirror: unsupported scheme "ftp"/);
    assert.throws(() => normalizeMirror('https://u:p@m'), /username\/password not allowed/);
    assert.throws(() => normalizeMirror('https://m/?q=1'), /query or fragment not allowed/);
    assert.throws(() => normalizeMirror('not a url'), /is not a valid URI/);
  });

  it('reads certs.d: CAs, client pairs, and refuses a key without its certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-certsd-'));
    try {
      mkdirSync(join(dir, 'ok'));
      writeFileSync(join(dir, 'ok', 'ca.crt'), 'CA');
      writeFileSync(join(dir, 'ok', 'client.cert'), 'C');
      writeFileSync(join(dir, 'ok', 'client.key'), 'K');
      const tls = readCertsDir(join(dir, 'ok'));
      assert.equal(tls.ca?.at(-1), 'CA');
      assert.equal(tls.cert?.toString(), 'C');
      mkdirSync(join(dir, 'bad'));
      writeFileSync(join(dir, 'bad', 'client.key'), 'K');
      assert.throws(() => readCertsDir(join(dir, 'bad')), /missing client certificate client.cert for key client.key/);
      assert.deepEqual(readCertsDir(join(dir, 'absent')), {});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps login addresses to hosts', () => {
    assert.equal(loginHost('https://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
    assert.equal(loginHost('h:5000'), 'h:5000');
    assert.equal(loginHost(''), 'registry-1.docker.io');
    assert.equal(loginHost('https://index.docker.io/v1/'), 'registry-1.docker.io');
  });
});

describe('errors', () => {
  it('registry bodies, and the plain-http answer with its hint', () => {
    const body = Buffer.from(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }] }));
    const entries = parseErrorBody(body);
    assert.equal(entries[0]?.code, 'MANIFEST_UNKNOWN');
    assert.equal(describeErrors(entries, 404, body), 'manifest unknown: manifest unknown');
    assert.equal(describeErrors([], 502, Buffer.from('<html>bad gateway</html>')), 'unexpected status 502 from the registry: <html>bad gateway</html>');
    const plain = Object.assign(new Error('write EPROTO 00:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), { code: 'EPROTO' });
    assert.equal(
      transportError('GET', new URL('https://h:5000/v2/'), plain, true).message,
      'Get "https://h:5000/v2/": http: server gave HTTP response to HTTPS client (the registry speaks plain http: list "h:5000" in "insecure-registries" in daemon.json to allow it)',
    );
  });

  it('refuses bodies over the limit', async () => {
    const src = Readable.from([Buffer.alloc(3000), Buffer.alloc(3000)]) as unknown as IncomingMessage;
    await assert.rejects(readBody(src, 4096, 'manifest m'), /manifest m is larger than 4096 bytes/);
  });
});

describe('progress', () => {
  it('renders sizes and bars as jsonmessage does', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1234567), '1.235MB');
    assert.equal(humanSize(30_000_000), '30MB');
    assert.equal(progressBar(0, 0), '');
    assert.equal(progressBar(50, 100), `[${'='.repeat(25)}>${' '.repeat(25)}]      50B/100B`);
    assert.equal(progressBar(1_000_000, 2_000_000, 100, 102_000), `[${'='.repeat(25)}>${' '.repeat(25)}]      1MB/2MB 2s`);
  });

  it('writes \\r\\n-terminated JSON, layer states with progressDetail, errors in the stream', async () => {
    const s = new ProgressStream();
    s.message('Pulling from test/app', 'v1');
    s.update('abc', 'Pulling fs layer');
    s.fail(new Error('boom'));
    s.message('after the end');
    const text = (await s.toArray()).map(String).join('');
    assert.equal(
      text,
      '{"status":"Pulling from test/app","id":"v1"}\r\n{"status":"Pulling fs layer","progressDetail":{},"id":"abc"}\r\n{"errorDetail":{"message":"boom"},"error":"boom"}\r\n',
    );
  });

  it('a limiter runs at most n at a time', async () => {
    const l = new Limiter(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        l.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    assert.equal(peak, 2);
  });
});

describe('http timeouts', () => {
  it('a server that stops sending mid-body fails the read instead of hanging', async () => {
    const { createServer } = await import('node:http');
    const { send } = await import('../../src/distribution/http.js');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10));
      // …and nothing more.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const res = await send({ method: 'GET', url: new URL(`http://127.0.0.1:${port}/`), headers: {}, connectTimeoutMs: 1000, idleTimeoutMs: 200 });
      await assert.rejects(readBody(res.body, 4096, 'blob'), /sent nothing for 0.2 s|aborted/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
