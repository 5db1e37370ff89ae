// Healthchecks with the real CLI: probes as execs, State.Health, `(healthy)`
// in docker ps, the health filter, health_status events, timeouts, image
// HEALTHCHECKs, --no-healthcheck and the bad-input answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTarFile } from '../fixtures/images.js';
import { ok, startBerthd, until, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

describe('healthchecks', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const health = async (name: string): Promise<{ Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] } | null> =>
    JSON.parse(ok(await docker('inspect', '-f', '{{json .State.Health}}', name), 'inspect')) as never;

  before(async () => {
    d = await startBerthd();
    const tar = await busyboxRootfsTarFile(d.root);
    ok(await docker('import', '-c', 'CMD ["sh"]', tar, 'busybox'), 'import');
    ok(await docker('import', '-c', 'HEALTHCHECK --interval=200ms --retries=1 CMD test -e /tmp/ok', '-c', 'CMD ["sleep", "1000"]', tar, 'checked'), 'import checked');
  });

  after(async () => {
    await d?.cleanup();
  });

  it('starting → healthy → unhealthy → healthy, with events, ps status and the filter', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(
      await docker('run', '-d', '--name', 'h1', '--health-cmd', 'cat /tmp/state && echo probed', '--health-interval', '300ms', '--health-retries', '2', 'busybox', 'sh', '-c', 'echo up > /tmp/state; sleep 1000'),
      'run',
    );
    await until('healthy', async () => (await health('h1'))?.Status === 'healthy');
    const h = await health('h1');
    assert.equal(h?.FailingStreak, 0);
    assert.equal(h?.Log.at(-1)?.ExitCode, 0);
    assert.equal(h?.Log.at(-1)?.Output, 'up\nprobed\n');
    assert.match(ok(await docker('ps', '--format', '{{.Names}} {{.Status}}'), 'ps'), /^h1 Up .* \(healthy\)$/m);
    assert.equal(ok(await docker('ps', '--filter', 'health=healthy', '--format', '{{.Names}}'), 'ps'), 'h1\n');
    assert.equal(ok(await docker('ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}'), 'ps'), '');
    ok(await docker('exec', 'h1', 'rm', '/tmp/state'), 'exec');
    await until('unhealthy', async () => (await health('h1'))?.Status === 'unhealthy');
    const bad = await health('h1');
    assert.ok((bad?.FailingStreak ?? 0) >= 2);
    assert.ok((bad?.Log.length ?? 0) <= 5);
    assert.match(bad?.Log.at(-1)?.Output ?? '', /can't open '\/tmp\/state'/);
    assert.match(ok(await docker('ps', '--format', '{{.Names}} {{.Status}}'), 'ps'), /^h1 Up .* \(unhealthy\)$/m);
    ok(await docker('exec', 'h1', 'sh', '-c', 'echo back > /tmp/state'), 'exec');
    await until('healthy again', async () => (await health('h1'))?.Status === 'healthy');
    const events = ok(
      await docker('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=h1', '--filter', 'event=health_status', '--format', '{{.Action}}'),
      'events',
    );
    assert.deepEqual(events.trim().split('\n'), ['health_status: healthy', 'health_status: unhealthy', 'health_status: healthy']);
    // probes stop with the container and start over with it
    ok(await docker('stop', '-t', '0', 'h1'), 'stop');
    const after = (await health('h1'))?.Log.length;
    await new Promise((r) => setTimeout(r, 700));
    assert.equal((await health('h1'))?.Log.length, after);
    ok(await docker('start', 'h1'), 'start');
    assert.equal((await health('h1'))?.Status, 'starting');
    assert.match(ok(await docker('ps', '--format', '{{.Names}} {{.Status}}'), 'ps'), /^h1 Up .* \(health: starting\)$/m);
    await until('healthy after restart', async () => (await health('h1'))?.Status === 'healthy');
    ok(await docker('rm', '-f', 'h1'), 'rm');
  });

  it('a probe over its timeout is killed and counted as failed; the start period does not count failures', async () => {
    ok(await docker('run', '-d', '--name', 'slow', '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '1000'), 'run');
    await until('unhealthy by timeout', async () => (await health('slow'))?.Status === 'unhealthy');
    const h = await health('slow');
    assert.equal(h?.Log.at(-1)?.ExitCode, -1);
    assert.match(h?.Log.at(-1)?.Output ?? '', /^Health check exceeded timeout \(300ms\)/);
    ok(await docker('run', '-d', '--name', 'grace', '--health-cmd', 'false', '--health-interval', '100ms', '--health-start-period', '30s', '--health-start-interval', '100ms', '--health-retries', '1', 'busybox', 'sleep', '1000'), 'run');
    await until('probed in the start period', async () => ((await health('grace'))?.Log.length ?? 0) >= 3);
    const g = await health('grace');
    assert.equal(g?.Status, 'starting');
    assert.equal(g?.FailingStreak, 0);
    ok(await docker('rm', '-f', 'slow', 'grace'), 'rm');
  });

  it("the image's HEALTHCHECK applies; --no-healthcheck turns it off; no healthcheck means no State.Health", async () => {
    ok(await docker('run', '-d', '--name', 'img', 'checked'), 'run');
    await until('unhealthy from the image check', async () => (await health('img'))?.Status === 'unhealthy');
    ok(await docker('exec', 'img', 'touch', '/tmp/ok'), 'exec');
    await until('healthy from the image check', async () => (await health('img'))?.Status === 'healthy');
    // options without a command keep the image's test and change only what they set
    ok(await docker('run', '-d', '--name', 'tuned', '--health-retries', '7', 'checked'), 'run');
    await until('probed with the image test', async () => ((await health('tuned'))?.Log.length ?? 0) >= 1);
    assert.equal(ok(await docker('inspect', '-f', '{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}', 'tuned'), 'inspect'), '["CMD-SHELL","test -e /tmp/ok"] 7\n');
    ok(await docker('rm', '-f', 'tuned'), 'rm');
    ok(await docker('run', '-d', '--name', 'off', '--no-healthcheck', 'checked'), 'run');
    ok(await docker('run', '-d', '--name', 'plain', 'busybox', 'sleep', '1000'), 'run');
    assert.equal(await health('off'), null);
    assert.equal(await health('plain'), null);
    assert.equal(ok(await docker('ps', '--filter', 'health=none', '--format', '{{.Names}}'), 'ps').split('\n').sort().join(' ').trim(), 'off plain');
    ok(await docker('rm', '-f', 'img', 'off', 'plain'), 'rm');
  });

  it('a restart policy restart starts the probes over', async () => {
    ok(
      await docker('run', '-d', '--name', 'again', '--restart', 'on-failure:1', '--health-cmd', 'true', '--health-interval', '100ms', 'busybox', 'sh', '-c', 'sleep 1; exit 1'),
      'run',
    );
    await until('healthy in the first run', async () => (await health('again'))?.Status === 'healthy');
    await until('restarted by the policy', async () => ok(await docker('inspect', '-f', '{{.RestartCount}}', 'again'), 'inspect') === '1\n');
    await until('healthy in the second run', async () => (await health('again'))?.Status === 'healthy' && ok(await docker('inspect', '-f', '{{.State.Running}}', 'again'), 'inspect') === 'true\n');
    ok(await docker('rm', '-f', 'again'), 'rm');
  });

  it('bad healthcheck settings are refused with dockerd texts', async () => {
    const res = await d.api('POST', '/containers/create', { Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'], Interval: 500 } });
    assert.equal(res.status, 400);
    assert.match(res.body, /Interval in Healthcheck cannot be less than 1ms/);
    const neg = await d.api('POST', '/containers/create', { Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } });
    assert.equal(neg.status, 400);
    assert.match(neg.body, /Retries in Healthcheck cannot be negative/);
    const filter = await docker('ps', '--filter', 'health=sick');
    assert.notEqual(filter.code, 0);
    assert.match(filter.stderr, /Unrecognised filter value for health: sick/);
  });
});
