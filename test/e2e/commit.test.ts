// docker commit through the real CLI: the container's changes become a layer
// (containerd's Diff service), the image runs and saves like any other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berthdWithBusybox } from '../fixtures/images.js';
import { type BerthdHandle, type CommandResult, ok } from '../helpers/berthd.js';

describe('docker commit', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const layers = async (ref: string): Promise<number> => Number(ok(await docker('inspect', '-f', '{{len .RootFS.Layers}}', ref), 'inspect').trim());

  berthdWithBusybox((h) => {
    d = h;
  });

  it('commits a stopped container with --change, --message and --author; the image runs and saves', async () => {
    ok(await docker('run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo hello > /hello.txt && mkdir -p /data && rm /etc/group'), 'run');
    const out = ok(
      await docker('commit', '-c', 'CMD ["cat", "/hello.txt"]', '-c', 'ENV GREETING=hi', '-c', 'LABEL tier=web', '-m', 'first commit', '-a', 'Ada <ada@example.com>', 'c1', 'committed:v1'),
      'commit',
    );
    assert.match(out, /^sha256:[a-f0-9]{64}\n$/);
    assert.equal(ok(await docker('run', '--rm', 'committed:v1'), 'run committed'), 'hello\n');
    assert.equal(ok(await docker('run', '--rm', 'committed:v1', 'sh', '-c', 'echo $GREETING; test -d /data && echo dir; test -e /etc/group || echo gone'), 'run'), 'hi\ndir\ngone\n');
    const fmt = '{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}|{{index .Config.Labels "tier"}}';
    assert.equal(ok(await docker('inspect', '-f', fmt, 'committed:v1'), 'inspect'), 'Ada <ada@example.com>|first commit|["cat","/hello.txt"]|web\n');
    assert.equal(await layers('committed:v1'), (await layers('busybox')) + 1);
    const history = ok(await docker('history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'committed:v1'), 'history');
    assert.equal(history.split('\n')[0], 'sh -c echo hello > /hello.txt && mkdir -p /data && rm /etc/group|first commit');

    // save, remove, load back: the committed layer travels with the image.
    const archive = `${d.root}/committed.tar`;
    ok(await docker('save', '-o', archive, 'committed:v1'), 'save');
    ok(await docker('rmi', 'committed:v1'), 'rmi');
    ok(await docker('load', '-i', archive), 'load');
    assert.equal(ok(await docker('run', '--rm', 'committed:v1'), 'run loaded'), 'hello\n');
    ok(await docker('rm', 'c1'), 'rm');
  });

  it('commits a running container (paused meanwhile, running after); an unchanged filesystem adds no layer', async () => {
    ok(await docker('run', '-d', '--name', 'c2', 'busybox', 'sleep', '60'), 'run -d');
    ok(await docker('commit', 'c2', 'same'), 'commit');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}}', 'c2'), 'inspect'), 'running\n');
    assert.equal(await layers('same'), await layers('busybox'));
    ok(await docker('exec', 'c2', 'sh', '-c', 'echo live > /live'), 'exec');
    ok(await docker('commit', '--pause=false', 'c2', 'live'), 'commit --pause=false');
    assert.equal(ok(await docker('run', '--rm', 'live', 'cat', '/live'), 'run'), 'live\n');
    ok(await docker('rm', '-f', 'c2'), 'rm');
  });

  it('refuses bad input with dockerd texts and makes nothing', async () => {
    ok(await docker('create', '--name', 'c3', 'busybox', 'true'), 'create');
    const before = ok(await docker('images', '-q'), 'images');
    const bad = await docker('commit', '-c', 'RUN echo', 'c3', 'x');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /run is not a valid change command/);
    const missing = await docker('commit', 'nosuch', 'x');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such container: nosuch/);
    const badName = await docker('commit', 'c3', 'UPPER');
    assert.notEqual(badName.code, 0);
    assert.equal(ok(await docker('images', '-q'), 'images'), before);
    const api = await d.api('POST', '/v1.47/commit');
    assert.equal(api.status, 400);
    ok(await docker('rm', 'c3'), 'rm');
  });
});
