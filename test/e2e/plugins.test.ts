// Managed plugins for real: a socat plugin built offline (test/fixtures/plugin.ts)
// runs as a containerd task under runc. First PluginService in process against
// a managed containerd (every kind of default runtime, a plugin that never
// answers, a reload, a restart); then bin/berthd driven by the docker CLI.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Snapshot } from '../../src/config/types.js';
import { connectContainerd, managedLayout, startManagedContainerd, type ContainerdClient, type ManagedContainerd } from '../../src/containerd/index.js';
import { EventBus, type EngineEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/log/index.js';
import { PluginService } from '../../src/plugins/index.js';
import { decodeShimOptions, deriveRuntimes, planRuntimes, WrapperStore, type RuntimeConfig } from '../../src/runtimes/index.js';
import { buildTestPlugin, canBuildTestPlugin, type TestPlugin, type TestPluginOptions } from '../fixtures/plugin.js';
import { killRootProcesses, sleep, startBerthd, unmountUnder, type BerthdHandle } from '../helpers/berthd.js';

const NAMESPACE = 'berth';
const PLUGIN_NAMESPACE = `${NAMESPACE}.plugins`;
const RUNTIMES: Record<string, RuntimeConfig> = {
  'runc-debug': { path: '/usr/sbin/runc', runtimeArgs: ['--debug'] },
  'k8s-runc': { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/sbin/runc' } },
};
const skip = canBuildTestPlugin() ? false : 'socat or busybox is not installed (apt-get install -y socat busybox-static)';

/** The process ids in the cgroups of plugin tasks (cgroupsPath /<namespace>/<id>). */
function pluginCgroupDirs(ids: string[]): string[] {
  const dirs: string[] = [];
  for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    for (const id of ids) {
      const dir = join('/sys/fs/cgroup', controller, PLUGIN_NAMESPACE, id);
      if (existsSync(dir)) dirs.push(dir);
    }
  }
  return dirs;
}

/** Plugin processes outlive a killed shim: kill them through their cgroups, then remove the cgroups. */
function killPluginTasks(dataRoot: string): void {
  const pluginDir = join(dataRoot, 'plugins');
  const ids = existsSync(pluginDir) ? readdirSync(pluginDir).filter((d) => /^[0-9a-f]{64}$/.test(d)) : [];
  for (const dir of pluginCgroupDirs(ids)) {
    let procs: string[] = [];
    try {
      procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of procs) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

function removePluginCgroups(ids: string[]): void {
  const parents = existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, PLUGIN_NAMESPACE)) : [];
  for (const dir of [...pluginCgroupDirs(ids), ...parents]) {
    try {
      rmdirSync(dir);
    } catch {
      // still in use (another berthd's plugins) or gone
    }
  }
}

/** The plugin directory as a tar stream, as `docker plugin create` sends it. */
function tarOf(dir: string): Readable {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('plugins on a real containerd, in process', { skip }, () => {
  let root = '';
  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient;
  let wrappers: WrapperStore;
  const fixtures: TestPlugin[] = [];
  const services: PluginService[] = [];
  const ids: string[] = [];
  let state: { current: Snapshot };

  async function snapshot(defaultRuntime: string, liveRestore = false): Promise<Snapshot> {
    const planned = planRuntimes(RUNTIMES, defaultRuntime);
    if (!planned.ok) throw new Error(planned.errors.join('; '));
    const runtimes = await deriveRuntimes(planned.plan, wrappers);
    return { generation: 1, config: { liveRestore } as Snapshot['config'], runtimes };
  }

  function newService(events = new EventBus()): PluginService {
    const service = new PluginService({
      client,
      configStore: { current: () => state.current },
      events,
      logger: silentLogger(),
      dataRoot: join(root, 'data'),
      execRoot: join(root, 'exec'),
      stopGraceMs: 2000,
    });
    services.push(service);
    return service;
  }

  function fixture(opts: TestPluginOptions): string {
    const f = buildTestPlugin(opts);
    fixtures.push(f);
    return f.dir;
  }

  before(async () => {
    root = mkdtempSync('/tmp/berth-pl-');
    managed = await startManagedContainerd({ dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), debug: false, logger: silentLogger() });
    client = connectContainerd(managed.address, NAMESPACE);
    await client.waitReady(10_000);
    wrappers = new WrapperStore(join(root, 'data', 'runtimes'));
    state = { current: await snapshot('runc') };
  });

  after(async () => {
    for (const s of services) await s.shutdown().catch(() => undefined);
    killPluginTasks(join(root, 'data'));
    const pluginDir = join(root, 'data', 'plugins');
    if (existsSync(pluginDir)) ids.push(...readdirSync(pluginDir));
    await managed?.stop(5000).catch(() => undefined);
    client?.close();
    killRootProcesses(root);
    await unmountUnder(root);
    removePluginCgroups(ids);
    rmSync(root, { recursive: true, force: true });
    for (const f of fixtures) f.cleanup();
  });

  async function tasksInNamespace(): Promise<string[]> {
    return (await client.withNamespace(PLUGIN_NAMESPACE).tasks.list()).map((t) => t.id);
  }

  for (const runtime of ['runc', 'runc-debug', 'k8s-runc']) {
    it(`enables a plugin on the default runtime ${runtime}, answers the handshake, disables and removes it`, async () => {
      state.current = await snapshot(runtime);
      const events = new EventBus();
      const seen: EngineEvent[] = [];
      events.subscribe((e) => seen.push(e));
      const service = newService(events);
      await service.init();
      const name = `me/plug-${runtime}`;
      const p = await service.create(name, tarOf(fixture({ network: 'host' })));
      await service.set(name, ['DEBUG=1']);
      await service.enable(name, { timeout: 20 });

      const locked = service.runtimeOf(name);
      assert.equal(locked?.name, runtime);
      const record = await client.withNamespace(PLUGIN_NAMESPACE).containers.get(p.Id);
      assert.equal(record.runtime.name, 'io.containerd.runc.v2');
      const binary = decodeShimOptions(record.runtime.options ?? { typeUrl: '', value: Buffer.alloc(0) }).binary_name;
      if (runtime === 'runc') assert.equal(binary, 'runc');
      if (runtime === 'k8s-runc') assert.equal(binary, '/usr/sbin/runc');
      if (runtime === 'runc-debug') assert.match(String(binary), /runtimes\/.*runc-debug/, 'the wrapper script');
      const task = await client.withNamespace(PLUGIN_NAMESPACE).tasks.get(p.Id);
      assert.equal(task.status, 'running');
      assert.ok(environOf(task.pid).includes('DEBUG=1'));
      assert.ok(existsSync(join(root, 'exec', 'plugins', p.Id, 'test.sock')), 'the socket under <exec-root>/plugins/<id>');

      await service.disable(name);
      assert.deepEqual(await tasksInNamespace(), []);
      assert.ok(!alive(task.pid));
      await service.remove(name);
      assert.ok(!existsSync(join(root, 'data', 'plugins', p.Id)));
      assert.deepEqual(seen.map((e) => e.Action), ['create', 'enable', 'disable', 'remove']);
      ids.push(p.Id);
    });
  }

  it('fails to enable a plugin that never answers, naming the step, and leaves no task', async () => {
    state.current = await snapshot('runc');
    const service = newService();
    await service.init();
    await service.create('me/silent', tarOf(fixture({ mode: 'silent' })));
    await service.create('me/nosock', tarOf(fixture({ mode: 'no-socket' })));
    await assert.rejects(service.enable('me/silent', { timeout: 3 }), (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /did not answer POST \/Plugin\.Activate on \/run\/docker\/plugins\/test\.sock within 3s/);
      return true;
    });
    await assert.rejects(service.enable('me/nosock', { timeout: 2 }), /did not create its socket \/run\/docker\/plugins\/test\.sock within 2s/);
    assert.deepEqual(await tasksInNamespace(), []);
    assert.deepEqual(await client.withNamespace(PLUGIN_NAMESPACE).containers.list(), []);
    assert.equal(service.inspect('me/silent').Enabled, false);
    await service.remove('me/silent');
    await service.remove('me/nosock');
  });

  it('keeps a plugin running, and not restarted, when containerd dies and comes back', async () => {
    state.current = await snapshot('runc');
    const service = newService();
    await service.init();
    const p = await service.create('me/survivor', tarOf(fixture({})));
    await service.enable('me/survivor');
    const ns = client.withNamespace(PLUGIN_NAMESPACE);
    const before = await ns.tasks.get(p.Id);
    const restarted = new Promise<void>((resolve) => managed?.on('restart', () => resolve()));
    process.kill(managed?.pid ?? 0, 'SIGKILL');
    await restarted;
    await client.waitReady(10_000);
    await sleep(3000);
    const after = await ns.tasks.get(p.Id);
    assert.equal(after.pid, before.pid);
    assert.equal(after.status, 'running');
    assert.equal((await ns.containers.list()).length, 1, 'no second container');
    await service.remove('me/survivor', { force: true });
    assert.ok(!alive(before.pid));
  });

  it('keeps an enabled plugin running across a reload of the default runtime, and adopts it after a live-restore restart', async () => {
    state.current = await snapshot('runc');
    const service = newService();
    await service.init();
    const p = await service.create('me/steady', tarOf(fixture({})));
    await service.enable('me/steady');
    const before = await client.withNamespace(PLUGIN_NAMESPACE).tasks.get(p.Id);

    state.current = await snapshot('runc-debug');
    await sleep(300);
    const afterReload = await client.withNamespace(PLUGIN_NAMESPACE).tasks.get(p.Id);
    assert.equal(afterReload.pid, before.pid);
    assert.equal(afterReload.status, 'running');
    assert.equal(service.runtimeOf('me/steady')?.name, 'runc');

    state.current = await snapshot('runc-debug', true);
    await service.shutdown();
    assert.ok(alive(before.pid), 'live restore leaves the plugin running');
    const next = newService();
    await next.init();
    await next.restoreEnabled();
    assert.equal((await client.withNamespace(PLUGIN_NAMESPACE).tasks.get(p.Id)).pid, before.pid, 'adopted, not restarted');
    assert.equal(next.inspect('me/steady').Enabled, true);

    state.current = await snapshot('k8s-runc');
    await next.shutdown();
    assert.ok(!alive(before.pid), 'without live restore, shutdown stops it');
    const third = newService();
    await third.init();
    await third.restoreEnabled();
    const fresh = await client.withNamespace(PLUGIN_NAMESPACE).tasks.get(p.Id);
    assert.notEqual(fresh.pid, before.pid);
    assert.equal(third.runtimeOf('me/steady')?.name, 'k8s-runc', 'a fresh start takes the current default runtime');
    await third.remove('me/steady', { force: true });
    assert.deepEqual(await tasksInNamespace(), []);
  });
});

