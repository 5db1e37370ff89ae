// berthd's configuration as a user sees it: docker info, SIGHUP reloads,
// refused reloads, `berthd reload`, `berthd --validate`, start-up errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, mkdtempSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd, runCommand, berthdBin, sleep, type BerthdHandle } from '../helpers/berthd.js';
import { dockerSaveArchiveFile } from '../fixtures/images.js';

let d: BerthdHandle;
const node = process.execPath;

interface InfoRuntimes {
  Runtimes: Record<string, { path?: string; runtimeArgs?: string[]; runtimeType?: string; options?: Record<string, unknown>; status: Record<string, string> }>;
  DefaultRuntime: string;
}

async function info(): Promise<InfoRuntimes> {
  const r = await d.docker(['info', '--format', '{{json .}}']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as InfoRuntimes;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  d = await startBerthd({
    config: {
      runtimes: {
        wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--debug', 'a b; echo $(id)'] },
        'k8s-runc': { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/sbin/runc', SystemdCgroup: false } },
        'my.gvisor': { runtimeType: 'io.containerd.runsc.v1', options: { TypeUrl: 'io.containerd.runsc.v1.options', ConfigPath: '/etc/runsc.toml' } },
      },
      'default-runtime': 'k8s-runc',
    },
    args: ['--add-runtime', 'extra=/usr/sbin/runc'],
  });
});

after(async () => {
  await d?.cleanup();
});

test('docker info lists configured, flag and stock runtimes with their status', async () => {
  const i = await info();
  assert.equal(i.DefaultRuntime, 'k8s-runc');
  assert.deepEqual(Object.keys(i.Runtimes).sort(), ['extra', 'io.containerd.runc.v2', 'k8s-runc', 'my.gvisor', 'runc', 'wrapped']);
  assert.deepEqual(i.Runtimes.wrapped!.runtimeArgs, ['--debug', 'a b; echo $(id)']);
  assert.equal(i.Runtimes.wrapped!.status.found, 'true');
  assert.match(i.Runtimes.wrapped!.status.wrapper ?? '', new RegExp(`^${d.dataRoot}/runtimes/wrapped\\.[0-9a-f]{64}$`));
  assert.equal(i.Runtimes['k8s-runc']!.runtimeType, 'io.containerd.runc.v2');
  assert.deepEqual(i.Runtimes['k8s-runc']!.options, { BinaryName: '/usr/sbin/runc', SystemdCgroup: false });
  assert.equal(i.Runtimes['my.gvisor']!.status.found, 'false', 'no runsc shim on this machine: info says so');
  const text = await d.docker(['info']);
  assert.match(text.stdout, /Default Runtime: k8s-runc/);
  assert.equal(statSync(d.socket).mode & 0o777, 0o660);
});

test('SIGHUP reload swaps runtimes, emits a reload event, and keeps old wrappers', async () => {
  const before = readdirSync(join(d.dataRoot, 'runtimes')).sort();
  const since = Math.floor(Date.now() / 1000) - 1;
  d.writeConfig({ runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] }, fresh: { runtimeType: 'io.containerd.kata.v2' } } });
  process.kill(d.pid, 'SIGHUP');
  const i = await waitFor(async () => {
    const v = await info();
    return v.Runtimes.fresh !== undefined ? v : undefined;
  }, 'the reload');
  assert.equal(i.DefaultRuntime, 'runc');
  assert.equal(i.Runtimes['k8s-runc'], undefined);
  assert.ok(i.Runtimes.extra, 'flag runtimes survive reloads');
  const after = readdirSync(join(d.dataRoot, 'runtimes')).sort();
  for (const f of before) assert.ok(after.includes(f), `wrapper ${f} must stay while berthd runs`);
  assert.equal(after.length, before.length + 1);
  const ev = await d.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=daemon', '--format', '{{json .}}']);
  assert.equal(ev.code, 0, ev.stderr);
  const reloads = ev.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
  const last = reloads.at(-1)!;
  assert.equal(last.Action, 'reload');
  assert.equal(last.Actor.Attributes['default-runtime'], 'runc');
  assert.match(last.Actor.Attributes.runtimes!, /fresh/);
});

test('a broken file on reload changes nothing and is reported as an event', async () => {
  const before = await info();
  for (const bad of ['{"runtimes": {', '{"runtimes": {"runc": {"path": "/x"}}}', '{"no-such-key": 1}', '{"runtimes": {"x": {"path": "/a", "runtimeType": "io.b.v1"}}}']) {
    d.writeConfig(bad);
    const r = await runCommand(node, [berthdBin, 'reload', '-H', `unix://${d.socket}`]);
    assert.equal(r.code, 1, `refused: ${bad}`);
    assert.match(r.stderr, /refused; the running configuration is unchanged/);
    assert.match(r.stderr, new RegExp(d.configFile.replace(/[/.]/g, '\\$&')));
  }
  const now = await info();
  assert.deepEqual(now.Runtimes, before.Runtimes);
  assert.equal(now.DefaultRuntime, before.DefaultRuntime);
  const ev = await d.api('GET', `/events?since=${Math.floor(Date.now() / 1000) - 5}&until=${Math.ceil(Date.now() / 1000)}&filters=${encodeURIComponent('{"type":["daemon"]}')}`);
  assert.match(ev.body, /"error":"runtime name 'runc' is reserved"/);
});

