// docker build through the classic builder protocol, driven by the real
// docker CLI (DOCKER_BUILDKIT=0) and docker-compose against bin/berthd on a
// real containerd.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTarFile, berthdWithBusybox, hostArchitecture, tarBuffer } from '../fixtures/images.js';
import { dockerBin, ok, runCommand, startBerthd, until, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

describe('docker build', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  let n = 0;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const env = (): NodeJS.ProcessEnv => ({ ...d.env, DOCKER_BUILDKIT: '0' });

  /** Writes a fresh context directory. */
  const context = (files: Record<string, string | Buffer>): string => {
    const dir = join(d.root, `ctx-${++n}`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const build = (args: string[], input?: string | Buffer): Promise<CommandResult> =>
    runCommand(dockerBin, ['build', ...args], env(), input === undefined ? { timeoutMs: 120_000 } : { input, timeoutMs: 120_000 });
  const inspect = async (ref: string, fmt: string): Promise<string> => ok(await docker('inspect', '-f', fmt, ref), 'inspect').trim();

  berthdWithBusybox((h) => {
    d = h;
  });

  it('builds every instruction, streams the legacy output, and the image runs', async () => {
    const archive = await tarBuffer([{ header: { name: 'from-tar/', type: 'directory', mode: 0o755 } }, { header: { name: 'from-tar/x.txt', type: 'file', mode: 0o644 }, data: Buffer.from('untarred\n') }]);
    const ctx = context({
      'Dockerfile': [
        'FROM busybox',
        'MAINTAINER Ada',
        'ARG WHO=world',
        'ENV GREETING="hello ${WHO}" EMPTY=',
        'LABEL tier=web "quoted key"="a b"',
        'EXPOSE 8080 53/udp',
        'WORKDIR /app',
        'COPY --chown=app:app a.txt ./',
        'COPY sub/ /app/sub/',
        'COPY w*.txt /app/wild/',
        'ADD files.tar /unpacked/',
        'RUN echo "$GREETING from $(id -u)" > /app/run.txt \\',
        '  && echo to-stderr >&2',
        'RUN ["sh", "-c", "echo exec-form >> /app/run.txt"]',
        'SHELL ["/bin/sh", "-c"]',
        'USER app',
        'VOLUME /data',
        'STOPSIGNAL SIGINT',
        'HEALTHCHECK --interval=5s --retries=2 CMD true',
        'ONBUILD RUN echo triggered',
        'ENTRYPOINT ["sh", "-c"]',
        'CMD ["cat /app/run.txt"]',
        '',
      ].join('\n'),
      'a.txt': 'A\n',
      'sub/b.txt': 'B\n',
      'w1.txt': '1\n',
      'w2.txt': '2\n',
      'files.tar': archive,
    });
    const r = await build(['-t', 'all:1', '--build-arg', 'WHO=berth', '--label', 'built-by=test', ctx]);
    const out = ok(r, 'build');
    assert.match(out, /^Step 1\/22 : FROM busybox\n ---> [0-9a-f]{12}\n/m);
    assert.match(out, /^Step 12\/22 : RUN echo "\$GREETING from \$\(id -u\)" > \/app\/run.txt   && echo to-stderr >&2\n ---> Running in [0-9a-f]{12}\nto-stderr\n ---> Removed intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/m);
    assert.match(out, /^Step 22\/22 : LABEL "built-by"="test"\n/m);
    const id = /Successfully built ([0-9a-f]{12})\n/.exec(out)?.[1];
    assert.ok(id, out);
    assert.match(out, /Successfully tagged all:1\n$/);
    assert.equal(ok(await docker('run', '--rm', 'all:1'), 'run'), 'hello berth from 0\nexec-form\n');
    assert.equal(ok(await docker('run', '--rm', '--entrypoint', 'sh', 'all:1', '-c', 'stat -c %u:%g /app/a.txt; cat /app/sub/b.txt /app/wild/w1.txt /app/wild/w2.txt /unpacked/from-tar/x.txt; id -u; pwd'), 'run'),
      '1000:1000\nB\n1\n2\nuntarred\n1000\n/app\n');
    assert.equal(await inspect('all:1', '{{.Author}}|{{.Config.User}}|{{.Config.WorkingDir}}|{{.Config.StopSignal}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}'),
      'Ada|app|/app|SIGINT|["sh","-c"]|["cat /app/run.txt"]');
    assert.equal(await inspect('all:1', '{{json .Config.Labels}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{json .Config.OnBuild}}|{{json .Config.Shell}}'),
      '{"built-by":"test","quoted key":"a b","tier":"web"}|{"53/udp":{},"8080/tcp":{}}|{"/data":{}}|["RUN echo triggered"]|["/bin/sh","-c"]');
    assert.match(await inspect('all:1', '{{json .Config.Env}}'), /"GREETING=hello berth","EMPTY="/);
    assert.equal(await inspect('all:1', '{{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}} {{json .Config.Healthcheck.Test}}'), '5s 2 ["CMD-SHELL","true"]');
    // history lists the steps; docker images hides the intermediate images, -a shows them.
    const history = ok(await docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', 'all:1'), 'history');
    assert.match(history, /^\|1 WHO=berth \/bin\/sh -c echo "\$GREETING/m);
    assert.match(history, /#\(nop\) COPY file:[0-9a-f]{64} in \/app\/ /);
    // Each row names the image its step made, down to the base image.
    const ids = ok(await docker('history', '-q', 'all:1'), 'history -q').trim().split('\n');
    assert.equal(ids.length, 22);
    assert.ok(ids.every((i) => /^[0-9a-f]{12}$/.test(i)), ids.join(' '));
    assert.equal(new Set(ids).size, 22);
    assert.equal(ids.at(-1), (await inspect('busybox', '{{.Id}}')).slice(7, 19));
    assert.equal((await inspect('all:1', '{{.Parent}}')).slice(7, 19), ids[1]);
    const visible = ok(await docker('images', '-q'), 'images').split('\n').filter(Boolean);
    const all = ok(await docker('images', '-a', '-q'), 'images -a').split('\n').filter(Boolean);
    assert.ok(all.length > visible.length + 10, `${all.length} vs ${visible.length}`);
    // ONBUILD triggers run in a child build.
    const child = ok(await build(['-t', 'child', '-'], 'FROM all:1\nRUN true\n'), 'child build');
    assert.match(child, /# Executing 1 build trigger\n ---> Running in [0-9a-f]{12}\ntriggered\n/);
    assert.equal(await inspect('child', '{{json .Config.OnBuild}}'), 'null');
  });

  it('reuses the whole cache, misses from a changed COPY on, and --no-cache rebuilds; the cache survives a restart', async () => {
    const dockerfile = 'FROM busybox\nRUN echo one > /one\nCOPY f.txt /f.txt\nRUN cat /f.txt > /copy\nENV DONE=1\n';
    const ctx = context({ Dockerfile: dockerfile, 'f.txt': 'v1\n' });
    const first = ok(await build(['-t', 'cached', ctx]), 'build 1');
    const id1 = /Successfully built ([0-9a-f]{12})/.exec(first)![1];
    const second = ok(await build(['-t', 'cached', ctx]), 'build 2');
    assert.equal((second.match(/ ---> Using cache/g) ?? []).length, 4);
    assert.doesNotMatch(second, /Running in/);
    assert.equal(/Successfully built ([0-9a-f]{12})/.exec(second)![1], id1);
    writeFileSync(join(ctx, 'f.txt'), 'v2\n');
    const third = ok(await build(['-t', 'cached', ctx]), 'build 3');
    assert.equal((third.match(/ ---> Using cache/g) ?? []).length, 1, third);
    assert.match(third, /Step 3\/5 : COPY f.txt \/f.txt\n ---> [0-9a-f]{12}\n/);
    assert.equal(ok(await docker('run', '--rm', 'cached', 'cat', '/copy'), 'run'), 'v2\n');
    const fourth = ok(await build(['--no-cache', '-t', 'cached', ctx]), 'build --no-cache');
    assert.doesNotMatch(fourth, /Using cache/);

    await d.stop();
    // What a berthd that died mid-build left goes at the next start.
    mkdirSync(join(d.dataRoot, 'tmp', 'build-stale', 'x'), { recursive: true });
    d = await startBerthd({ root: d.root });
    assert.equal(existsSync(join(d.dataRoot, 'tmp', 'build-stale')), false);
    const fifth = ok(await build(['-t', 'cached', ctx]), 'build after restart');
    assert.equal((fifth.match(/ ---> Using cache/g) ?? []).length, 4, fifth);
  });

  it('multi-stage: ARG before FROM, COPY --from a stage, an index and an image, --target', async () => {
    const ctx = context({
      Dockerfile: [
        'ARG BASE=busybox',
        'FROM ${BASE} AS builder',
        'ARG BASE',
        'RUN echo "built on $BASE" > /artifact',
        'FROM scratch AS files',
        'COPY x.txt /x.txt',
        'FROM $BASE',
        'COPY --from=builder /artifact /out/artifact',
        'COPY --from=1 /x.txt /out/',
        'COPY --from=busybox /etc/passwd /out/passwd',
        'CMD ["cat", "/out/artifact", "/out/x.txt"]',
        '',
      ].join('\n'),
      'x.txt': 'x\n',
    });
    const out = ok(await build(['-t', 'multi', ctx]), 'build');
    assert.match(out, /^Step 1\/11 : ARG BASE=busybox\nStep 2\/11 : FROM \$\{BASE\} AS builder\n/m);
    assert.equal((out.match(/\{"aux"/g) ?? []).length, 0, 'the CLI does not print aux lines');
    assert.equal(ok(await docker('run', '--rm', 'multi'), 'run'), 'built on busybox\nx\n');
    assert.match(ok(await docker('run', '--rm', 'multi', 'cat', '/out/passwd'), 'run'), /^root:x:0:0/);
    const target = ok(await build(['--target', 'builder', '-t', 'only-builder', ctx]), 'build --target');
    assert.match(target, /^Step 4\/4 : RUN/m);
    assert.equal(ok(await docker('run', '--rm', 'only-builder', 'cat', '/artifact'), 'run'), 'built on busybox\n');
    const missing = await build(['--target', 'nope', ctx]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /failed to reach build target nope in Dockerfile/);
  });

  it('.dockerignore, -f, -f -, -q and --iidfile', async () => {
    const ctx = context({
      'build/Other.dockerfile': 'FROM busybox\nCOPY . /ctx/\nRUN ls -a /ctx | sort | tr "\\n" " "\n',
      '.dockerignore': '*.log\nsecret/\n',
      'keep.txt': 'k\n',
      'debug.log': 'no\n',
      'secret/key': 'no\n',
    });
    const out = ok(await build(['-f', join(ctx, 'build/Other.dockerfile'), '-t', 'ignored', ctx]), 'build -f');
    assert.match(out, /RUN ls -a \/ctx \| sort \| tr "\\n" " "\n/);
    assert.match(out, /\. \.\. \.dockerignore build keep\.txt  ---> Removed/);
    const stdin = ok(await build(['-t', 'fromstdin', ctx, '-f', '-'], 'FROM busybox\nCOPY . /ctx/\nRUN ls -a /ctx | sort | tr "\\n" " "\n'), 'build -f -');
    // The Dockerfile the CLI adds for -f - (and names in .dockerignore) stays out of the image.
    assert.match(stdin, /\. \.\. \.dockerignore build keep\.txt  ---> Removed/);
    const iidfile = join(d.root, 'iid');
    const quiet = ok(await build(['-q', '--iidfile', iidfile, '-t', 'quiet', ctx, '-f', '-'], 'FROM busybox\nRUN echo not-shown\n'), 'build -q');
    assert.match(quiet, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(readFileSync(iidfile, 'utf8').trim(), quiet.trim());
    assert.equal(await inspect('quiet', '{{.Id}}'), quiet.trim());
    // A tarball on stdin is the context itself, compressed or not.
    const tarCtx = context({ Dockerfile: 'FROM busybox\nCOPY hello /hello\nCMD ["cat", "/hello"]\n', hello: 'from a tarball\n' });
    for (const [flag, name] of [['-cf', 'ctx.tar'], ['-czf', 'ctx.tar.gz'], ['-cJf', 'ctx.tar.xz'], ['-cjf', 'ctx.tar.bz2']] as const) {
      execFileSync('tar', [flag, join(d.root, name), '-C', tarCtx, '.']);
      ok(await build(['-t', 'fromtar', '-'], readFileSync(join(d.root, name))), `build - < ${name}`);
      assert.equal(ok(await docker('run', '--rm', 'fromtar'), 'run'), 'from a tarball\n');
    }
  });

  it('RUN uses the network mode and extra hosts of the build', async () => {
    const none = ok(await build(['--network', 'none', '--add-host', 'builder.test:10.1.2.3', '-'], 'FROM busybox\nRUN ls /sys/class/net | tr "\\n" " "; grep builder.test /etc/hosts\n'), 'build --network none');
    assert.match(none, /\nlo \n?.*10\.1\.2\.3\s+builder\.test/s);
    const host = ok(await build(['--network', 'host', '-'], 'FROM busybox\nRUN hostname\n'), 'build --network host');
    assert.match(host, new RegExp(`Running in [0-9a-f]{12}\\n${(await import('node:os')).hostname()}\\n`));
    // Resource flags reach the RUN containers (the container sees its own cgroup, v1 or v2).
    const limited = ok(await build(['--memory', '64m', '-'], 'FROM busybox\nRUN cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\n'), 'build --memory');
    assert.match(limited, /\n67108864\n/);
    const unknown = await build(['--network', 'nosuchnet', '-'], 'FROM busybox\nRUN true\n');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /network nosuchnet not found/);
  });

  it('a failing RUN ends the build with its exit code and tags nothing', async () => {
    ok(await docker('container', 'prune', '-f'), 'prune');
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo before; exit 3\nRUN echo never\n' });
    const r = await build(['-t', 'failed', ctx]);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /before\n/);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo before; exit 3' returned a non-zero code: 3/);
    assert.notEqual((await docker('image', 'inspect', 'failed')).code, 0);
    // dockerd keeps the failed step's container unless --force-rm.
    assert.equal(ok(await docker('ps', '-a', '-q'), 'ps').split('\n').filter(Boolean).length, 1);
    ok(await docker('container', 'prune', '-f'), 'prune');
    const forced = await build(['--force-rm', ctx]);
    assert.equal(forced.code, 3);
    assert.equal(ok(await docker('ps', '-a', '-q'), 'ps'), '');
  });

  it('refuses bad input with clear errors', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /No image was generated. Is your Dockerfile empty\?/],
      ['# only a comment\n', /No image was generated. Is your Dockerfile empty\?/],
      ['FROM busybox\nFROBNICATE x\n', /unknown instruction: FROBNICATE/],
      ['FROM busybox\nCOPY nosuch.txt /\n', /COPY failed: file not found in build context or excluded by .dockerignore: stat nosuch.txt: file does not exist/],
      ['FROM busybox\nRUN --mount=type=cache,target=/c true\n', /the --mount option requires BuildKit/],
      ['FROM busybox\nCOPY --chmod=755 a /\n', /the --chmod option requires BuildKit/],
      ['FROM busybox\nRUN <<EOF\necho hi\nEOF\n', /the heredoc syntax requires BuildKit/],
      ['FROM nosuchimage:1\n', /No such image: nosuchimage:1/],
      ['RUN true\n', /Please provide a source image with `from` prior to commit/],
    ];
    const before = ok(await docker('images', '-a', '-q'), 'images');
    const containers = ok(await docker('ps', '-a', '-q'), 'ps');
    for (const [dockerfile, message] of cases) {
      const r = await build(['-t', 'bad', '-'], dockerfile);
      assert.notEqual(r.code, 0, dockerfile);
      assert.match(r.stderr, message, dockerfile);
    }
    assert.equal(ok(await docker('images', '-a', '-q'), 'images'), before);
    assert.equal(ok(await docker('ps', '-a', '-q'), 'ps'), containers);
    // The host's platform builds; another one is refused rather than built wrongly.
    const host = `linux/${hostArchitecture()}`;
    ok(await build(['--platform', host, '-t', 'platformed', '-'], `FROM --platform=${host} busybox\n`), 'build --platform host');
    const foreign = await build(['--platform', hostArchitecture() === 's390x' ? 'linux/arm64' : 'linux/s390x', '-'], 'FROM busybox\n');
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /berth builds for its own platform/);
    // Protocol-level refusals.
    const v2 = await d.api('POST', '/v1.47/build?version=2', '');
    assert.equal(v2.status, 400);
    assert.match(v2.body, /BuildKit is not supported/);
    const notTar = await d.api('POST', '/v1.47/build', 'this is not a tar archive at all, just some text that is long enough to fill a header block'.repeat(8));
    assert.equal(notTar.status, 400);
    assert.match(notTar.body, /build context/);
    const bad = await d.api('POST', '/v1.47/build?version=3', '');
    assert.match(bad.body, /invalid version/);
    assert.equal(ok(await docker('ps', '-a', '-q'), 'ps'), containers);
    const tmp = join(d.dataRoot, 'tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp).filter((f) => f.startsWith('build-')) : [], []);
  });

  it('a cancelled build stops its RUN container and leaves nothing behind', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo started; sleep 60\n' });
    ok(await docker('container', 'prune', '-f'), 'prune');
    const cli = spawn(dockerBin, ['build', '-t', 'cancelled', ctx], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((r) => cli.once('exit', () => r()));
    try {
      await until('the RUN step started', () => /Running in [0-9a-f]{12}\nstarted\n/.test(out), 60_000);
      cli.kill('SIGINT');
      await exited;
      await until('the build container is gone', async () => ok(await docker('ps', '-a', '-q'), 'ps') === '', 30_000);
    } finally {
      cli.kill('SIGKILL');
    }
    assert.notEqual((await docker('image', 'inspect', 'cancelled')).code, 0);
    await until('the context is removed', () => !existsSync(join(d.dataRoot, 'tmp')) || readdirSync(join(d.dataRoot, 'tmp')).every((f) => !f.startsWith('build-')), 10_000);
    // The machine is fine afterwards: the next build works.
    ok(await build(['-t', 'after-cancel', '-'], 'FROM busybox\nRUN true\n'), 'build after cancel');
  });

  it('docker builder prune and docker image prune clean what builds left', async () => {
    const before = ok(await docker('images', '-a', '-q'), 'images -a').split('\n').filter(Boolean).length;
    assert.ok(before > 5);
    ok(await docker('builder', 'prune', '-f'), 'builder prune');
    const after = ok(await docker('images', '-a', '-q'), 'images -a').split('\n').filter(Boolean).length;
    assert.ok(after < before, `${after} < ${before}`);
    // Tagged results stay and run; their cache marks are gone.
    assert.equal(ok(await docker('run', '--rm', 'multi'), 'run'), 'built on busybox\nx\n');
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo one > /one\n' });
    assert.doesNotMatch(ok(await build([ctx]), 'build'), /Using cache/);
    const withUntagged = ok(await docker('images', '-a', '-q'), 'images -a').split('\n').filter(Boolean).length;
    ok(await docker('image', 'prune', '-f'), 'image prune');
    const pruned = ok(await docker('images', '-a', '-q'), 'images -a').split('\n').filter(Boolean).length;
    assert.ok(pruned < withUntagged, `${pruned} < ${withUntagged}`);
    assert.equal(ok(await docker('run', '--rm', 'multi'), 'run'), 'built on busybox\nx\n');
  });

  it('docker-compose builds a service through the CLI and through docker-py', async () => {
    const dir = context({
      'docker-compose.yml': 'version: "3"\nservices:\n  web:\n    build:\n      context: .\n      args:\n        NAME: compose\n',
      Dockerfile: 'FROM busybox\nARG NAME\nRUN echo "built by $NAME" > /who\nCMD ["cat", "/who"]\n',
    });
    const compose = (extra: NodeJS.ProcessEnv): Promise<CommandResult> =>
      runCommand('docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', 'proj', 'build'], { ...env(), ...extra, PATH: `${dirname(dockerBin)}:${process.env.PATH ?? ''}` }, { timeoutMs: 120_000 });
    ok(await compose({ COMPOSE_DOCKER_CLI_BUILD: '1' }), 'compose build (CLI)');
    assert.equal(ok(await docker('run', '--rm', 'proj_web'), 'run'), 'built by compose\n');
    ok(await docker('rmi', 'proj_web'), 'rmi');
    const py = await compose({ COMPOSE_DOCKER_CLI_BUILD: '0' });
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout + py.stderr, /Successfully built [0-9a-f]{12}/);
    assert.equal(ok(await docker('run', '--rm', 'proj_web'), 'run'), 'built by compose\n');
  });
});