describe('plugins through berthd and the docker CLI', { skip }, () => {
  const handles: BerthdHandle[] = [];
  const fixtures: TestPlugin[] = [];

  function fixture(opts: TestPluginOptions): string {
    const f = buildTestPlugin(opts);
    fixtures.push(f);
    return f.dir;
  }

  async function start(config: Record<string, unknown> = {}, root?: string): Promise<BerthdHandle> {
    const h = await startBerthd({ config, ...(root === undefined ? {} : { root }) });
    handles.push(h);
    return h;
  }

  async function stopAndClean(h: BerthdHandle): Promise<void> {
    const list = await h.docker(['plugin', 'ls', '-q', '--no-trunc']).catch(() => undefined);
    for (const id of list?.stdout.split('\n').filter(Boolean) ?? []) await h.docker(['plugin', 'rm', '-f', id]).catch(() => undefined);
    const pluginDir = join(h.dataRoot, 'plugins');
    const ids = existsSync(pluginDir) ? readdirSync(pluginDir) : [];
    killPluginTasks(h.dataRoot);
    await h.cleanup();
    removePluginCgroups(ids);
  }

  after(async () => {
    for (const h of handles) await stopAndClean(h).catch(() => undefined);
    for (const f of fixtures) f.cleanup();
  });

  /** Tasks in the plugin namespace of this berthd's managed containerd. */
  function pluginTasks(h: BerthdHandle): string {
    const sock = managedLayout(h.dataRoot, h.execRoot).socket;
    return execFileSync('ctr', ['--address', sock, '-n', PLUGIN_NAMESPACE, 'tasks', 'ls', '-q'], { encoding: 'utf8' }).trim();
  }

  function pluginRuntime(h: BerthdHandle, id: string): { name: string; binary: unknown } {
    const sock = managedLayout(h.dataRoot, h.execRoot).socket;
    const info = JSON.parse(execFileSync('ctr', ['--address', sock, '-n', PLUGIN_NAMESPACE, 'containers', 'info', id], { encoding: 'utf8' })) as {
      Runtime: { Name: string; Options?: { value?: string } };
    };
    const raw = info.Runtime.Options?.value;
    const binary = raw === undefined ? undefined : decodeShimOptions({ typeUrl: 'containerd.runc.v1.Options', value: Buffer.from(raw, 'base64') }).binary_name;
    return { name: info.Runtime.Name, binary };
  }

  async function servesPlugins(h: BerthdHandle): Promise<boolean> {
    return (await h.api('GET', '/plugins')).status === 200;
  }

  const configs: [string, Record<string, unknown>][] = [
    ['the stock default runtime', {}],
    ['a custom path runtime with runtimeArgs as default', { runtimes: { 'runc-debug': RUNTIMES['runc-debug'] }, 'default-runtime': 'runc-debug' }],
    ['a runtimeType runtime as default', { runtimes: { 'k8s-runc': RUNTIMES['k8s-runc'] }, 'default-runtime': 'k8s-runc' }],
  ];

  for (const [what, config] of configs) {
    it(`create, enable, ls, inspect, set, disable, rm with ${what}`, async (t) => {
      const h = await start(config);
      if (!(await servesPlugins(h))) return t.skip('this berthd does not serve /plugins yet');
      const since = Math.floor(Date.now() / 1000) - 1;
      const dir = fixture({ network: 'host' });
      const created = await h.docker(['plugin', 'create', 'me/testplug', dir]);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout.trim(), 'me/testplug');
      let ls = await h.docker(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
      assert.equal(ls.stdout.trim(), 'me/testplug:latest false');

      const enabled = await h.docker(['plugin', 'enable', 'me/testplug']);
      assert.equal(enabled.code, 0, enabled.stderr);
      ls = await h.docker(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
      assert.equal(ls.stdout.trim(), 'me/testplug:latest true');
      const inspect = await h.docker(['plugin', 'inspect', 'me/testplug']);
      assert.equal(inspect.code, 0, inspect.stderr);
      const [p] = JSON.parse(inspect.stdout) as { Id: string; Name: string; Enabled: boolean; PluginReference: string; Settings: { Env: string[] }; Config: { Interface: { Socket: string } } }[];
      assert.ok(p !== undefined);
      assert.equal(p.Enabled, true);
      assert.equal(p.Name, 'me/testplug:latest');
      assert.equal(p.PluginReference, 'me/testplug:latest');
      assert.deepEqual(p.Settings.Env, ['DEBUG=0']);
      assert.equal(p.Config.Interface.Socket, 'test.sock');
      assert.equal(pluginTasks(h), p.Id);
      const rt = pluginRuntime(h, p.Id);
      assert.equal(rt.name, 'io.containerd.runc.v2');
      if (config['default-runtime'] === 'runc-debug') assert.match(String(rt.binary), /runc-debug/);
      if (config['default-runtime'] === 'k8s-runc') assert.equal(rt.binary, '/usr/sbin/runc');

      const setBusy = await h.docker(['plugin', 'set', 'me/testplug', 'DEBUG=1']);
      assert.notEqual(setBusy.code, 0);
      assert.match(setBusy.stderr, /cannot set on an active plugin, disable plugin before setting/);
      const rmBusy = await h.docker(['plugin', 'rm', 'me/testplug']);
      assert.notEqual(rmBusy.code, 0);
      assert.match(rmBusy.stderr, /plugin me\/testplug:latest is enabled/);

      assert.equal((await h.docker(['plugin', 'disable', 'me/testplug'])).code, 0);
      assert.equal(pluginTasks(h), '');
      const set = await h.docker(['plugin', 'set', 'me/testplug', 'DEBUG=1']);
      assert.equal(set.code, 0, set.stderr);
      const notSettable = await h.docker(['plugin', 'set', 'me/testplug', 'NOPE=1']);
      assert.match(notSettable.stderr, /setting "NOPE" not found in the plugin configuration/);
      const env = await h.docker(['plugin', 'inspect', '-f', '{{json .Settings.Env}}', 'me/testplug']);
      assert.equal(env.stdout.trim(), '["DEBUG=1"]');
      assert.equal((await h.docker(['plugin', 'enable', 'me/testplug'])).code, 0);
      const rm = await h.docker(['plugin', 'rm', '-f', 'me/testplug']);
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal((await h.docker(['plugin', 'ls', '-q'])).stdout.trim(), '');
      assert.equal(pluginTasks(h), '');

      const ev = await h.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=plugin', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
      assert.deepEqual(ev.stdout.trim().split('\n'), ['create', 'enable', 'disable', 'enable', 'remove'].map((a) => `${a} me/testplug:latest`));
    });
  }

  it('a plugin that never answers fails enable with a clear error and leaves no task', async (t) => {
    const h = await start();
    if (!(await servesPlugins(h))) return t.skip('this berthd does not serve /plugins yet');
    assert.equal((await h.docker(['plugin', 'create', 'me/silent', fixture({ mode: 'silent' })])).code, 0);
    const r = await h.docker(['plugin', 'enable', '--timeout', '3', 'me/silent']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /plugin me\/silent:latest did not activate on runtime runc: the plugin did not answer POST \/Plugin\.Activate/);
    assert.equal(pluginTasks(h), '');
    const ls = await h.docker(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
    assert.equal(ls.stdout.trim(), 'me/silent:latest false');
  });

  it('a reload that changes the default runtime leaves an enabled plugin running; a restart re-enables it', async (t) => {
    const h = await start({ runtimes: { 'runc-debug': RUNTIMES['runc-debug'] } });
    if (!(await servesPlugins(h))) return t.skip('this berthd does not serve /plugins yet');
    assert.equal((await h.docker(['plugin', 'create', 'me/steady', fixture({})])).code, 0);
    assert.equal((await h.docker(['plugin', 'enable', 'me/steady'])).code, 0);
    const id = (await h.docker(['plugin', 'inspect', '-f', '{{.Id}}', 'me/steady'])).stdout.trim();
    const sock = managedLayout(h.dataRoot, h.execRoot).socket;
    const pidOf = (): string => execFileSync('ctr', ['--address', sock, '-n', PLUGIN_NAMESPACE, 'tasks', 'ls'], { encoding: 'utf8' }).split('\n').find((l) => l.startsWith(id))?.split(/\s+/)[1] ?? '';
    const pid = pidOf();
    assert.notEqual(pid, '');

    const since = Math.floor(Date.now() / 1000) - 1;
    h.writeConfig({ runtimes: { 'runc-debug': RUNTIMES['runc-debug'] }, 'default-runtime': 'runc-debug' });
    process.kill(h.pid, 'SIGHUP');
    const reloaded = async (): Promise<boolean> => {
      const ev = await h.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000)), '--filter', 'type=daemon', '--format', '{{.Action}}']);
      return ev.stdout.split('\n').includes('reload');
    };
    const deadline = Date.now() + 15_000;
    while (!(await reloaded()) && Date.now() < deadline) await sleep(200);
    assert.ok(await reloaded(), 'berthd reported the reload');
    await sleep(300);
    assert.equal(pidOf(), pid, 'same task after the reload');
    assert.equal(pluginRuntime(h, id).binary, 'runc');
    assert.equal((await h.docker(['plugin', 'inspect', '-f', '{{.Enabled}}', 'me/steady'])).stdout.trim(), 'true');

    await h.stop();
    const again = await start({ runtimes: { 'runc-debug': RUNTIMES['runc-debug'] }, 'default-runtime': 'runc-debug' }, h.root);
    const until = Date.now() + 30_000;
    while (pidOf() === '' && Date.now() < until) await sleep(200);
    assert.notEqual(pidOf(), '', 're-enabled after the restart');
    assert.equal((await again.docker(['plugin', 'inspect', '-f', '{{.Enabled}}', 'me/steady'])).stdout.trim(), 'true');
    assert.match(String(pluginRuntime(again, id).binary), /runc-debug/, 'restarted on the new default');
    handles.splice(handles.indexOf(h), 1);
  });

  it('answers pull with a clear error', async (t) => {
    const h = await start();
    if (!(await servesPlugins(h))) return t.skip('this berthd does not serve /plugins yet');
    const r = await h.docker(['plugin', 'install', '--grant-all-permissions', 'vieux/sshfs']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no registry is reachable/);
  });
});