test('berthd reload waits for the new snapshot: the next docker run uses the new runtime', async () => {
  const archive = await dockerSaveArchiveFile(d.root, { repoTags: ['busybox:latest'] });
  const load = await d.docker(['load', '-i', archive]);
  assert.equal(load.code, 0, load.stderr);
  d.writeConfig({ runtimes: { 'after-reload': { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] } }, 'default-runtime': 'after-reload' });
  const r = await runCommand(node, [berthdBin, 'reload', '-H', `unix://${d.socket}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /default runtime: after-reload/);
  // No sleep, no polling: the reload has happened when the command returns.
  const run = await d.docker(['run', '--rm', '--runtime', 'after-reload', 'busybox', 'echo', 'ran']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'ran\n');
  const created = await d.docker(['create', 'busybox', 'true']);
  assert.equal(created.code, 0, created.stderr);
  const rt = await d.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', created.stdout.trim()]);
  assert.equal(rt.stdout.trim(), 'after-reload', 'an empty runtime is filled with the default at create');
  assert.equal((await info()).DefaultRuntime, 'after-reload');
});

test('berthd --version names berthd, containerd and runc; --help lists flags with defaults', async () => {
  const v = await runCommand(node, [berthdBin, '--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^berthd \d+\.\d+\.\d+\ncontainerd: .*1\.\d+.*\nrunc: runc version \S+/);
  const h = await runCommand(node, [berthdBin, '--help']);
  for (const flag of ['--config-file', '--host', '--data-root', '--exec-root', '--pidfile', '--containerd ', '--containerd-namespace', '--add-runtime', '--default-runtime', '--validate', '--debug', '--log-level', '--live-restore', '--group']) {
    assert.ok(h.stdout.includes(flag), `--help lists ${flag}`);
  }
  assert.match(h.stdout, /default:\s+\/var\/lib\/berth/);
});

test('berthd --validate: good, bad and Kubernetes-unfriendly files', async () => {
  const dir = mkdtempSync('/tmp/berth-validate-');
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ runtimes: { 'Fancy.Runtime': { path: '/usr/sbin/runc' } } }));
    let r = await runCommand(node, [berthdBin, '--validate', '--config-file', good]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'configuration OK\n');
    assert.match(r.stderr, /Fancy\.Runtime/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ runtimes: { a: {}, b: { path: '/x', options: { BinaryName: 'y' } } }, 'default-runtime': 'nope' }));
    r = await runCommand(node, [berthdBin, '--validate', '--config-file', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /runtime a: either a runtimeType or a path must be configured/);
    assert.match(r.stderr, /runtime b: options cannot be used with a path runtime/);
    assert.match(r.stderr, /specified default runtime 'nope' does not exist/);
    r = await runCommand(node, [berthdBin, '--validate', '--config-file', join(dir, 'missing.json')]);
    assert.notEqual(r.code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start-up refuses a flag/file conflict and invalid JSON without touching anything', async () => {
  const dir = mkdtempSync('/tmp/berth-start-');
  try {
    const file = join(dir, 'daemon.json');
    writeFileSync(file, JSON.stringify({ 'default-runtime': 'runc' }));
    let r = await runCommand(node, [berthdBin, '--config-file', file, '--default-runtime', 'runc', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${dir}/s.sock`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the following directives are specified both as a flag and in the configuration file: default-runtime: \(from flag: runc, from file: runc\)/);
    writeFileSync(file, '{\n  "debug": true,\n  oops\n}');
    r = await runCommand(node, [berthdBin, '--config-file', file, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${dir}/s.sock`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 3, column 3/);
    assert.deepEqual(readdirSync(dir).sort(), ['daemon.json'], 'nothing created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second berthd on the same socket is refused', async () => {
  const r = await runCommand(node, [berthdBin, '--data-root', join(d.root, 'data2'), '--exec-root', join(d.root, 'exec2'), '-H', `unix://${d.socket}`, '--config-file', d.configFile]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /already listening/);
  assert.ok(readFileSync(d.pidfile, 'utf8').includes(String(d.pid)));
});

test('bin/berthd runs with its memory flags, and its log stays pure JSON', async () => {
  const argv = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').split('\0');
  for (const flag of ['--max-semi-space-size=1', '--lite-mode', '--expose-gc']) assert.ok(argv.includes(flag), `berthd runs with ${flag}: ${argv.join(' ')}`);
  const environ = readFileSync(`/proc/${d.pid}/environ`, 'utf8').split('\0');
  assert.ok(environ.includes('GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768'), 'berthd runs with a fixed malloc mmap threshold');
  const lines = d.output().split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0);
  for (const line of lines.filter((l) => !l.startsWith('time='))) {
    // containerd's own lines (time=…) are relayed as they are; berthd's are JSON.
    assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
  }
});
