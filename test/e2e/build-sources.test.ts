// docker build's sources beyond the uploaded context, and the options that
// reach RUN: ADD <url>, remote= contexts (tarball, bare Dockerfile, git over
// dumb HTTP), --cache-from and --ulimit, against bin/berthd on a real
// containerd. Every URL is an HTTP server this test runs on 127.0.0.1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { importBusybox, tarBuffer } from '../fixtures/images.js';
import { dockerBin, ok, runCommand, startBerthd, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

describe('docker build sources and RUN options', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  let server: Server;
  let base = '';
  let n = 0;
  /** what the server answers, by path: body and headers */
  const served = new Map<string, { body: Buffer; headers?: Record<string, string>; status?: number }>();
  let staticRoot = '';
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const env = (): NodeJS.ProcessEnv => ({ ...d.env, DOCKER_BUILDKIT: '0' });
  const build = (args: string[], input?: string): Promise<CommandResult> =>
    runCommand(dockerBin, ['build', ...args], env(), input === undefined ? { timeoutMs: 120_000 } : { input, timeoutMs: 120_000 });
  const context = (files: Record<string, string>): string => {
    const dir = join(d.root, `ctx-${++n}`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    return dir;
  };
  const run = async (image: string, cmd: string): Promise<string> => ok(await docker('run', '--rm', image, 'sh', '-c', cmd), `run ${cmd}`);

  before(async () => {
    d = await startBerthd();
    await importBusybox(d);
    staticRoot = join(d.root, 'www');
    mkdirSync(staticRoot, { recursive: true });
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const entry = served.get(path);
      if (entry !== undefined) {
        res.writeHead(entry.status ?? 200, { 'Content-Length': entry.body.length, ...entry.headers });
        res.end(entry.body);
        return;
      }
      // Everything else from the static root (a git repository served the dumb way).
      const file = normalize(join(staticRoot, path));
      try {
        if (!file.startsWith(staticRoot) || !statSync(file).isFile()) throw new Error('not a file');
        const body = readFileSync(file);
        res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('nothing here');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await d?.cleanup();
  });

  it('ADD <url> downloads the file: named from the URL, mode 0600, Last-Modified time, archives not unpacked', async () => {
    const modified = new Date('2021-03-04T05:06:07Z');
    served.set('/files/hello.txt', { body: Buffer.from('hello from http\n'), headers: { 'Last-Modified': modified.toUTCString(), 'Content-Type': 'text/plain' } });
    const archive = gzipSync(await tarBuffer([{ header: { name: 'inside.txt', type: 'file', mode: 0o644 }, data: Buffer.from('x\n') }]));
    served.set('/files/arch.tar.gz', { body: archive, headers: { 'Content-Type': 'application/gzip' } });
    served.set('/dl/', { body: Buffer.from('disposed\n'), headers: { 'Content-Disposition': 'attachment; filename="given.txt"' } });
    const ctx = context({
      Dockerfile: [
        'FROM busybox',
        `ADD ${base}/files/hello.txt /dst/`,
        `ADD ${base}/files/arch.tar.gz /arch/`,
        `ADD ${base}/files/hello.txt /renamed.txt`,
        `ADD ${base}/dl/ /cd/`,
        '',
      ].join('\n'),
    });
    ok(await build(['-t', 'addurl:1', ctx]), 'build');
    const listing = await run('addurl:1', 'stat -c "%a %u:%g %Y %n" /dst/hello.txt /renamed.txt /arch/arch.tar.gz /cd/given.txt; cat /dst/hello.txt /cd/given.txt; ls /arch');
    const epoch = modified.getTime() / 1000;
    assert.match(listing, new RegExp(`^600 0:0 ${epoch} /dst/hello.txt\n600 0:0 ${epoch} /renamed.txt\n600 0:0 \\d+ /arch/arch.tar.gz\n600 0:0 \\d+ /cd/given.txt\nhello from http\ndisposed\narch.tar.gz\n$`));
    // The same content again: cached; new content: the step runs again.
    assert.match(ok(await build(['-t', 'addurl:2', ctx]), 'rebuild'), /Step 2\/5 : ADD [^\n]+\n ---> Using cache\n/);
    served.set('/files/hello.txt', { body: Buffer.from('changed\n'), headers: { 'Last-Modified': modified.toUTCString() } });
    const changed = ok(await build(['-t', 'addurl:3', ctx]), 'rebuild after change');
    assert.doesNotMatch(changed, /Step 2\/5 : ADD [^\n]+\n ---> Using cache\n/);
    assert.equal(await run('addurl:3', 'cat /dst/hello.txt'), 'changed\n');
  });

  it('ADD <url> failures and COPY <url> answer as dockerd does', async () => {
    const missing = await build(['-'], `FROM busybox\nADD ${base}/missing.txt /x\n`);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, new RegExp(`failed to GET ${base}/missing.txt with status 404 Not Found: nothing here`));
    const copy = await build(['-'], `FROM busybox\nCOPY ${base}/files/hello.txt /x\n`);
    assert.notEqual(copy.code, 0);
    assert.match(copy.stderr, /source can't be a URL for COPY/);
    served.set('/noname/', { body: Buffer.from('x') });
    const noname = await build(['-'], `FROM busybox\nADD ${base}/noname/ /x/\n`);
    assert.notEqual(noname.code, 0);
    assert.match(noname.stderr, /cannot determine filename from url/);
  });

  it('builds from a remote= context: a tarball, a bare Dockerfile, a git repository', async () => {
    const tar = gzipSync(
      await tarBuffer([
        { header: { name: 'Dockerfile', type: 'file', mode: 0o644 }, data: Buffer.from('FROM busybox\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n') },
        { header: { name: 'msg.txt', type: 'file', mode: 0o644 }, data: Buffer.from('from a remote tarball\n') },
      ]),
    );
    served.set('/ctx.tar.gz', { body: tar, headers: { 'Content-Type': 'application/gzip' } });
    const r = await d.api('POST', `/v1.47/build?t=remote:tar&remote=${encodeURIComponent(`${base}/ctx.tar.gz`)}`, '');
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /Successfully built [0-9a-f]{12}/);
    assert.equal(ok(await docker('run', '--rm', 'remote:tar'), 'run'), 'from a remote tarball\n');

    served.set('/Dockerfile', { body: Buffer.from('FROM busybox\nRUN echo plain > /plain\n'), headers: { 'Content-Type': 'text/plain' } });
    const plain = await d.api('POST', `/v1.47/build?t=remote:plain&remote=${encodeURIComponent(`${base}/Dockerfile`)}`, '');
    assert.match(plain.body, /Successfully built/);
    assert.equal(await run('remote:plain', 'cat /plain'), 'plain\n');

    // A repository served the dumb way (static files): no shallow fetch, dockerd's fallback.
    const work = join(d.root, 'gitwork');
    mkdirSync(join(work, 'sub'), { recursive: true });
    writeFileSync(join(work, 'sub', 'Dockerfile'), 'FROM busybox\nCOPY note.txt /note.txt\n');
    writeFileSync(join(work, 'sub', 'note.txt'), 'from git, branch rel\n');
    const git = (cwd: string, ...args: string[]): string =>
      execFileSync('git', args, { cwd, env: { ...process.env, HOME: d.root, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).toString();
    git(work, 'init', '-q', '-b', 'rel');
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', 'ctx');
    git(d.root, 'clone', '-q', '--bare', work, join(staticRoot, 'repo.git'));
    git(join(staticRoot, 'repo.git'), 'update-server-info');
    const gitRemote = `${base}/repo.git#rel:sub`;
    const fromGit = await d.api('POST', `/v1.47/build?t=remote:git&remote=${encodeURIComponent(gitRemote)}`, '');
    assert.equal(fromGit.status, 200, fromGit.body);
    assert.match(fromGit.body, /Successfully built/);
    assert.equal(await run('remote:git', 'cat /note.txt'), 'from git, branch rel\n');

    const bad = await d.api('POST', `/v1.47/build?remote=${encodeURIComponent(`${base}/nope.tar`)}`, '');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /failed to GET .*nope.tar with status 404/);
  });

  it('--cache-from: a tagged image serves the steps of a build that has no local cache', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nENV STAGE=one\nRUN echo first > /first\nCOPY f.txt /f\nRUN echo second > /second\n', 'f.txt': 'f\n' });
    const first = ok(await build(['-t', 'cf:src', ctx]), 'first build');
    assert.equal((first.match(/Running in/g) ?? []).length, 2);
    const srcId = ok(await docker('inspect', '-f', '{{.Id}}', 'cf:src'), 'inspect').trim();
    // The local cache goes; the tagged image stays.
    ok(await docker('builder', 'prune', '-f'), 'builder prune');
    const served = ok(await build(['--cache-from', 'cf:src', '--cache-from', 'no-such:image', '-t', 'cf:again', ctx]), 'build with --cache-from');
    assert.doesNotMatch(served, /Running in/);
    assert.equal((served.match(/ ---> Using cache\n/g) ?? []).length, 4);
    assert.equal(ok(await docker('inspect', '-f', '{{.Id}}', 'cf:again'), 'inspect').trim(), srcId);
    // A changed last step: the earlier ones still come from the source, the last runs.
    ok(await docker('builder', 'prune', '-f'), 'builder prune');
    const changedCtx = context({ Dockerfile: 'FROM busybox\nENV STAGE=one\nRUN echo first > /first\nCOPY f.txt /f\nRUN echo other > /second\n', 'f.txt': 'f\n' });
    const partial = ok(await build(['--cache-from', 'cf:src', '-t', 'cf:partial', changedCtx]), 'partial');
    assert.equal((partial.match(/ ---> Using cache\n/g) ?? []).length, 3, partial);
    assert.equal((partial.match(/Running in/g) ?? []).length, 1);
    assert.equal(await run('cf:partial', 'cat /first /second; echo $STAGE'), 'first\nother\none\n');
    // Without --cache-from and no local cache, the steps run.
    ok(await docker('builder', 'prune', '-f'), 'builder prune');
    assert.equal((ok(await build(['-t', 'cf:plain', ctx]), 'plain').match(/Running in/g) ?? []).length, 2);
  });

  it('--ulimit applies to RUN steps', async () => {
    const out = ok(await build(['--ulimit', 'nofile=321:654', '-t', 'ulimit:1', '-'], 'FROM busybox\nRUN echo "$(ulimit -Sn) $(ulimit -Hn)" > /limits\n'), 'build');
    assert.match(out, /Successfully built/);
    assert.equal(await run('ulimit:1', 'cat /limits'), '321 654\n');
  });
});
