// Pull (and later push and login) against a real registry: Debian's
// docker-registry 2.8 on 127.0.0.1, driven through the real docker CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiRequest, berthdBin, dockerBin, sleep, startBerthd, until, type BerthdHandle } from '../helpers/berthd.js';
import {
  freePort,
  htpasswdFile,
  http,
  putManifest,
  selfSignedCert,
  startRegistry,
  startThrottleProxy,
  startTokenServer,
  uploadImage,
  uploadIndex,
  type RegistryHandle,
  type ThrottleProxy,
  type TokenServer,
} from '../helpers/registry.js';
import { chainIds } from '../../src/daemon/images/digest.js';
import { buildFixtureImage, dockerSaveArchive, hostArchitecture, type FixtureImage } from '../fixtures/images.js';

const otherArch = hostArchitecture() === 'arm64' ? 'amd64' : 'arm64';

describe('pull from a registry', () => {
  let reg: RegistryHandle | undefined;
  let berthd: BerthdHandle | undefined;
  let app: FixtureImage;
  let appDigest: string;

  const ok = async (args: string[]): Promise<string> => {
    const r = await berthd!.docker(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    reg = await startRegistry();
    app = await buildFixtureImage({ compressLayers: true, extraFiles: { marker: 'app v1\n' }, extraLayers: [{ 'two.txt': 'two\n' }, { 'three.txt': Buffer.alloc(3 << 20, 7) }] });
    appDigest = await uploadImage(reg.host, 'test/app', 'v1', app);
    berthd = await startBerthd();
  });
  after(async () => {
    await berthd?.cleanup();
    await reg?.cleanup();
  });

  test('pull by tag: the progress lines, RepoDigests, run, pull again', async () => {
    const ref = `${reg!.host}/test/app:v1`;
    const out = await ok(['pull', ref]);
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'v1: Pulling from test/app');
    for (const l of app.layers) {
      const id = l.digest.slice(7, 19);
      assert.ok(lines.includes(`${id}: Pulling fs layer`), `${id} pulling in:\n${out}`);
      assert.ok(lines.includes(`${id}: Download complete`), `${id} downloaded in:\n${out}`);
      assert.ok(lines.includes(`${id}: Pull complete`), `${id} complete in:\n${out}`);
    }
    assert.ok(lines.includes(`Digest: ${appDigest}`), out);
    assert.ok(lines.includes(`Status: Downloaded newer image for ${ref}`), out);
    assert.equal(lines.at(-1), ref);

    const digests = JSON.parse(await ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
    assert.deepEqual(digests, [`${reg!.host}/test/app@${appDigest}`]);
    assert.match(await ok(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}']), new RegExp(`^${reg!.host}/test/app v1 ${appDigest}$`, 'm'));
    assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker', '/two.txt']), 'app v1\ntwo\n');

    const again = (await ok(['pull', ref])).trim().split('\n');
    for (const l of app.layers) assert.ok(again.includes(`${l.digest.slice(7, 19)}: Already exists`), again.join('\n'));
    assert.ok(again.includes(`Status: Image is up to date for ${ref}`), again.join('\n'));

    // berthd remembers the image as complete between pulls: a blob or a snapshot removed behind its back is seen.
    const ctr = (...args: string[]): string =>
      execFileSync('ctr', ['-a', join(berthd!.execRoot, 'containerd', 'containerd.sock'), '-n', 'berth', ...args], { encoding: 'utf8' });
    const top = app.layers.at(-1)!.digest;
    ctr('content', 'rm', top);
    const refetched = (await ok(['pull', ref])).trim().split('\n');
    assert.ok(refetched.includes(`${top.slice(7, 19)}: Download complete`), refetched.join('\n'));
    assert.ok(refetched.includes(`${app.layers[0]!.digest.slice(7, 19)}: Already exists`), refetched.join('\n'));
    const diffIds = JSON.parse(await ok(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])) as string[];
    const topChain = chainIds(diffIds).at(-1)!;
    ctr('snapshots', 'rm', topChain);
    assert.doesNotMatch(ctr('snapshots', 'ls'), new RegExp(topChain));
    const unpacked = (await ok(['pull', ref])).trim().split('\n');
    assert.ok(unpacked.includes(`Status: Image is up to date for ${ref}`), unpacked.join('\n'));
    assert.match(ctr('snapshots', 'ls'), new RegExp(`^${topChain}\\s`, 'm'), 'the pull unpacked the layer again');
    assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker']), 'app v1\n');
  });

  test('pull by digest, unknown tag, unknown repository, bad names', async () => {
    const byDigest = `${reg!.host}/test/app@${appDigest}`;
    const out = await ok(['pull', byDigest]);
    assert.match(out, new RegExp(`^${appDigest.replace(':', ':')}: Pulling from test/app$`, 'm'));
    assert.equal(await ok(['run', '--rm', byDigest, 'cat', '/marker']), 'app v1\n');

    const nope = await berthd!.docker(['pull', `${reg!.host}/test/app:nope`]);
    assert.notEqual(nope.code, 0);
    assert.match(nope.stderr, new RegExp(`Error response from daemon: manifest for ${reg!.host}/test/app:nope not found: manifest unknown: manifest unknown`));
    const unknown = await berthd!.docker(['pull', `${reg!.host}/test/nothing-here:v1`]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /not found/);
    const upper = await berthd!.docker(['pull', `${reg!.host}/Test/App:v1`]);
    assert.notEqual(upper.code, 0);
    assert.match(upper.stderr, /invalid reference format/);
    const scratch = await berthd!.docker(['pull', 'scratch']);
    assert.match(scratch.stderr, /'scratch' is a reserved name/);
  });

  test('run of a missing image pulls it', async () => {
    const img = await buildFixtureImage({ compressLayers: true, extraFiles: { marker: 'run me\n' } });
    await uploadImage(reg!.host, 'test/runme', 'latest', img);
    const r = await berthd!.docker(['run', '--rm', `${reg!.host}/test/runme`, 'cat', '/marker'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Unable to find image '${reg!.host}/test/runme:latest' locally`));
    assert.equal(r.stdout, 'run me\n');
  });

  test('an OCI index: the host platform, or the one asked for', async () => {
    const mine = await buildFixtureImage({ compressLayers: true, extraFiles: { marker: 'host\n' } });
    const other = await buildFixtureImage({ compressLayers: true, extraFiles: { marker: 'other\n' }, architecture: otherArch });
    const { digest } = await uploadIndex(reg!.host, 'test/multi', 'latest', [
      { img: other, platform: { os: 'linux', architecture: otherArch } },
      { img: mine, platform: { os: 'linux', architecture: hostArchitecture() } },
    ]);
    const ref = `${reg!.host}/test/multi:latest`;
    const out = await ok(['pull', ref]);
    assert.match(out, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker']), 'host\n');
    assert.equal((await ok(['image', 'inspect', '--format', '{{.Id}}', ref])).trim(), mine.configDigest);
    assert.match(await ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]), new RegExp(`${reg!.host}/test/multi@${digest}`));

    const foreign = await ok(['pull', '--platform', `linux/${otherArch}`, ref]);
    assert.match(foreign, /Status: Downloaded newer image for/);
    assert.equal((await ok(['image', 'inspect', '--format', '{{.Architecture}} {{.Id}}', ref])).trim(), `${otherArch} ${other.configDigest}`);

    const wrong = await berthd!.docker(['pull', '--platform', 'linux/s390x', ref]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
  });

  test('push: upload, layer already exists, cross-repo mount, then pull back', async () => {
    const archive = await dockerSaveArchive({ repoTags: ['pushme:1'], extraFiles: { marker: 'pushed\n' }, extraLayers: [{ 'b.txt': 'b\n' }] });
    const loaded = await berthd!.docker(['load'], { input: archive });
    assert.equal(loaded.code, 0, loaded.stderr);
    const ref = `${reg!.host}/test/pushed:1`;
    await ok(['tag', 'pushme:1', ref]);
    const out = (await ok(['push', ref])).trim().split('\n');
    assert.equal(out[0], `The push refers to repository [${reg!.host}/test/pushed]`);
    assert.equal(out.filter((l) => /^[0-9a-f]{12}: Pushed$/.test(l)).length, 2, out.join('\n'));
    const digestLine = out.find((l) => l.startsWith('1: digest: sha256:'));
    assert.ok(digestLine, out.join('\n'));
    const pushedDigest = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(digestLine)![1]!;

    const again = (await ok(['push', ref])).trim().split('\n');
    assert.equal(again.filter((l) => /: Layer already exists$/.test(l)).length, 2, again.join('\n'));

    // A pulled image pushed to another repository of the same registry is mounted, not uploaded.
    await ok(['tag', `${reg!.host}/test/app:v1`, `${reg!.host}/test/copy:v1`]);
    const mounted = (await ok(['push', `${reg!.host}/test/copy:v1`])).trim().split('\n');
    assert.equal(mounted.filter((l) => /: Mounted from test\/app$/.test(l)).length, app.layers.length, mounted.join('\n'));

    await ok(['rmi', ref, 'pushme:1']);
    const back = await ok(['pull', ref]);
    assert.match(back, new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
    assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker', '/b.txt']), 'pushed\nb\n');

    const missing = await berthd!.docker(['push', `${reg!.host}/test/none:1`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /tag does not exist: 127\.0\.0\.1:\d+\/test\/none:1/);
  });

  test('push of a big layer: chunked PATCHes with Content-Range, a cut PATCH retried in a new upload, a cut PUT resumed where the registry stands', async () => {
    const big = await buildFixtureImage({ compressLayers: true, extraLayers: [{ 'big.bin': randomBytes(20 << 20) }] });
    const layer = big.layers.at(-1)!;
    const hex = layer.digest.slice('sha256:'.length);
    // The image comes into berth from another registry, then goes to this one through a proxy that cuts two requests.
    const src = await startRegistry();
    const proxy = await startThrottleProxy(reg!.port, 1 << 30, { cut: [/^PATCH /, new RegExp(`^PUT \\S+digest=sha256%3A${hex}`)] });
    try {
      await uploadImage(src.host, 'test/chunky-src', '1', big);
      await ok(['pull', `${src.host}/test/chunky-src:1`]);
      const ref = `${proxy.host}/test/chunky:1`;
      await ok(['tag', `${src.host}/test/chunky-src:1`, ref]);
      const out = await ok(['push', ref]);
      assert.match(out, /Retrying in 1 second/, out);
      assert.match(out, /1: digest: sha256:[0-9a-f]{64} size: \d+/, out);
      const ranges = proxy.requests.filter((r) => r.line.startsWith('PATCH ')).map((r) => r.contentRange);
      assert.ok(ranges.includes(`0-${(16 << 20) - 1}`) && ranges.includes(`${16 << 20}-${layer.blob.length - 1}`), `two chunks of the big layer: ${JSON.stringify(ranges)}`);
      const lines = proxy.requests.map((r) => r.line);
      assert.ok(lines.some((l) => /^GET \/v2\/test\/chunky\/blobs\/uploads\/[^?]+\?_state=/.test(l)), `the upload's status asked after a cut:\n${lines.join('\n')}`);
      const puts = lines.filter((l) => l.startsWith('PUT ') && l.includes(`sha256%3A${hex}`));
      assert.equal(puts.length, 2, `the cut PUT and its resumption, without the chunks again:\n${lines.join('\n')}`);
      const head = await http('HEAD', `http://${reg!.host}/v2/test/chunky/blobs/${layer.digest}`);
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers['content-length']), layer.blob.length);
    } finally {
      await proxy.close();
      await src.cleanup();
    }
  });

  test('rmi, save and load of a pulled image', async () => {
    const ref = `${reg!.host}/test/app:v1`;
    const saved = await berthd!.docker(['save', ref]);
    assert.equal(saved.code, 0, saved.stderr);
    await ok(['rmi', '-f', ref]);
    const gone = await berthd!.docker(['image', 'inspect', ref]);
    assert.notEqual(gone.code, 0);
  });
});

