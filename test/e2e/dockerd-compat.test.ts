// Answers clients depend on, as dockerd gives them: one stdcopy frame per
// line (raw HTTP, dockerode and a Python http.client script), Go-style body
// field names, log drivers with rotation read back by `docker logs`,
// lifecycle errors, and dockerd's errors for what berth does not serve.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { FrameDecoder } from '../../src/stdcopy/index.js';
import { dockerSaveArchiveFile } from '../fixtures/images.js';
import { ok, repoRoot, startBerthd, until, type BerthdHandle } from '../helpers/berthd.js';

type Frame = [number, string];

function framesOf(raw: Buffer): Frame[] {
  const decoder = new FrameDecoder();
  const frames = decoder.push(raw).map((f): Frame => [f.stream, f.payload.toString()]);
  assert.equal(decoder.buffered, 0, 'no partial frame at the end');
  return frames;
}

/**
 * Frames per stream, in order: stdout and stderr come through separate pipes,
 * so their relative order is not defined (neither is it with dockerd).
 */
function byStream(frames: readonly Frame[]): { stdout: string[]; stderr: string[] } {
  return { stdout: frames.filter((f) => f[0] === 1).map((f) => f[1]), stderr: frames.filter((f) => f[0] === 2).map((f) => f[1]) };
}

