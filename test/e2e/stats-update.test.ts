// docker stats (stream, --no-stream, one-shot) from containerd's task
// metrics, docker update applied to a running task and persisted, and OOM
// kills reported, with the real CLI.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { berthdWithBusybox } from '../fixtures/images.js';
import { ok, until, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/** The first `count` JSON lines of a streaming GET on the daemon's socket. */
function streamLines(socket: string, path: string, count: number): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      let buf = '';
      const lines: Record<string, unknown>[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
          buf = buf.slice(nl + 1);
          if (lines.length === count) {
            req.destroy();
            resolve(lines);
            return;
          }
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
    req.setTimeout(20_000, () => req.destroy(new Error('stats stream timed out')));
    req.end();
  });
}

describe('stats, update and OOM', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);

  berthdWithBusybox((h) => {
    d = h;
  });

  it('docker stats --no-stream: CPU of a busy container moves, memory limit, PIDs', async () => {
    ok(await docker('run', '-d', '--name', 'burn', '-m', '64m', 'busybox', 'sh', '-c', 'while :; do :; done'), 'run');
    ok(await docker('run', '-d', '--name', 'idle', 'busybox', 'sh', '-c', 'sleep 1000 & sleep 1000 & wait'), 'run');
    const out = ok(await docker('stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}'), 'stats');
    const rows = Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0], l]));
    const burn = /^burn ([\d.]+)% ([\d.]+)(\w+) \/ 64MiB (\d+)$/.exec(rows.burn ?? '');
    assert.ok(burn, `burn row: ${rows.burn}`);
    // a spinning shell takes a core when it gets one; the machine may be shared, so only "clearly busy"
    assert.ok(Number(burn[1]) > 10, `a spinning shell shows CPU use: ${burn[1]}%`);
    assert.equal(burn[4], '1');
    const idle = /^idle ([\d.]+)% \S+ \/ \S+ (\d+)$/.exec(rows.idle ?? '');
    assert.ok(idle, `idle row: ${rows.idle}`);
    assert.ok(Number(idle[1]) < 5 && Number(idle[1]) < Number(burn[1]), `idle ${idle[1]}% against busy ${burn[1]}%`);
    assert.equal(idle[2], '3');
  });

  it('the API: stream=0 fills precpu, one-shot does not, stream sends a sample a second; bad combinations refused', async () => {
    const r = await d.api('GET', '/containers/burn/stats?stream=0');
    assert.equal(r.status, 200);
    const s = JSON.parse(r.body) as Record<string, any>;
    assert.equal(s.name, '/burn');
    assert.ok(s.cpu_stats.cpu_usage.total_usage > s.precpu_stats.cpu_usage.total_usage);
    assert.ok(s.cpu_stats.system_cpu_usage > s.precpu_stats.system_cpu_usage);
    assert.ok(s.cpu_stats.online_cpus >= 1);
    assert.equal(s.memory_stats.limit, 64 * 1024 * 1024);
    assert.ok(s.memory_stats.usage > 0);
    assert.ok(V2 ? 'inactive_file' in s.memory_stats.stats : 'total_inactive_file' in s.memory_stats.stats);
    assert.equal(s.pids_stats.current, 1);
    assert.ok(Array.isArray(s.blkio_stats.io_service_bytes_recursive));
    const one = JSON.parse((await d.api('GET', '/containers/burn/stats?stream=0&one-shot=1')).body) as Record<string, any>;
    assert.equal(one.preread, '0001-01-01T00:00:00Z');
    assert.equal(one.precpu_stats.cpu_usage.total_usage, 0);
    const bad = await d.api('GET', '/containers/burn/stats?stream=1&one-shot=1');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /cannot have stream=true and one-shot=true/);
    const started = Date.now();
    const lines = await streamLines(d.socket, '/containers/burn/stats', 3);
    assert.ok(Date.now() - started >= 1500);
    assert.equal(lines[2]?.preread, lines[1]?.read);
    // a stream ends when its container is removed
    ok(await docker('run', '-d', '--name', 'short', 'busybox', 'sleep', '1000'), 'run');
    const ended = new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: d.socket, path: '/containers/short/stats', method: 'GET' }, (res) => {
        let lines = 0;
        res.on('data', (c: Buffer) => (lines += c.toString().split('\n').length - 1));
        res.on('end', () => resolve(lines));
      });
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error('the stream did not end')));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 1200));
    ok(await docker('rm', '-f', 'short'), 'rm');
    assert.ok((await ended) >= 1);
    const missing = await d.api('GET', '/containers/nope/stats?stream=0');
    assert.equal(missing.status, 404);
    ok(await docker('create', '--name', 'still', 'busybox', 'true'), 'create');
    const stopped = JSON.parse((await d.api('GET', '/containers/still/stats?stream=0')).body) as Record<string, any>;
    assert.equal(stopped.read, '0001-01-01T00:00:00Z');
    assert.equal(stopped.name, '/still');
  });

  it('docker update changes the running task and is kept for the next start', async () => {
    const limit = V2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const pids = V2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max';
    const shares = V2 ? '/sys/fs/cgroup/cpu.weight' : '/sys/fs/cgroup/cpu/cpu.shares';
    ok(await docker('run', '-d', '--name', 'upd', '-m', '32m', 'busybox', 'sleep', '1000'), 'run');
    const before = ok(await docker('exec', 'upd', 'cat', limit, pids), 'exec');
    assert.equal(before, `${32 << 20}\nmax\n`);
    ok(await docker('update', '-m', '48m', '--memory-swap', '96m', '--pids-limit', '20', '--cpu-shares', '512', '--restart', 'on-failure:3', 'upd'), 'update');
    const afterUpdate = ok(await docker('exec', 'upd', 'cat', limit, pids, shares), 'exec');
    // v2: runc turns 512 shares into cpu.weight 1 + (512 - 2) * 9999 / 262142 = 20
    assert.equal(afterUpdate, `${48 << 20}\n20\n${V2 ? 20 : 512}\n`);
    assert.equal(
      ok(await docker('inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd'), 'inspect'),
      `${48 << 20} 20 512 on-failure:3\n`,
    );
    ok(await docker('restart', '-t', '0', 'upd'), 'restart');
    assert.equal(ok(await docker('exec', 'upd', 'cat', limit, pids), 'exec'), `${48 << 20}\n20\n`);
    // a stopped container takes the update for its next start
    ok(await docker('stop', '-t', '0', 'upd'), 'stop');
    ok(await docker('update', '--pids-limit', '30', 'upd'), 'update stopped');
    ok(await docker('start', 'upd'), 'start');
    assert.equal(ok(await docker('exec', 'upd', 'cat', pids), 'exec'), '30\n');
    // bad input: 4xx, nothing changed
    const small = await docker('update', '-m', '1m', 'upd');
    assert.notEqual(small.code, 0);
    assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
    const gone = await docker('update', '-m', '64m', 'nope');
    assert.match(gone.stderr, /No such container: nope/);
    assert.equal(ok(await docker('inspect', '-f', '{{.HostConfig.Memory}}', 'upd'), 'inspect'), `${48 << 20}\n`);
    ok(await docker('rm', '-f', 'upd', 'burn', 'idle', 'still'), 'rm');
  });

  it('an OOM kill: exit 137, State.OOMKilled, an oom event', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await docker('run', '--name', 'oom', '-m', '16m', '--memory-swap', '16m', 'busybox', 'sh', '-c', 'tail /dev/zero');
    assert.equal(r.code, 137);
    await until('OOMKilled recorded', async () => ok(await docker('inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom'), 'inspect') === 'true 137\n');
    const events = ok(await docker('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=oom', '--format', '{{.Action}}'), 'events');
    assert.match(events, /^oom$/m);
    assert.match(events, /^die$/m);
    ok(await docker('rm', 'oom'), 'rm');
  });
});
