// berthd restarts on the same roots: state persisted under <data-root>,
// containers stopped at shutdown without --live-restore, kept running and
// managed again with it, and nothing half-written after a SIGKILL of berthd.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { busyboxRootfsTarFile } from '../fixtures/images.js';
import { dockerBin, runCommand, sleep, startBerthd, type BerthdHandle, type CommandResult, until, ok } from '../helpers/berthd.js';

async function importBusybox(d: BerthdHandle): Promise<void> {
  const tar = await busyboxRootfsTarFile(d.root);
  ok(await d.docker(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
}

/** Every JSON file under the containers directory parses: no half-written state. */
function assertStateFilesWhole(dataRoot: string): void {
  const dir = join(dataRoot, 'containers');
  if (!existsSync(dir)) return;
  for (const id of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, id))) {
      if (!f.endsWith('.json')) continue;
      const text = readFileSync(join(dir, id, f), 'utf8');
      assert.doesNotThrow(() => JSON.parse(text), `${id}/${f} is valid JSON`);
    }
  }
}

describe('berthd restart without --live-restore', { timeout: 180_000 }, () => {
  let d: BerthdHandle | undefined;
  after(async () => {
    await d?.cleanup();
  });

  it('stops running containers at SIGTERM and shows the same containers after restart', async () => {
    d = await startBerthd({ config: { 'shutdown-timeout': 2 } });
    await importBusybox(d);
    const docker = (...a: string[]): Promise<CommandResult> => d!.docker(a, { timeoutMs: 30_000 });
    assert.equal((await docker('run', '--name', 'three', 'busybox', 'sh', '-c', 'echo three; exit 3')).code, 3);
    ok(await docker('run', '-d', '--name', 'long', 'busybox', 'sh', '-c', 'echo long-out; exec sleep 1000'), 'run -d');
    ok(await docker('run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sleep', '1000'), 'run -d --rm');
    await until('logs of long', async () => (await docker('logs', 'long')).stdout === 'long-out\n');
    const pid = ok(await docker('inspect', '-f', '{{.State.Pid}}', 'long'), 'inspect').trim();
    const ids = ok(await docker('ps', '-a', '-q', '--no-trunc'), 'ps').trim().split('\n').sort();
    assert.equal(ids.length, 3);

    const t0 = Date.now();
    const code = await d.stop('SIGTERM', 30_000);
    assert.equal(code, 0, `berthd exits 0 at SIGTERM:\n${d.output().slice(-2000)}`);
    // shutdown-timeout 2 s for the stop, plus containerd's own shutdown.
    assert.ok(Date.now() - t0 < 20_000, `shutdown took ${Date.now() - t0} ms`);
    assert.ok(!existsSync(`/proc/${pid}`), 'the running container was stopped at shutdown');

    d = await startBerthd({ root: d.root });
    const names = ok(await docker('ps', '-a', '--format', '{{.Names}} {{.Status}}'), 'ps -a').trim().split('\n').sort();
    assert.equal(names.length, 2, names.join('\n'));
    assert.match(names[0]!, /^long Exited \(\d+\)/);
    assert.match(names[1]!, /^three Exited \(3\)/);
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'three'), 'inspect'), 'exited 3\n');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', 'long'), 'inspect'), 'false\n');
    assert.equal(ok(await docker('logs', 'three'), 'logs'), 'three\n');
    assert.equal(ok(await docker('logs', 'long'), 'logs'), 'long-out\n');
    assert.equal((await docker('inspect', 'ephemeral')).code, 1, 'the --rm container is gone');
    // A stopped container can be started again after the restart.
    ok(await docker('start', 'long'), 'start');
    assert.equal(ok(await docker('exec', 'long', 'echo', 'again'), 'exec'), 'again\n');
    ok(await docker('rm', '-f', 'long', 'three'), 'rm');
  });
});

describe('berthd restart with --live-restore', { timeout: 180_000 }, () => {
  let d: BerthdHandle | undefined;
  let follower: ReturnType<typeof spawn> | undefined;
  after(async () => {
    if (follower?.pid !== undefined && follower.exitCode === null) follower.kill('SIGKILL');
    await d?.cleanup();
  });

  it('a wrapper-runtime container survives, stays manageable, and keeps its wrapper script', async () => {
    d = await startBerthd({ config: { runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] } } }, args: ['--live-restore'] });
    await importBusybox(d);
    const docker = (...a: string[]): Promise<CommandResult> => d!.docker(a, { timeoutMs: 30_000 });
    const runtimesDir = join(d.dataRoot, 'runtimes');
    const used = readdirSync(runtimesDir).filter((f) => f.startsWith('wrapped.'));
    assert.equal(used.length, 1);
    ok(await docker('run', '-d', '--name', 'survivor', '--runtime', 'wrapped', 'busybox', 'sh', '-c',
      'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.3; done'), 'run -d');
    const pid = ok(await docker('inspect', '-f', '{{.State.Pid}}', 'survivor'), 'inspect').trim();

    // Change the wrapper's args before the restart: the new config produces
    // another wrapper, the old one is still referenced by the container.
    d.writeConfig({ runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'text'] } } });
    await d.stop('SIGTERM');
    assert.ok(existsSync(`/proc/${pid}`), 'the container outlived berthd');
    // An unreferenced stale wrapper left from some earlier run.
    const stale = 'gone.' + 'ab'.repeat(32);
    mkdirSync(runtimesDir, { recursive: true });
    writeFileSync(join(runtimesDir, stale), '#!/bin/sh\nexec /usr/sbin/runc "$@"\n', { mode: 0o700 });

    d = await startBerthd({ root: d.root, args: ['--live-restore'] });
    const after = readdirSync(runtimesDir);
    assert.ok(after.includes(used[0]!), `the referenced wrapper ${used[0]} is kept (${after.join(', ')})`);
    assert.ok(!after.includes(stale), `the stale wrapper is removed (${after.join(', ')})`);
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'survivor'), 'inspect'), `true ${pid}\n`);
    assert.equal(ok(await docker('exec', 'survivor', 'echo', 'exec-ok'), 'exec'), 'exec-ok\n');

    // logs -f keeps delivering new output after the restart.
    follower = spawn(dockerBin, ['logs', '-f', '--tail', '0', 'survivor'], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout?.on('data', (c: Buffer) => (followed += c.toString()));
    await until('new output through logs -f', () => /tick-\d+\n/.test(followed), 10_000);

    ok(await docker('stop', '-t', '1', 'survivor'), 'stop');
    assert.equal(ok(await docker('wait', 'survivor'), 'wait'), '137\n');
    await until('logs -f to end with the container', () => follower!.exitCode !== null, 10_000);
    assert.match(ok(await docker('logs', 'survivor'), 'logs'), /^tick-0\n/);
    ok(await docker('rm', 'survivor'), 'rm');
  });
});