describe('registry configuration: mirrors, reload, info', () => {
  let live: RegistryHandle | undefined;
  let berthd: BerthdHandle | undefined;
  let deadPort = 0;

  before(async () => {
    live = await startRegistry();
    const img = await buildFixtureImage({ compressLayers: true, extraFiles: { marker: 'from the mirror\n' } });
    await uploadImage(live.host, 'library/mirrored', 'latest', img);
    deadPort = await freePort();
    // The first mirror answers nothing: the pull falls through to the next one.
    berthd = await startBerthd({ config: { 'registry-mirrors': [`http://127.0.0.1:${deadPort}`, `http://${live.host}`], 'insecure-registries': ['10.99.0.0/16', 'myreg.test:5000'] } });
  });
  after(async () => {
    await berthd?.cleanup();
    await live?.cleanup();
  });

  test('docker.io names come from the mirrors, in order; info shows RegistryConfig; a reload changes them', async () => {
    const r = await berthd!.docker(['pull', 'mirrored'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^latest: Pulling from library\/mirrored$/m);
    assert.match(r.stdout, /^Status: Downloaded newer image for mirrored:latest$/m);
    assert.match(r.stdout, /^docker\.io\/library\/mirrored:latest$/m);
    const run = await berthd!.docker(['run', '--rm', 'mirrored', 'cat', '/marker']);
    assert.equal(run.stdout, 'from the mirror\n', run.stderr);

    const info = JSON.parse((await berthd!.docker(['info', '--format', '{{json .RegistryConfig}}'])).stdout) as {
      InsecureRegistryCIDRs: string[];
      Mirrors: string[];
      IndexConfigs: Record<string, { Secure: boolean; Mirrors: string[] }>;
    };
    assert.deepEqual(info.Mirrors, [`http://127.0.0.1:${deadPort}/`, `http://${live!.host}/`]);
    assert.deepEqual(info.InsecureRegistryCIDRs, ['127.0.0.0/8', '::1/128', '10.99.0.0/16']);
    assert.equal(info.IndexConfigs['myreg.test:5000']?.Secure, false);
    assert.equal(info.IndexConfigs['docker.io']?.Secure, true);

    berthd!.writeConfig({ 'registry-mirrors': [`http://${live!.host}`], 'max-concurrent-uploads': 2 });
    process.kill(berthd!.pid, 'SIGHUP');
    const deadline = Date.now() + 15_000;
    let mirrors: string[] = [];
    while (Date.now() < deadline) {
      mirrors = JSON.parse((await berthd!.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}'])).stdout) as string[];
      if (mirrors.length === 1) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(mirrors, [`http://${live!.host}/`]);
  });

  test('a bad mirror or insecure entry is refused with dockerd wording', async () => {
    const run = (cfg: string): string => {
      const file = `${berthd!.root}/bad.json`;
      writeFileSync(file, cfg);
      try {
        execFileSync(berthdBin, ['--validate', '--config-file', file], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env.PATH ?? ''}` } });
        return 'accepted';
      } catch (err) {
        return String((err as { stderr?: string }).stderr ?? err);
      }
    };
    assert.match(run('{"registry-mirrors": ["ftp://x"]}'), /invalid mirror: unsupported scheme "ftp" in "ftp:\/\/x"/);
    assert.match(run('{"insecure-registries": ["ftp://x"]}'), /insecure registry ftp:\/\/x should not contain ':\/\/'/);
    assert.match(run('{"max-download-attempts": 0}'), /invalid max download attempts: 0/);
  });
});

describe('registry auth and TLS: htpasswd, token server, certs.d', () => {
  let berthd: BerthdHandle | undefined;
  const regs: RegistryHandle[] = [];
  let token: TokenServer | undefined;
  let dir = '';

  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await berthd!.docker(args, { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync('/tmp/berth-regauth-');
    berthd = await startBerthd();
    const archive = await dockerSaveArchive({ repoTags: ['secret:1'], extraFiles: { marker: 'secret\n' } });
    const loaded = await berthd.docker(['load'], { input: archive });
    assert.equal(loaded.code, 0, loaded.stderr);
  });
  after(async () => {
    await berthd?.cleanup();
    for (const r of regs) await r.cleanup();
    await token?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('htpasswd: wrong password, login, push and pull with the stored credentials, logout', async () => {
    const htpasswd = join(dir, 'htpasswd');
    htpasswdFile(htpasswd, 'alice', 's3cret-pw');
    const reg = await startRegistry({ extra: `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${htpasswd}` });
    regs.push(reg);
    const ref = `${reg.host}/team/secret:1`;
    await ok(['tag', 'secret:1', ref]);

    const anonymous = await berthd!.docker(['push', ref]);
    assert.notEqual(anonymous.code, 0);
    assert.equal(anonymous.stderr.trim(), 'no basic auth credentials', 'a push names no request, as dockerd');
    // dockerd answers a pull it has no credentials for with a 500 naming the request (a 401 would make the CLI prompt).
    const refused = await apiRequest(berthd!.socket, 'POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/team/secret`)}&tag=1`);
    assert.equal(refused.status, 500, refused.body);
    assert.equal(JSON.parse(refused.body).message, `Head "http://${reg.host}/v2/team/secret/manifests/1": no basic auth credentials`);

    const wrong = await berthd!.docker(['login', reg.host, '-u', 'alice', '--password-stdin'], { input: 'nope\n' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, new RegExp(`Error response from daemon: login attempt to https?://${reg.host}/v2/ failed with status: 401 Unauthorized`));
    assert.match(await ok(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret-pw\n'), /Login Succeeded/);

    assert.match(await ok(['push', ref]), /1: digest: sha256:[0-9a-f]{64} size: \d+/);
    await ok(['rmi', ref]);
    assert.match(await ok(['pull', ref]), /Status: Downloaded newer image for/);
    assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker']), 'secret\n');

    await ok(['logout', reg.host]);
    const after = await berthd!.docker(['pull', `${reg.host}/team/secret:1`]);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /no basic auth credentials/);
    assert.ok(!berthd!.output().includes('s3cret-pw'), 'the password never reaches the log');
  });

  test('Bearer tokens from a token server: login, push, pull, wrong password', async () => {
    const { cert, key } = selfSignedCert(dir, 'token', 'token-signer');
    token = await startTokenServer({ certFile: cert, keyFile: key, service: 'test-registry', issuer: 'test-issuer', user: 'bob', password: 'b0b-pw' });
    const reg = await startRegistry({
      extra: `auth:\n  token:\n    realm: ${token.realm}\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: ${cert}`,
    });
    regs.push(reg);
    const ref = `${reg.host}/bob/secret:1`;
    await ok(['tag', 'secret:1', ref]);
    // Anonymous tokens grant nothing: the registry says insufficient_scope, which dockerd words as a denial (404 on pull).
    const push = await berthd!.docker(['push', ref], { input: '' });
    assert.notEqual(push.code, 0);
    assert.equal(push.stderr.trim(), 'denied: requested access to the resource is denied');
    const pull = await berthd!.docker(['pull', `${reg.host}/bob/nothing:1`], { input: '' });
    assert.notEqual(pull.code, 0);
    assert.equal(
      pull.stderr.trim(),
      `Error response from daemon: pull access denied for ${reg.host}/bob/nothing, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
    );
    const denied = await apiRequest(berthd!.socket, 'POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/bob/nothing`)}&tag=1`);
    assert.equal(denied.status, 404);
    const wrong = await berthd!.docker(['login', reg.host, '-u', 'bob', '--password-stdin'], { input: 'wrong\n' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /invalid username or password/);
    assert.match(await ok(['login', reg.host, '-u', 'bob', '--password-stdin'], 'b0b-pw\n'), /Login Succeeded/);
    await ok(['push', ref]);
    assert.ok(token.requests.some((r) => r.authorized && r.scope.includes('repository:bob/secret:pull,push')), JSON.stringify(token.requests));
    await ok(['rmi', ref]);
    await ok(['pull', ref]);
    assert.ok(token.requests.some((r) => r.authorized && r.scope.includes('repository:bob/secret:pull')));
    assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker']), 'secret\n');
    await ok(['logout', reg.host]);
  });

  test('identity tokens: login keeps the refresh token instead of the password, pulls and pushes trade it by OAuth2 POST', async () => {
    const { cert, key } = selfSignedCert(dir, 'oauth', 'oauth-signer');
    const oauth = await startTokenServer({ certFile: cert, keyFile: key, service: 'oauth-registry', issuer: 'oauth-issuer', user: 'carol', password: 'c4rol-pw', refreshTokens: true });
    try {
      const reg = await startRegistry({
        extra: `auth:\n  token:\n    realm: ${oauth.realm}\n    service: oauth-registry\n    issuer: oauth-issuer\n    rootcertbundle: ${cert}`,
      });
      regs.push(reg);
      const ref = `${reg.host}/carol/secret:1`;
      await ok(['tag', 'secret:1', ref]);
      assert.match(await ok(['login', reg.host, '-u', 'carol', '--password-stdin'], 'c4rol-pw\n'), /Login Succeeded/);
      assert.equal(oauth.issued.length, 1, JSON.stringify(oauth.requests));
      const stored = JSON.parse(readFileSync(join(berthd!.root, 'docker-config', 'config.json'), 'utf8')) as { auths: Record<string, { identitytoken?: string; auth?: string }> };
      const entry = stored.auths[reg.host]!;
      assert.equal(entry.identitytoken, oauth.issued[0], 'the CLI stores the IdentityToken berthd answered');
      assert.ok(!Buffer.from(entry.auth ?? '', 'base64').toString().includes('c4rol-pw'), 'and not the password');
      const afterLogin = oauth.requests.length;
      await ok(['push', ref]);
      await ok(['rmi', ref]);
      await ok(['pull', ref]);
      assert.equal(await ok(['run', '--rm', ref, 'cat', '/marker']), 'secret\n');
      const later = oauth.requests.slice(afterLogin);
      assert.ok(later.length >= 2, JSON.stringify(later));
      for (const r of later) assert.deepEqual([r.method, r.grant, r.authorized], ['POST', 'refresh_token', true], JSON.stringify(later));
      assert.ok(later.some((r) => r.scope.includes('repository:carol/secret:pull,push')));
      assert.ok(later.some((r) => r.scope.includes('repository:carol/secret:pull')));
      await ok(['logout', reg.host]);
    } finally {
      await oauth.close();
    }
  });

  test('TLS: a client certificate from certs.d, and without it the handshake fails', async () => {
    const server = selfSignedCert(dir, 'reg');
    const client = selfSignedCert(dir, 'client', 'berth-client');
    const reg = await startRegistry({ tls: { certificate: server.cert, key: server.key, clientcas: [client.cert] } });
    regs.push(reg);
    const certs = join(berthd!.root, 'certs.d', reg.host);
    mkdirSync(certs, { recursive: true });
    copyFileSync(server.cert, join(certs, 'ca.crt'));
    copyFileSync(client.cert, join(certs, 'client.cert'));
    copyFileSync(client.key, join(certs, 'client.key'));
    const ref = `${reg.host}/tls/secret:1`;
    await ok(['tag', 'secret:1', ref]);
    await ok(['push', ref]);
    await ok(['rmi', ref]);
    await ok(['pull', ref]);

    // certs.d is read per configuration snapshot: after a reload without the client key, the registry refuses us.
    rmSync(join(certs, 'client.cert'));
    rmSync(join(certs, 'client.key'));
    berthd!.writeConfig({ labels: ['tls=changed'] });
    process.kill(berthd!.pid, 'SIGHUP');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(await berthd!.docker(['info', '--format', '{{json .Labels}}'])).stdout.includes('tls=changed')) await new Promise((r) => setTimeout(r, 100));
    await ok(['rmi', ref]);
    const refused = await berthd!.docker(['pull', ref]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /certificate|handshake|socket hang up|ECONNRESET/i);
  });
});

describe('interrupted pulls resume; shared downloads; bad content', { timeout: 240_000 }, () => {
  let reg: RegistryHandle | undefined;
  let proxy: ThrottleProxy | undefined;
  let berthd: BerthdHandle | undefined;

  const bigImage = (seed: string): Promise<FixtureImage> =>
    buildFixtureImage({ extraFiles: { marker: `${seed}\n` }, extraLayers: [{ 'big.bin': randomBytes(6 << 20) }] });
  const bigGets = (img: FixtureImage): { line: string; range?: string }[] => {
    const big = img.layers.at(-1)!.digest;
    return proxy!.requests.filter((r) => r.line.startsWith('GET ') && r.line.endsWith(`/blobs/${big}`));
  };

  before(async () => {
    reg = await startRegistry();
    proxy = await startThrottleProxy(reg.port, 2 << 20);
    berthd = await startBerthd({ config: { 'max-download-attempts': 6 } });
  });
  after(async () => {
    await berthd?.cleanup();
    await proxy?.close();
    await reg?.cleanup();
  });

  test('the registry killed mid-download: retried, resumed with Range, verified', async () => {
    const img = await bigImage('killed registry');
    await uploadImage(reg!.host, 'test/big', '1', img);
    const ref = `${proxy!.host}/test/big:1`;
    const pulling = berthd!.docker(['pull', ref], { timeoutMs: 120_000 });
    await until('part of the big layer went through', () => proxy!.sent() > 2 << 20, 30_000);
    await reg!.kill();
    await sleep(1500);
    reg = await startRegistry({ port: reg!.port, dir: reg!.dir });
    const r = await pulling;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Retrying in \d+ seconds?/);
    const gets = bigGets(img);
    assert.ok(gets.some((g) => /^bytes=[1-9]\d*-$/.test(g.range ?? '')), `a resumed request: ${JSON.stringify(gets)}`);
    assert.equal(await berthd!.docker(['run', '--rm', ref, 'cat', '/marker']).then((x) => x.stdout), 'killed registry\n');
  });

  test('berthd killed with SIGKILL mid-pull: no image, then the next pull resumes', async () => {
    const img = await bigImage('killed daemon');
    await uploadImage(reg!.host, 'test/big', '2', img);
    const ref = `${proxy!.host}/test/big:2`;
    const before = proxy!.sent();
    const pulling = berthd!.docker(['pull', ref], { timeoutMs: 120_000 });
    // Enough that part of both layers reached containerd's ingests.
    await until('part of the big layer went through', () => proxy!.sent() - before > 4 << 20, 30_000);
    const root = berthd!.root;
    await berthd!.stop('SIGKILL');
    const cut = await pulling;
    assert.notEqual(cut.code, 0);
    berthd = await startBerthd({ root, config: { 'max-download-attempts': 6 } });
    const images = await berthd.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(images.stdout, /test\/big:2/);
    const r = await berthd.docker(['pull', ref], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const gets = bigGets(img);
    assert.ok(gets.some((g) => /^bytes=[1-9]\d*-$/.test(g.range ?? '')), `the second pull resumes: ${JSON.stringify(gets)}`);
    assert.equal((await berthd.docker(['run', '--rm', ref, 'cat', '/marker'])).stdout, 'killed daemon\n');
  });

  test('the client gone mid-pull (Ctrl-C): the download stops, no image, and the next pull resumes', async () => {
    const img = await bigImage('client gone');
    await uploadImage(reg!.host, 'test/big', '4', img);
    const ref = `${proxy!.host}/test/big:4`;
    const before = proxy!.sent();
    const cli = spawn(dockerBin, ['pull', ref], { env: berthd!.env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
    try {
      await until('part of the big layer went through', () => proxy!.sent() - before > 2 << 20, 30_000);
      cli.kill('SIGINT');
      assert.notEqual(await exited, 0);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
    }
    // berthd drops the registry connection when the client goes: nothing more flows through the proxy.
    await sleep(1000);
    const settled = proxy!.sent();
    await sleep(2000);
    assert.ok(proxy!.sent() - settled < 256 << 10, `still downloading: ${proxy!.sent() - settled} bytes in 2 s`);
    const images = await berthd!.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(images.stdout, /test\/big:4/);
    const r = await berthd!.docker(['pull', ref], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const gets = bigGets(img);
    assert.ok(gets.some((g) => /^bytes=[1-9]\d*-$/.test(g.range ?? '')), `the second pull resumes: ${JSON.stringify(gets)}`);
    assert.equal((await berthd!.docker(['run', '--rm', ref, 'cat', '/marker'])).stdout, 'client gone\n');
  });

  test('two pulls of one image share the download', async () => {
    const img = await bigImage('shared');
    await uploadImage(reg!.host, 'test/big', '3', img);
    const ref = `${proxy!.host}/test/big:3`;
    const [a, b] = await Promise.all([berthd!.docker(['pull', ref], { timeoutMs: 120_000 }), berthd!.docker(['pull', ref], { timeoutMs: 120_000 })]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(bigGets(img).length, 1, JSON.stringify(bigGets(img)));
  });

  test('a layer whose size does not match its descriptor is refused and stores nothing', async () => {
    const img = await buildFixtureImage({ compressLayers: true, extraFiles: { marker: 'liar\n' } });
    await uploadImage(reg!.host, 'test/liar', 'ok', img);
    const m = JSON.parse(img.manifest.toString()) as { layers: { size: number }[] };
    m.layers[0]!.size -= 1;
    const lying = Buffer.from(JSON.stringify(m));
    await putManifest(reg!.host, 'test/liar', 'bad', 'application/vnd.oci.image.manifest.v1+json', lying);
    const r = await berthd!.docker(['pull', `${reg!.host}/test/liar:bad`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /filesystem layer verification failed for digest sha256:[0-9a-f]{64}/);
    assert.doesNotMatch((await berthd!.docker(['images'])).stdout, /test\/liar/);

    // The good tag still pulls.
    const good = await berthd!.docker(['pull', `${reg!.host}/test/liar:ok`]);
    assert.equal(good.code, 0, good.stderr);
  });
});
