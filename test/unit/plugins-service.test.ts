// PluginService against an in-memory containerd: the "task" of a plugin is a
// Unix socket server in this process that answers (or not) the handshake.
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pack } from 'tar-stream';
import type { Snapshot } from '../../src/config/types.js';
import type { ContainerdClient, ContainerRecord, ExitInfo, ProcessInfo } from '../../src/containerd/types.js';
import { notFound } from '../../src/errors/index.js';
import { EventBus, type EngineEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/log/index.js';
import { PluginService, type PluginServiceOptions } from '../../src/plugins/index.js';
import type { ShimConfig } from '../../src/runtimes/types.js';

interface FakeTask {
  pid: number;
  status: ProcessInfo['status'];
  server?: Server;
  exited: Promise<ExitInfo>;
  exit(code: number): void;
}

/** The subset of containerd PluginService uses, in memory. */
class FakeContainerd {
  readonly containers = new Map<string, ContainerRecord>();
  readonly tasks = new Map<string, FakeTask>();
  readonly created: ContainerRecord[] = [];
  private nextPid = 1000;

  constructor(private readonly execRoot: string) {}

  client(namespace = 'berth'): ContainerdClient {
    const self = this;
    const fake = {
      namespace,
      withNamespace: (ns: string) => self.client(ns),
      ensureNamespace: async () => undefined,
      containers: {
        async create(c: ContainerRecord) {
          if (self.containers.has(c.id)) throw new Error(`container "${c.id}": already exists`);
          self.containers.set(c.id, c);
          self.created.push(c);
          return c;
        },
        async get(id: string) {
          const c = self.containers.get(id);
          if (c === undefined) throw notFound(`container "${id}" not found`);
          return c;
        },
        async list() {
          return [...self.containers.values()];
        },
        async delete(id: string) {
          if (!self.containers.delete(id)) throw notFound(`container "${id}" not found`);
        },
      },
      tasks: {
        async create(req: { containerId: string }) {
          const c = self.containers.get(req.containerId);
          if (c === undefined) throw notFound('no container');
          let exit!: (code: number) => void;
          const exited = new Promise<ExitInfo>((r) => (exit = (code) => r({ exitStatus: code, exitedAt: new Date() })));
          const task: FakeTask = { pid: self.nextPid++, status: 'created', exited, exit: (code) => exit(code) };
          void exited.then(() => {
            task.status = 'stopped';
            task.server?.close();
          });
          self.tasks.set(req.containerId, task);
          return { pid: task.pid };
        },
        async start(id: string) {
          const task = self.tasks.get(id);
          const c = self.containers.get(id);
          if (task === undefined || c === undefined) throw notFound('no task');
          task.status = 'running';
          const spec = JSON.parse(c.spec?.value.toString() ?? '{}') as { process: { args: string[] } };
          const mode = spec.process.args[0];
          if (mode === '/crash') task.exit(3);
          if (mode === '/answer') task.server = await serve(join(self.execRoot, 'plugins', id), 'test.sock');
          return { pid: task.pid };
        },
        async get(id: string) {
          const t = self.tasks.get(id);
          if (t === undefined) throw notFound(`task ${id} not found`);
          return { id, containerId: id, pid: t.pid, status: t.status } as ProcessInfo;
        },
        async kill(id: string) {
          const t = self.tasks.get(id);
          if (t === undefined) throw notFound(`task ${id} not found`);
          t.exit(137);
        },
        async wait(id: string) {
          const t = self.tasks.get(id);
          if (t === undefined) throw notFound(`task ${id} not found`);
          return t.exited;
        },
        async delete(id: string) {
          const t = self.tasks.get(id);
          if (t === undefined) throw notFound(`task ${id} not found`);
          self.tasks.delete(id);
          return { pid: t.pid, exitStatus: 0 };
        },
      },
    };
    return fake as unknown as ContainerdClient;
  }
}

/** Listens through /proc/self/fd so that long temp paths fit in sun_path. */
async function serve(dir: string, name: string): Promise<Server> {
  const fd = openSync(dir, 'r');
  const server = createServer((sock) => {
    sock.once('data', () => {
      const body = '{"Implements":["VolumeDriver"]}';
      sock.end(`HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(`/proc/self/fd/${fd}/${name}`, resolve);
  });
  closeSync(fd);
  return server;
}

function snapshot(defaultRuntime: string, liveRestore = false): Snapshot {
  return { generation: 1, config: { liveRestore }, runtimes: { defaultRuntime, byName: new Map() } } as unknown as Snapshot;
}

const SHIMS: Record<string, ShimConfig> = {
  runc: { shim: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from('runc') } },
  'runc-debug': { shim: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from('wrapper') } },
  'k8s-runc': { shim: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from('/usr/sbin/runc') } },
};

async function contextTar(entrypoint: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const config = {
    Description: 'fake',
    Interface: { Types: ['docker.volumedriver/1.0'], Socket: 'test.sock' },
    Entrypoint: [entrypoint],
    Env: [{ Name: 'DEBUG', Settable: ['value'], Value: '0' }],
    ...extra,
  };
  const p = pack();
  p.entry({ name: 'config.json' }, JSON.stringify(config));
  p.entry({ name: 'rootfs', type: 'directory', mode: 0o755 });
  p.entry({ name: 'rootfs/plugin', mode: 0o755 }, 'binary');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function setup(defaultRuntime = 'runc', extra: Partial<PluginServiceOptions> = {}) {
  const root = mkdtempSync('/tmp/bp-');
  roots.push(root);
  const execRoot = join(root, 'exec');
  const ctd = new FakeContainerd(execRoot);
  const events = new EventBus();
  const seen: EngineEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const state = { current: snapshot(defaultRuntime) };
  const opts: PluginServiceOptions = {
    client: ctd.client(),
    configStore: { current: () => state.current },
    resolveRuntime: (s, name) => {
      const rt = SHIMS[name === '' ? s.runtimes.defaultRuntime : name];
      if (rt === undefined) throw notFound(`unknown or invalid runtime name: ${s.runtimes.defaultRuntime}`);
      return rt;
    },
    events,
    logger: silentLogger(),
    dataRoot: join(root, 'data'),
    execRoot,
    stopGraceMs: 100,
    ...extra,
  };
  return { root, ctd, events, seen, state, opts, service: new PluginService(opts) };
}

describe('PluginService', () => {
  it('creates, enables on the default runtime, disables and removes, with events', async () => {
    const { ctd, seen, service, opts } = setup('runc-debug');
    await service.init();
    const created = await service.create('me/p', Readable.from([await contextTar('/answer')]));
    assert.equal(created.Name, 'me/p:latest');
    assert.match(created.Id, /^[0-9a-f]{64}$/);
    assert.equal(created.Enabled, false);
    assert.deepEqual(created.Settings.Env, ['DEBUG=0']);
    assert.equal(created.PluginReference, 'me/p:latest');
    const dir = join(opts.dataRoot, 'plugins', created.Id);
    assert.equal(readFileSync(join(dir, 'rootfs', 'plugin'), 'utf8'), 'binary');
    assert.ok(existsSync(join(dir, 'config.json')));
    await assert.rejects(service.create('me/p:latest', Readable.from([await contextTar('/answer')])), { kind: 'conflict', message: 'plugin me/p:latest already exists' });

    await service.set('me/p', ['DEBUG=1']);
    await service.enable('me/p', { timeout: 5 });
    assert.equal(service.inspect(created.Id.slice(0, 12)).Enabled, true);
    const container = ctd.containers.get(created.Id);
    assert.ok(container !== undefined);
    assert.equal(container.runtime.name, 'io.containerd.runc.v2');
    assert.equal(container.runtime.options?.value.toString(), 'wrapper', 'the default runtime runc-debug');
    const spec = JSON.parse(container.spec?.value.toString() ?? '{}') as { process: { env: string[] }; root: { path: string } };
    assert.ok(spec.process.env.includes('DEBUG=1'));
    assert.equal(spec.root.path, join(dir, 'rootfs'));
    assert.equal((JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8')) as { Enabled: boolean }).Enabled, true);
    assert.deepEqual(service.list({ enabled: ['true'] }).map((p) => p.Name), ['me/p:latest']);
    assert.deepEqual(service.list({ enabled: ['false'] }), []);
    assert.equal(service.list({ capability: ['VolumeDriver'] }).length, 1);
    assert.equal(service.list({ capability: ['networkdriver'] }).length, 0);

    await assert.rejects(service.enable('me/p'), { kind: 'conflict', message: 'plugin already enabled: plugin me/p:latest is enabled' });
    await assert.rejects(service.set('me/p', ['DEBUG=2']), { kind: 'conflict', message: 'cannot set on an active plugin, disable plugin before setting' });
    await assert.rejects(service.remove('me/p'), { kind: 'conflict', message: 'plugin me/p:latest is enabled' });

    await service.disable('me/p:latest', {});
    assert.equal(ctd.containers.size, 0);
    assert.equal(ctd.tasks.size, 0);
    assert.equal(service.inspect('me/p').Enabled, false);
    await assert.rejects(service.disable('me/p'), { kind: 'conflict', message: 'plugin is already disabled: plugin me/p:latest found but disabled' });

    await service.enable('me/p');
    await service.remove('me/p', { force: true });
    assert.equal(ctd.containers.size, 0);
    assert.ok(!existsSync(dir));
    assert.throws(() => service.inspect('me/p'), { kind: 'not-found', message: 'plugin "me/p" not found' });
    assert.deepEqual(
      seen.map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes.name]),
      ['create', 'enable', 'disable', 'enable', 'remove'].map((a) => ['plugin', a, created.Id, 'me/p:latest']),
    );
  });

  it('keeps an enabled plugin on the runtime it was enabled with across a reload', async () => {
    const { ctd, service, state } = setup('runc');
    await service.init();
    await service.create('me/p', Readable.from([await contextTar('/answer')]));
    await service.enable('me/p');
    state.current = snapshot('k8s-runc');
    assert.equal(service.runtimeOf('me/p')?.name, 'runc');
    assert.equal(ctd.created.length, 1);
    assert.equal([...ctd.tasks.values()][0]?.status, 'running');
    await service.disable('me/p');
    await service.enable('me/p');
    assert.equal(service.runtimeOf('me/p')?.name, 'k8s-runc', 'the next enable takes the new default');
    await service.shutdown();
  });

  it('leaves a plugin that never activates disabled, with its task removed and the step named', async () => {
    const { ctd, service, seen } = setup();
    await service.init();
    await service.create('me/silent', Readable.from([await contextTar('/silent')]));
    const started = Date.now();
    await assert.rejects(service.enable('me/silent', { timeout: 1 }), (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /^plugin me\/silent:latest did not activate on runtime runc: the plugin did not create its socket \/run\/docker\/plugins\/test\.sock within 1s/);
      assert.match(err.message, /its task was removed and the plugin stays disabled/);
      return true;
    });
    assert.ok(Date.now() - started < 4000);
    assert.equal(ctd.containers.size, 0);
    assert.equal(ctd.tasks.size, 0);
    assert.equal(service.inspect('me/silent').Enabled, false);
    assert.ok(!seen.some((e) => e.Action === 'enable'));

    await service.create('me/crash', Readable.from([await contextTar('/crash')]));
    await assert.rejects(service.enable('me/crash', { timeout: 5 }), /the plugin process exited before answering the activation handshake \(exit status 3\)/);
    assert.equal(ctd.tasks.size, 0);
  });

  it('says which default runtime cannot be used', async () => {
    const { service } = setup('gone');
    await service.init();
    await service.create('me/p', Readable.from([await contextTar('/answer')]));
    await assert.rejects(service.enable('me/p'), {
      kind: 'not-found',
      message: 'cannot enable plugin me/p:latest: the default runtime "gone" cannot be used: unknown or invalid runtime name: gone',
    });
  });

  it('refuses a bad config at create and leaves nothing behind', async () => {
    const { service, opts } = setup();
    await service.init();
    await assert.rejects(service.create('me/bad', Readable.from([await contextTar('/answer', { Interface: { Types: ['docker.volumedriver/1.0'] } })])), {
      kind: 'invalid-parameter',
      message: /Interface\.Socket: missing/,
    });
    await assert.rejects(service.create('Me/Bad', Readable.from([Buffer.alloc(0)])), { kind: 'invalid-parameter', message: /must be lowercase/ });
    assert.deepEqual(service.list(), []);
    const { readdirSync } = await import('node:fs');
    assert.deepEqual(readdirSync(join(opts.dataRoot, 'plugins')), []);
  });

  it('re-enables after a restart: adopts a surviving task, or starts a fresh one on the current default', async () => {
    const first = setup('runc');
    await first.service.init();
    await first.service.create('me/a', Readable.from([await contextTar('/answer')]));
    await first.service.create('me/b', Readable.from([await contextTar('/answer')]));
    await first.service.create('me/off', Readable.from([await contextTar('/answer')]));
    await first.service.enable('me/a');
    await first.service.enable('me/b');
    const idB = first.service.inspect('me/b').Id;
    // live restore: the tasks stay; then b's task dies while berthd is down
    first.state.current = snapshot('runc', true);
    await first.service.shutdown();
    const taskB = first.ctd.tasks.get(idB);
    taskB?.exit(1);
    await taskB?.exited;
    assert.equal(first.ctd.created.length, 2);

    first.state.current = snapshot('k8s-runc');
    const second = new PluginService({ ...first.opts });
    await second.init();
    assert.equal(second.inspect('me/a').Enabled, true);
    await second.restoreEnabled();
    assert.equal(second.runtimeOf('me/a')?.shim.options?.value.toString(), 'runc', 'adopted: still on its runtime');
    assert.equal(second.runtimeOf('me/b')?.name, 'k8s-runc', 'restarted on the current default');
    assert.equal(first.ctd.created.length, 3);
    assert.equal(second.inspect('me/off').Enabled, false);
    await second.shutdown();
    assert.equal(first.ctd.tasks.size, 0, 'without live restore, shutdown stops plugin tasks');
    const third = new PluginService({ ...first.opts });
    await third.init();
    assert.equal(third.inspect('me/a').Enabled, true, 'still enabled on disk: the next start re-enables it');
  });

  it('restarts a plugin that crashes, on its locked-in runtime', async () => {
    const { ctd, service, state } = setup('runc');
    await service.init();
    const p = await service.create('me/p', Readable.from([await contextTar('/answer')]));
    await service.enable('me/p');
    state.current = snapshot('k8s-runc');
    ctd.tasks.get(p.Id)?.exit(2);
    const deadline = Date.now() + 5000;
    while (ctd.created.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(ctd.created.length, 2);
    assert.equal(ctd.created[1]?.runtime.options?.value.toString(), 'runc');
    await service.disable('me/p');
    assert.equal(ctd.tasks.size, 0);
  });
});