describe('berthd killed with SIGKILL in the middle of work', { timeout: 240_000 }, () => {
  let d: BerthdHandle | undefined;
  after(async () => {
    await d?.cleanup();
  });

  it('lists every container with a consistent status on the next start', async () => {
    d = await startBerthd();
    await importBusybox(d);
    const h = d;
    let started = 0;
    let stopLoop = false;
    const loop = (async () => {
      for (let i = 0; i < 40 && !stopLoop; i++) {
        const r = await h.docker(['run', '-d', '--name', `c${i}`, 'busybox', 'sleep', '1000'], { timeoutMs: 15_000 });
        if (r.code === 0) started++;
        else break;
      }
    })();
    await until('a few containers started', () => started >= 3, 60_000);
    await sleep(150);
    await h.stop('SIGKILL');
    stopLoop = true;
    await loop;
    assertStateFilesWhole(h.dataRoot);

    d = await startBerthd({ root: h.root });
    const docker = (...a: string[]): Promise<CommandResult> => d!.docker(a, { timeoutMs: 30_000 });
    const rows = ok(await docker('ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}'), 'ps -a').trim().split('\n').filter(Boolean);
    assert.ok(rows.length >= started, `every started container is listed (${rows.length} listed, ${started} started)`);
    for (const row of rows) {
      const [id] = row.split(' ');
      const state = JSON.parse(ok(await docker('inspect', '-f', '{{json .State}}', id!), `inspect ${row}`)) as {
        Status: string; Running: boolean; Pid: number; Paused: boolean;
      };
      assert.ok(['created', 'running', 'exited'].includes(state.Status), `${row}: status ${state.Status}`);
      assert.equal(state.Running, state.Status === 'running', `${row}: Running matches Status`);
      if (state.Running) assert.ok(existsSync(`/proc/${state.Pid}`), `${row}: a running container has a live pid`);
      else assert.equal(state.Pid, 0, `${row}: a stopped container has no pid`);
      // Each one is still manageable.
      ok(await docker('rm', '-f', id!), `rm -f ${row}`);
    }
    assert.equal(ok(await docker('ps', '-a', '-q'), 'ps').trim(), '');
    assertStateFilesWhole(d.dataRoot);
  });
});

describe('a task that the record of its container does not know of', { timeout: 120_000 }, () => {
  let d: BerthdHandle | undefined;
  after(async () => {
    await d?.cleanup();
  });

  // What a crash between "task started" and "state saved" leaves behind,
  // made on purpose with ctr: berthd must not trip over it at the next start.
  it('is killed and deleted at start-up, and the container is manageable again', async () => {
    d = await startBerthd();
    await importBusybox(d);
    const ghost = ok(await d.docker(['create', '--name', 'ghost', 'busybox', 'sleep', '1000']), 'create ghost').trim();
    const again = ok(await d.docker(['create', '--name', 'again', 'busybox', 'sh', '-c', 'echo started-again']), 'create again').trim();
    const root = d.root;
    const containerdSocket = join(d.execRoot, 'containerd', 'containerd.sock');
    const ctr = (...args: string[]): Promise<CommandResult> => runCommand('ctr', ['-a', containerdSocket, '-n', 'berth', ...args]);
    // Stop berthd but keep its managed containerd serving: a SIGKILL leaves it running.
    await d.stop('SIGKILL');
    ok(await ctr('task', 'start', '-d', ghost), 'ctr task start ghost');
    ok(await ctr('task', 'start', '-d', again), 'ctr task start again');
    const pid = (await ctr('task', 'ls')).stdout.split('\n').find((l) => l.startsWith(ghost))?.split(/\s+/)[1];
    assert.ok(pid !== undefined && existsSync(`/proc/${pid}`), 'the unrecorded task runs');

    d = await startBerthd({ root });
    assert.equal(ok(await d.docker(['inspect', '-f', '{{.State.Status}}', 'ghost']), 'inspect'), 'created\n');
    assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), 'the unrecorded task was killed');
    assert.equal((await ctr('task', 'ls', '-q')).stdout.trim(), '', 'no task is left');
    ok(await d.docker(['rm', 'ghost']), 'rm without -f');
    assert.equal(ok(await d.docker(['start', '-a', 'again']), 'start -a again'), 'started-again\n');
    ok(await d.docker(['rm', 'again']), 'rm again');
  });
});