/** Attach over a raw upgraded connection; resolves with everything after the response head once berthd closes it. */
function rawAttach(socket: string, id: string, started: () => Promise<void>): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = connect(socket);
    let buf = Buffer.alloc(0);
    let startedOnce = false;
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!startedOnce && buf.includes('\r\n\r\n')) {
        startedOnce = true;
        started().catch(reject);
      }
    });
    sock.on('error', reject);
    sock.on('close', () => {
      const end = buf.indexOf('\r\n\r\n');
      resolve({ head: buf.subarray(0, end).toString(), body: buf.subarray(end + 4) });
    });
    sock.write(`POST /v1.44/containers/${id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  });
}

describe('answers as dockerd gives them', { timeout: 240_000 }, () => {
  let d: BerthdHandle;
  let docker: Docker;

  before(async () => {
    d = await startBerthd();
    const archive = await dockerSaveArchiveFile(d.root, { repoTags: ['busybox:latest'] });
    ok(await d.docker(['load', '-i', archive]), 'docker load');
    docker = new Docker({ socketPath: d.socket });
  });
  after(() => d?.cleanup());

  it('raw HTTP: logs, logs -f and attach without a TTY send one frame per line', async () => {
    // printf writes several lines at once: one read of the output, several frames.
    const script = 'sleep 0.5; printf "a\\nb\\nc\\n"; printf "x\\ny\\n" >&2; printf "tail"';
    const created = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
    assert.equal(created.status, 201, created.body);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    let follow: ReturnType<typeof d.api> | undefined;
    const attached = await rawAttach(d.socket, id, async () => {
      const r = await d.api('POST', `/containers/${id}/start`);
      assert.equal(r.status, 204, r.body);
      // Following from before the first output (the script sleeps first).
      follow = d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1&follow=1`);
    });
    assert.match(attached.head, /^HTTP\/1\.1 101/);
    const want = { stdout: ['a\n', 'b\n', 'c\n', 'tail'], stderr: ['x\n', 'y\n'] };
    assert.deepEqual(byStream(framesOf(attached.body)), want);
    assert.ok(follow);
    const followed = await follow;
    assert.equal(followed.status, 200);
    assert.deepEqual(byStream(framesOf(Buffer.from(followed.body, 'latin1'))), want);
    const logs = await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false });
    assert.deepEqual(byStream(framesOf(logs as unknown as Buffer)), want);
    ok(await d.docker(['rm', id]), 'rm');
  });

  it('dockerode: lower-case field names, frames per line in a followed log', async () => {
    // dockerode passes the options object through as the body: spellings as a user writes them.
    const c = await docker.createContainer({ image: 'busybox', cmd: ['sh', '-c', 'printf "1\\n2\\n3\\n"; sleep 1'], Labels: { k: 'v' } } as never);
    const inspect = await c.inspect();
    assert.deepEqual(inspect.Config.Cmd, ['sh', '-c', 'printf "1\\n2\\n3\\n"; sleep 1']);
    assert.equal(inspect.HostConfig.LogConfig?.Type, 'json-file');
    await c.start();
    const exec = await c.exec({ cmd: ['echo', 'in-exec'], attachStdout: true, detachKeys: 'ctrl-x' } as never);
    const out = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      out.on('data', (b: Buffer) => chunks.push(b));
      out.on('end', resolve);
      out.on('error', reject);
    });
    assert.deepEqual(framesOf(Buffer.concat(chunks)), [[1, 'in-exec\n']]);
    const stream = (await c.logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream;
    const got: Buffer[] = [];
    for await (const b of stream) got.push(b as Buffer);
    assert.deepEqual(framesOf(Buffer.concat(got)), [
      [1, '1\n'],
      [1, '2\n'],
      [1, '3\n'],
    ]);
    await c.remove({ force: true });
  });

  it('a Python http.client program: field names, frames, swarm leave', async () => {
    const script = join(repoRoot, 'test', 'e2e', 'http-client.py');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('python3', [script, d.socket, 'busybox'], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    );
    const r = JSON.parse(out) as Record<string, unknown>;
    assert.equal(r.create, 201);
    assert.deepEqual(r.labels, { 'Made.By': 'python' });
    assert.deepEqual(r.logConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
    assert.equal(r.start, 204);
    assert.equal(r.exec, 201);
    const lines = { stdout: ['one\n', 'two\n', 'four\n'], stderr: ['three\n'] };
    assert.deepEqual(byStream(r.follow as Frame[]), lines);
    assert.deepEqual(byStream(r.logs as Frame[]), lines);
    assert.equal(r.trailing, 0);
    assert.equal(r.remove, 204);
    assert.deepEqual(r.swarmLeave, [503, 'This node is not part of a swarm']);
  });

  it('json-file rotation while running: docker logs reads everything back across rotated, compressed files', async () => {
    const loop = 'i=0; while [ $i -lt 400 ]; do echo "line $i of the rotation test, padded to some length"; i=$((i+1)); done';
    const id = ok(
      await d.docker(['run', '-d', '--log-opt', 'max-size=4k', '--log-opt', 'max-file=30', '--log-opt', 'compress=true', 'busybox', 'sh', '-c', loop]),
      'run',
    ).trim();
    ok(await d.docker(['wait', id]), 'wait');
    const logPath = ok(await d.docker(['inspect', '-f', '{{.LogPath}}', id]), 'inspect').trim();
    const files = readdirSync(dirname(logPath)).filter((n) => n.startsWith(`${id}-json.log`));
    assert.ok(files.length >= 8, `rotated files: ${files.join(' ')}`);
    assert.ok(files.some((n) => n.endsWith('.gz')));
    const want = Array.from({ length: 400 }, (_, i) => `line ${i} of the rotation test, padded to some length\n`);
    assert.equal(ok(await d.docker(['logs', id]), 'logs'), want.join(''));
    assert.equal(ok(await d.docker(['logs', '--tail', '150', id]), 'logs --tail'), want.slice(250).join(''));
    ok(await d.docker(['rm', id]), 'rm');
  });

  it('log drivers: unknown refused, none not readable, labels/env/tag attrs, daemon default reloadable for new containers', async () => {
    const unknown = await d.docker(['run', '--log-driver', 'syslog', 'busybox', 'true']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /logger: no log driver named 'syslog' is registered/);
    const badOpt = await d.docker(['create', '--log-opt', 'max-file=x1', 'busybox']);
    assert.match(badOpt.stderr, /invalid syntax/);

    const none = ok(await d.docker(['run', '-d', '--log-driver', 'none', 'busybox', 'echo', 'hi']), 'run none').trim();
    ok(await d.docker(['wait', none]), 'wait');
    const read = await d.docker(['logs', none]);
    assert.notEqual(read.code, 0);
    assert.match(read.stderr, /configured logging driver does not support reading/);
    assert.equal(ok(await d.docker(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', none]), 'inspect').trim(), 'none');

    const tagged = ok(
      await d.docker(['run', '-d', '--name', 'tagged', '--label', 'app=shop', '-e', 'STAGE=test', '--log-opt', 'labels=app', '--log-opt', 'env=STAGE', '--log-opt', 'tag={{.Name}}/{{.ID}}', 'busybox', 'echo', 'hi']),
      'run tagged',
    ).trim();
    ok(await d.docker(['wait', tagged]), 'wait');
    const logPath = ok(await d.docker(['inspect', '-f', '{{.LogPath}}', tagged]), 'inspect').trim();
    const line = JSON.parse(readFileSync(logPath, 'utf8').trim()) as { log: string; attrs: Record<string, string> };
    assert.equal(line.log, 'hi\n');
    assert.deepEqual(line.attrs, { app: 'shop', STAGE: 'test', tag: `tagged/${tagged.slice(0, 12)}` });
    assert.equal(ok(await d.docker(['logs', tagged]), 'logs'), 'hi\n');

    d.writeConfig({ 'log-driver': 'local', 'log-opts': { 'max-size': '10m' } });
    process.kill(d.pid, 'SIGHUP');
    await until('the reload', async () => ok(await d.docker(['info', '-f', '{{.LoggingDriver}}']), 'info').trim() === 'local');
    const later = ok(await d.docker(['run', '-d', 'busybox', 'echo', 'later']), 'run after reload').trim();
    ok(await d.docker(['wait', later]), 'wait');
    assert.equal(ok(await d.docker(['inspect', '-f', '{{json .HostConfig.LogConfig}}', later]), 'inspect').trim(), '{"Type":"local","Config":{"max-size":"10m"}}');
    assert.equal(ok(await d.docker(['logs', later]), 'logs local'), 'later\n');
    // Containers made before the reload keep their driver.
    assert.equal(ok(await d.docker(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', tagged]), 'inspect').trim(), 'json-file');
    d.writeConfig({});
    process.kill(d.pid, 'SIGHUP');
    await until('the reload back', async () => ok(await d.docker(['info', '-f', '{{.LoggingDriver}}']), 'info').trim() === 'json-file');
    ok(await d.docker(['rm', none, tagged, later]), 'rm');
  });

  it('lifecycle: rm of a restarting container is 409; load and import of a non-tar answer 200 with the error in the stream; StorageOpt refused', async () => {
    const id = ok(await d.docker(['run', '-d', '--restart', 'always', 'busybox', 'false']), 'run').trim();
    await until('the container waits to restart', async () => {
      const r = await d.api('GET', `/containers/${id}/json`);
      const s = (JSON.parse(r.body) as { State: { Restarting: boolean; Running: boolean }; RestartCount: number });
      return s.State.Restarting && !s.State.Running && s.RestartCount >= 3;
    }, 30_000);
    const rm = await d.api('DELETE', `/containers/${id}`);
    assert.equal(rm.status, 409, rm.body);
    assert.match(rm.body, /You cannot remove a restarting container [0-9a-f]{64}\. Stop the container before attempting removal or force remove/);
    ok(await d.docker(['rm', '-f', id]), 'rm -f');

    const garbage = Buffer.from('this is not a tar archive, only text\n'.repeat(50));
    const load = await d.api('POST', '/images/load', garbage);
    assert.equal(load.status, 200, load.body);
    assert.ok((JSON.parse(load.body.trim().split('\n').pop() ?? '{}') as { error?: string }).error, load.body);
    const imp = await d.api('POST', '/images/create?fromSrc=-&repo=junk', garbage);
    assert.equal(imp.status, 200, imp.body);
    assert.match(imp.body, /"errorDetail":\{"message":"[^"]+"\}/);
    const cli = await d.docker(['load'], { input: garbage });
    assert.notEqual(cli.code, 0);

    const so = await d.docker(['create', '--storage-opt', 'size=1G', 'busybox']);
    assert.notEqual(so.code, 0);
    assert.match(so.stderr, /--storage-opt is supported only for overlay over xfs with 'pquota' mount option/);
  });

  it('swarm and unserved paths: dockerd statuses and texts', async () => {
    assert.equal(ok(await d.docker(['info', '-f', '{{.Swarm.LocalNodeState}}']), 'info').trim(), 'inactive');
    const leave = await d.docker(['swarm', 'leave']);
    assert.notEqual(leave.code, 0);
    assert.match(leave.stderr, /This node is not part of a swarm/);
    const services = await d.docker(['service', 'ls']);
    assert.match(services.stderr, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again\./);
    for (const [m, p] of [
      ['GET', '/v1.44/nodes'],
      ['POST', '/secrets/create'],
      ['GET', '/tasks'],
      ['GET', '/configs/x'],
      ['GET', '/swarm'],
    ]) {
      const r = await d.api(m as string, p as string);
      assert.equal(r.status, 503, `${m} ${p}`);
      assert.match(r.body, /not a swarm manager/);
    }
    const unserved = await d.api('POST', '/v1.44/build/cancel?id=x');
    assert.equal(unserved.status, 501);
    assert.match((JSON.parse(unserved.body) as { message: string }).message, /POST \/build\/cancel/);
    const nowhere = await d.api('GET', '/no/such/path');
    assert.equal(nowhere.status, 404);
    assert.deepEqual(JSON.parse(nowhere.body), { message: 'page not found' });
  });
});
