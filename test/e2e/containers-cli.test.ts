// The container lifecycle driven by the real docker CLI against bin/berthd.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berthdWithBusybox } from '../fixtures/images.js';
import { runCommand, sleep, startBerthd, type BerthdHandle, type CommandResult, until, ok } from '../helpers/berthd.js';

describe('containers through the docker CLI', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);

  berthdWithBusybox((h) => {
    d = h;
  });

  it('docker run --rm prints, exits 0 and leaves nothing behind', async () => {
    const r = await docker('run', '--rm', 'busybox', 'echo', 'hi');
    assert.equal(ok(r, 'run'), 'hi\n');
    assert.equal(ok(await docker('ps', '-a', '-q'), 'ps'), '');
    const dirs = existsSync(join(d.dataRoot, 'containers')) ? readdirSync(join(d.dataRoot, 'containers')) : [];
    assert.deepEqual(dirs, []);
  });

  it('docker run exits with the container exit code; a missing command is 127', async () => {
    assert.equal((await docker('run', '--rm', 'busybox', 'sh', '-c', 'exit 3')).code, 3);
    const nope = await docker('run', '--rm', 'busybox', 'nope');
    assert.equal(nope.code, 127);
    assert.match(nope.stderr, /executable file not found in \$PATH/);
    assert.doesNotMatch(nope.stderr, /Error waiting for container/);
  });

  it('unknown runtimes are refused before containerd sees them', async () => {
    for (const name of ['nope', '/usr/bin/evil', 'a/b.c']) {
      const r = await docker('run', '--rm', '--runtime', name, 'busybox', 'true');
      assert.equal(r.code, 125);
      assert.match(r.stderr, new RegExp(`unknown or invalid runtime name: ${name.replace(/[/.]/g, '\\$&')}`));
    }
  });

  it('-e, -w, -u, --entrypoint, --label, --name, --network', async () => {
    const out = ok(
      await docker('run', '--rm', '-e', 'FOO=bar', '-w', '/tmp', '-u', 'app', '--entrypoint', 'sh', 'busybox', '-c', 'echo $FOO; pwd; id -u'),
      'run',
    );
    assert.equal(out, 'bar\n/tmp\n1000\n');
    ok(await docker('create', '--name', 'labelled', '--label', 'tier=web', '--network', 'none', 'busybox', 'true'), 'create');
    assert.equal(ok(await docker('inspect', '-f', '{{index .Config.Labels "tier"}} {{.HostConfig.NetworkMode}} {{.Name}}', 'labelled'), 'inspect'), 'web none /labelled\n');
    const dup = await docker('create', '--name', 'labelled', 'busybox', 'true');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /The container name "\/labelled" is already in use by container/);
    assert.equal(ok(await docker('run', '--rm', '--network', 'none', 'busybox', 'ls', '/sys/class/net'), 'none'), 'lo\n');
    ok(await docker('rm', 'labelled'), 'rm');
  });

  it('-t gives a terminal, -i passes stdin', async () => {
    assert.equal(ok(await docker('run', '--rm', '-t', 'busybox', 'sh', '-c', 'test -t 1 && echo tty'), 'tty'), 'tty\r\n');
    const r = await d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'piped\n' });
    assert.equal(ok(r, 'run -i'), 'piped\ndone\n');
    // Empty input ends before the start: the process still sees EOF.
    const empty = await d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { input: '', timeoutMs: 30_000 });
    assert.equal(ok(empty, 'run -i < /dev/null'), 'done\n');
    // Bulk input, byte for byte, through a process that echoes it.
    const payload = randomBytes(3 * 1024 * 1024);
    const echoed = await runCommand('/bin/sh', ['-c', 'docker run --rm -i busybox cat | sha256sum'], d.env, { input: payload, timeoutMs: 60_000 });
    assert.equal(ok(echoed, 'run -i cat').split(' ')[0], createHash('sha256').update(payload).digest('hex'));
    // A process that exits while input keeps coming: its exit, not a reset connection.
    for (let i = 0; i < 3; i++) {
      const early = await runCommand('/bin/sh', ['-c', 'yes | head -c 20000000 | docker run --rm -i busybox sh -c "head -c 5 >/dev/null; sleep 0.5; echo exited"'], d.env, { timeoutMs: 60_000 });
      assert.equal(ok(early, 'run -i, early exit'), 'exited\n');
    }
  });

  it('-d, ps filters, logs, stop, kill, restart, pause, wait, rm -f', async () => {
    const id = ok(await docker('run', '-d', '--name', 'worker', '--label', 'role=w', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; done; exec sleep 1000'), 'run -d').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(ok(await docker('ps', '-q', '--filter', 'label=role=w'), 'ps'), `${id.slice(0, 12)}\n`);
    assert.equal(ok(await docker('ps', '-a', '-q', '--filter', 'status=exited', '--filter', 'name=worker'), 'ps'), '');
    await until('output', async () => (await docker('logs', 'worker')).stdout === 'line 1\nline 2\nline 3\n');
    const tail = ok(await docker('logs', '--tail', '1', '-t', 'worker'), 'logs');
    assert.match(tail, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z line 3\n$/);
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}} {{.State.Running}}', 'worker'), 'inspect'), 'running true\n');

    ok(await docker('pause', 'worker'), 'pause');
    assert.match(ok(await docker('ps', '--format', '{{.Status}}', '--filter', 'name=worker'), 'ps'), /\(Paused\)/);
    ok(await docker('unpause', 'worker'), 'unpause');
    ok(await docker('kill', '-s', 'USR2', 'worker'), 'kill -s');
    // sleep as PID 1 ignores SIGTERM: stop escalates to SIGKILL after -t.
    const t0 = Date.now();
    ok(await docker('stop', '-t', '1', 'worker'), 'stop');
    assert.ok(Date.now() - t0 >= 900);
    assert.equal(ok(await docker('wait', 'worker'), 'wait'), '137\n');
    assert.equal(ok(await docker('ps', '-a', '--format', '{{.Status}}', '--filter', 'name=worker'), 'ps').startsWith('Exited (137)'), true);

    ok(await docker('restart', '-t', '0', 'worker'), 'restart');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', 'worker'), 'inspect'), 'true\n');
    ok(await docker('kill', 'worker'), 'kill');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', 'worker'), 'inspect'), 'false 137\n');
    ok(await docker('start', 'worker'), 'start');
    const rm = await docker('rm', 'worker');
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /container is running: stop the container before removing or force remove/);
    ok(await docker('rm', '-f', 'worker'), 'rm -f');
    assert.equal((await docker('inspect', 'worker')).code, 1);
  });

  it('logs -f follows until the container exits; start -a attaches', async () => {
    ok(await docker('run', '-d', '--name', 'follow', 'busybox', 'sh', '-c', 'echo a; sleep 1; echo b'), 'run -d');
    assert.equal(ok(await docker('logs', '-f', 'follow'), 'logs -f'), 'a\nb\n');
    const started = await docker('start', '-a', 'follow');
    assert.equal(started.code, 0);
    assert.equal(started.stdout, 'a\nb\n');
    ok(await docker('rm', 'follow'), 'rm');
  });

  it('binary and escaped output: docker run prints it and docker logs reads it back byte for byte from a json-file log in dockerd format', async () => {
    const script = "head -c 300000 /dev/zero; printf 'tab\\there <b>&amp; \\342\\200\\250 \\303\\274 \\\\ \"q\"\\r\\n'; head -c 70000 /dev/zero | tr '\\0' x; printf '\\001\\002'";
    const want = `${'\0'.repeat(300000)}tab\there <b>&amp; \u2028 ü \\ "q"\r\n${'x'.repeat(70000)}\u0001\u0002`;
    const run = await docker('run', '--name', 'bytes', 'busybox', 'sh', '-c', script);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout === want, `docker run printed ${run.stdout.length} characters, not the ${want.length} written`);
    const logs = ok(await docker('logs', 'bytes'), 'logs');
    assert.ok(logs === want, `docker logs read ${logs.length} characters back, not the ${want.length} written`);
    const path = ok(await docker('inspect', '-f', '{{.LogPath}}', 'bytes'), 'inspect').trim();
    const lines = readFileSync(path, 'utf8').split('\n');
    // 300000 NULs: 16 KiB partial entries as dockerd cuts them, each NUL written as \u0000.
    assert.ok(lines[0]?.startsWith(`{"log":"${'\\u0000'.repeat(16384)}","stream":"stdout","time":"`), lines[0]?.slice(0, 80));
    const text = lines.find((l) => l.includes('tab'));
    assert.match(text ?? '', /^\{"log":"(\\u0000)*tab\\u0009here \\u003cb\\u003e\\u0026amp; \\u2028 ü \\\\ \\"q\\"\\r\\n","stream":"stdout","time":"[^"]+"\}$/);
    ok(await docker('rm', 'bytes'), 'rm');
  });

  it('state survives a berthd restart; without live-restore running containers are stopped', async () => {
    assert.equal((await docker('run', '--name', 'three', 'busybox', 'sh', '-c', 'exit 3')).code, 3);
    ok(await docker('run', '-d', '--name', 'long', 'busybox', 'sleep', '1000'), 'run -d');
    ok(await docker('run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sleep', '1000'), 'run -d --rm');
    await d.stop('SIGTERM');
    d = await startBerthd({ root: d.root });
    assert.equal(ok(await docker('inspect', '-f', '{{.State.ExitCode}}', 'three'), 'inspect'), '3\n');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', 'long'), 'inspect'), 'false\n');
    assert.equal((await docker('inspect', 'ephemeral')).code, 1);
    ok(await docker('rm', 'three', 'long'), 'rm');
  });

  it('with --live-restore a container keeps running and stays manageable', async () => {
    await d.stop('SIGTERM');
    d = await startBerthd({ root: d.root, args: ['--live-restore'] });
    ok(await docker('run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'echo before; exec sleep 1000'), 'run -d');
    const pid = ok(await docker('inspect', '-f', '{{.State.Pid}}', 'survivor'), 'inspect').trim();
    await d.stop('SIGTERM');
    assert.ok(existsSync(`/proc/${pid}`), 'the container outlived berthd');
    d = await startBerthd({ root: d.root, args: ['--live-restore'] });
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'survivor'), 'inspect'), `true ${pid}\n`);
    assert.equal(ok(await docker('exec', 'survivor', 'echo', 'exec-ok'), 'exec'), 'exec-ok\n');
    ok(await docker('stop', '-t', '1', 'survivor'), 'stop');
    assert.equal(ok(await docker('wait', 'survivor'), 'wait'), '137\n');
    assert.equal(ok(await docker('logs', 'survivor'), 'logs'), 'before\n');
    ok(await docker('rm', 'survivor'), 'rm');
  });
});
