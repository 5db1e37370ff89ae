// Faults around berthd: its managed containerd killed with SIGKILL, and the
// API socket's mode, group, a second daemon on the same path, a stale file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { busyboxRootfsTarFile } from '../fixtures/images.js';
import { apiRequest, sleep, startBerthd, type BerthdHandle, type CommandResult, until, ok } from '../helpers/berthd.js';

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 && existsSync(`/proc/${n}`) ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('managed containerd killed with SIGKILL', { timeout: 180_000 }, () => {
  let d: BerthdHandle | undefined;
  after(async () => {
    await d?.cleanup();
  });

  it('is restarted; containers stay manageable; calls while it is down fail clearly', async () => {
    d = await startBerthd();
    const h = d;
    const docker = (...a: string[]): Promise<CommandResult> => h.docker(a, { timeoutMs: 30_000 });
    const tar = await busyboxRootfsTarFile(h.root);
    ok(await docker('import', '-c', 'CMD ["sh"]', tar, 'busybox'), 'import');
    const id = ok(await docker('run', '-d', 'busybox', 'sh', '-c', 'echo up; exec sleep 1000'), 'run -d').trim();
    const pidFile = join(h.execRoot, 'containerd', 'containerd.pid');

    const statuses = new Map<number, number>();
    const bad: string[] = [];
    for (let round = 0; round < 2; round++) {
      const old = readPid(pidFile);
      assert.ok(old !== undefined, `containerd pid in ${pidFile}`);
      // Hammer the API while containerd dies and comes back.
      let hammering = true;
      const hammer = (async () => {
        while (hammering) {
          for (const [method, path, body] of [
            ['GET', '/images/json', undefined],
            ['POST', `/containers/${id}/exec`, { Cmd: ['true'] }],
            ['GET', `/containers/${id}/top`, undefined],
            ['POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] }],
          ] as const) {
            let r: { status: number; body: string };
            try {
              r = await apiRequest(h.socket, method, path, body);
            } catch (err) {
              bad.push(`${method} ${path}: ${(err as Error).message}`);
              continue;
            }
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status >= 300) {
              let message: unknown;
              try {
                message = (JSON.parse(r.body) as { message?: unknown }).message;
              } catch {
                message = undefined;
              }
              if (r.status !== 503 || typeof message !== 'string' || /\n\s+at /.test(message)) {
                bad.push(`${method} ${path}: ${r.status} ${r.body.slice(0, 300)}`);
              }
            } else if (method === 'POST' && path === '/containers/create') {
              // Keep the container list small: remove what was created.
              const cid = (JSON.parse(r.body) as { Id: string }).Id;
              await apiRequest(h.socket, 'DELETE', `/containers/${cid}?force=1`).catch(() => undefined);
            }
          }
        }
      })();
      await sleep(100);
      process.kill(old, 'SIGKILL');
      await until('a new containerd', () => {
        const now = readPid(pidFile);
        return now !== undefined && now !== old;
      });
      await until('berthd to answer through the new containerd', async () => (await apiRequest(h.socket, 'GET', '/images/json')).status === 200);
      hammering = false;
      await hammer;
      assert.ok(alive(h.pid), 'berthd is still alive');
    }
    console.log(`responses while containerd was killed twice: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.deepEqual(bad, [], 'every failed call is a 503 with a JSON message');
    // Leftovers of create calls that raced the kill are removed by hand.
    for (const cid of ok(await docker('ps', '-a', '-q', '--no-trunc'), 'ps').trim().split('\n').filter((x) => x && x !== id)) {
      await docker('rm', '-f', cid);
    }

    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', id), 'inspect'), 'true\n');
    assert.equal(ok(await docker('exec', id, 'echo', 'after-crash'), 'exec'), 'after-crash\n');
    assert.equal(ok(await docker('logs', id), 'logs'), 'up\n');
    ok(await docker('stop', '-t', '1', id), 'stop');
    assert.equal(ok(await docker('wait', id), 'wait'), '137\n');
    ok(await docker('rm', id), 'rm');
    // A fresh container works too.
    assert.equal(ok(await docker('run', '--rm', 'busybox', 'echo', 'fresh'), 'run'), 'fresh\n');
    assert.ok(alive(h.pid), 'berthd is still alive');
  });
});

describe('snapshot folders left by a killed containerd', { timeout: 120_000 }, () => {
  let d: BerthdHandle | undefined;
  after(async () => {
    await d?.cleanup();
  });

  it('do not fail the next containers: the rename onto a leftover is tried once more', async () => {
    d = await startBerthd();
    const h = d;
    const docker = (...a: string[]): Promise<CommandResult> => h.docker(a, { timeoutMs: 30_000 });
    ok(await docker('import', await busyboxRootfsTarFile(h.root), 'busybox'), 'import');
    // A containerd killed mid-snapshot leaves the folder of the next snapshot
    // ID while its metadata rolled back: make such folders for the next IDs.
    const snapshots = join(h.dataRoot, 'containerd', 'io.containerd.snapshotter.v1.overlayfs', 'snapshots');
    const ids = readdirSync(snapshots).map(Number).filter(Number.isInteger);
    const next = Math.max(0, ...ids) + 1;
    for (let i = next; i < next + 3; i++) mkdirSync(join(snapshots, String(i), 'fs'), { recursive: true });
    for (let i = 0; i < 3; i++) {
      assert.equal(ok(await docker('run', '--rm', 'busybox', 'echo', `run ${i}`), `run ${i}`), `run ${i}\n`);
    }
  });
});

describe('the API socket', { timeout: 120_000 }, () => {
  const group = `berthtest${process.pid}`;
  let groupAdded = false;
  let d: BerthdHandle | undefined;
  after(async () => {
    await d?.cleanup();
    if (groupAdded) execFileSync('groupdel', [group]);
  });

  it('is 0660 and owned by --group', async () => {
    execFileSync('groupadd', [group]);
    groupAdded = true;
    const gid = Number(execFileSync('getent', ['group', group]).toString().split(':')[2]);
    d = await startBerthd({ args: ['--group', group] });
    const st = statSync(d.socket);
    assert.equal(st.mode & 0o777, 0o660);
    assert.ok(st.isSocket());
    assert.equal(st.gid, gid);
  });

  it('a second berthd on the same socket refuses to start and the first keeps serving', async () => {
    const first = d!;
    let second: BerthdHandle | undefined;
    try {
      await assert.rejects(
        (async () => {
          // Own data/exec roots so that only the socket collides.
          second = await startBerthd({
            args: ['-H', `unix://${first.socket}`],
            timeoutMs: 20_000,
          });
        })(),
        /exited during start-up[\s\S]*already listening on/,
      );
    } finally {
      await second?.cleanup();
    }
    assert.equal((await first.api('GET', '/_ping')).status, 200);
    assert.equal((await first.docker(['version', '--format', '{{.Server.Version}}'])).code, 0);
  });

  it('a stale socket file is replaced', async () => {
    const socket = d!.socket;
    const root = d!.root;
    await d!.stop('SIGKILL');
    // SIGKILL leaves the socket file behind with nobody listening on it.
    assert.ok(statSync(socket).isSocket(), 'a leftover socket file');
    await assert.rejects(apiRequest(socket, 'GET', '/_ping'), /ECONNREFUSED/);
    const leftoverCtime = statSync(socket).ctimeMs;
    await sleep(20);
    d = await startBerthd({ root, args: ['--group', group] });
    assert.equal((await d.api('GET', '/_ping')).status, 200);
    assert.equal(statSync(socket).mode & 0o777, 0o660);
    // Inode numbers are reused at once on some filesystems; the change time is not.
    assert.ok(statSync(socket).ctimeMs > leftoverCtime, 'the stale file was replaced');
  });

  it('a regular file at the socket path is refused with a clear message', async () => {
    const path = join(d!.root, 'not-a-socket');
    writeFileSync(path, 'x');
    await assert.rejects(startBerthd({ args: ['-H', `unix://${path}`], timeoutMs: 20_000 }), /exists and is not a socket/);
  });
});
