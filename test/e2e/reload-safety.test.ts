// A container started on a wrapper runtime (path + args) stays manageable
// whatever later reloads do to that runtime: its start locked in the shim
// config, so nothing after it re-resolves the name.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importBusybox } from '../fixtures/images.js';
import { berthdBin, runCommand, sleep, startBerthd, type BerthdHandle, type CommandResult, until, ok } from '../helpers/berthd.js';

const WRAPPED = { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] };

describe('reload safety of a wrapper-runtime container', { timeout: 240_000 }, () => {
  let d: BerthdHandle | undefined;
  const docker = (...args: string[]): Promise<CommandResult> => d!.docker(args, { timeoutMs: 30_000 });
  const reload = async (config: Record<string, unknown>): Promise<void> => {
    d!.writeConfig(config);
    const r = await runCommand(process.execPath, [berthdBin, 'reload', '-H', `unix://${d!.socket}`], process.env, { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `reload failed: ${r.stderr}`);
  };
  const sighup = async (config: Record<string, unknown>, present: boolean): Promise<void> => {
    d!.writeConfig(config);
    process.kill(d!.pid, 'SIGHUP');
    await until('the SIGHUP reload', async () => {
      const i = await docker('info', '--format', '{{json .Runtimes}}');
      const runtimes = JSON.parse(i.stdout || '{}') as Record<string, { runtimeArgs?: string[] }>;
      const w = runtimes.wrapped;
      if (!present) return w === undefined;
      const want = (config.runtimes as Record<string, { runtimeArgs?: string[] }>).wrapped!.runtimeArgs ?? [];
      return w !== undefined && JSON.stringify(w.runtimeArgs ?? []) === JSON.stringify(want);
    });
  };
  const manageable = async (id: string, step: string): Promise<void> => {
    assert.equal(ok(await docker('exec', id, 'echo', `exec-${step}`), `exec after ${step}`), `exec-${step}\n`);
    assert.match(ok(await docker('logs', id), `logs after ${step}`), /^started\n/);
    ok(await docker('pause', id), `pause after ${step}`);
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}}', id), 'inspect'), 'paused\n');
    ok(await docker('unpause', id), `unpause after ${step}`);
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Status}}', id), 'inspect'), 'running\n');
  };

  before(async () => {
    d = await startBerthd({ config: { runtimes: { wrapped: WRAPPED } } });
    await importBusybox(d);
  });

  after(async () => {
    await d?.cleanup();
  });

  it('exec, logs, pause/unpause, stop, wait, rm work after reloads change, drop and delete the runtime', async () => {
    const id = ok(await docker('run', '-d', '--runtime', 'wrapped', 'busybox', 'sh', '-c', 'echo started; exec sleep 1000'), 'run -d').trim();
    const wrappers = readdirSync(join(d!.dataRoot, 'runtimes')).sort();
    assert.equal(wrappers.filter((f) => f.startsWith('wrapped.')).length, 1);
    await manageable(id, 'start');

    await sighup({ runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'text'] } } }, true);
    await manageable(id, 'args-changed');
    await reload({ runtimes: { wrapped: { path: '/usr/sbin/runc' } } });
    await manageable(id, 'args-dropped');
    await reload({ runtimes: { other: { path: '/usr/sbin/runc', runtimeArgs: ['--debug'] } }, 'default-runtime': 'other' });
    await manageable(id, 'deleted');
    await sighup({ runtimes: {} }, false);
    await manageable(id, 'deleted-sighup');

    // Every wrapper that existed is still on disk: none is removed while berthd runs.
    const now = readdirSync(join(d!.dataRoot, 'runtimes'));
    for (const f of wrappers) assert.ok(now.includes(f), `wrapper ${f} still on disk`);

    ok(await docker('kill', '-s', 'USR1', id), 'kill -s USR1');
    ok(await docker('stop', '-t', '1', id), 'stop');
    assert.equal(ok(await docker('wait', id), 'wait'), '137\n');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', id), 'inspect'), 'false\n');

    // The name is gone: a later start must refuse it by name.
    const refused = await docker('start', id);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unknown or invalid runtime name: wrapped/);

    // The name comes back: start works again, with the new definition.
    await reload({ runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] } } });
    ok(await docker('start', id), 'start after the name came back');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', id), 'inspect'), 'true\n');
    assert.equal(ok(await docker('exec', id, 'echo', 'back'), 'exec'), 'back\n');
    ok(await docker('rm', '-f', id), 'rm -f');
    assert.equal((await docker('inspect', id)).code, 1);
    assert.ok(!existsSync(join(d!.dataRoot, 'containers', id)), 'the container directory is gone');
  });
});
