// The container service against a real (managed) containerd, with the real
// image service and process I/O: lifecycle, exit codes, stop/kill, pause,
// removal leaving nothing behind, start errors, persistence.
import assert from 'node:assert/strict';
import { memoryConnection, demux } from '../helpers/connections.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { DaemonConfig, Snapshot } from '../../src/config/index.js';
import { connectContainerd, startManagedContainerd, type ContainerdClient, type ManagedContainerd } from '../../src/containerd/index.js';
import { ContainerService, type ContainerServiceDeps } from '../../src/daemon/containers/index.js';
import { ImageService } from '../../src/daemon/images/index.js';
import { openProcessIO, readLogs } from '../../src/daemon/io/index.js';
import { EventBus, type EngineEvent } from '../../src/events/index.js';
import { isKind } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/index.js';
import { deriveRuntimes, planRuntimes, WrapperStore } from '../../src/runtimes/index.js';
import { busyboxRootfsTar } from '../fixtures/images.js';
import { removeTestRoot, until } from '../helpers/berthd.js';

const NS = 'berth-ctr-e2e';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('containers on a real containerd', { timeout: 300_000 }, () => {
  const root = execFileSync('mktemp', ['-d', '/tmp/berth-ctr-XXXXXX']).toString().trim();
  const dataRoot = join(root, 'data');
  const execRoot = join(root, 'exec');
  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient;
  let images: ImageService;
  let snapshot: Snapshot;
  const events = new EventBus();
  const seen: EngineEvent[] = [];
  events.subscribe((e) => seen.push(e));
  let svc: ContainerService;
  const services: ContainerService[] = [];

  function newService(): ContainerService {
    const deps: ContainerServiceDeps = {
      client,
      configStore: { current: () => snapshot },
      images,
      io: { openProcessIO: (o) => openProcessIO(o), readLogs },
      events,
      logger: silentLogger(),
      dataRoot,
      execRoot,
      namespace: NS,
    };
    const s = new ContainerService(deps);
    images.setUsageCheck((id) => s.imageUsers(id));
    services.push(s);
    return s;
  }

  async function run(body: Record<string, unknown>, name?: string): Promise<{ id: string; code: number }> {
    const { Id } = await svc.create({ Image: 'busybox', ...body }, name);
    const { result } = svc.wait(Id, 'next-exit');
    await svc.start(Id);
    const r = await result;
    return { id: Id, code: r.StatusCode };
  }

  async function logsOf(id: string): Promise<{ stdout: string; stderr: string }> {
    const { stream } = svc.logs(id, { stdout: true, stderr: true, follow: false, tail: 'all', since: 0, until: 0, timestamps: false });
    return demux(await collect(stream));
  }

  before(async () => {
    managed = await startManagedContainerd({ dataRoot: join(root, 'containerd'), execRoot: join(root, 'cexec'), debug: false, logger: silentLogger() });
    client = connectContainerd(managed.address, NS);
    await client.ensureNamespace(NS);
    images = new ImageService({ client, events, logger: silentLogger(), tmpDir: root });
    const tar = await busyboxRootfsTar();
    await images.import(Readable.from([tar]), { repo: 'busybox', tag: 'latest', changes: ['CMD ["sh"]'] });
    const planned = planRuntimes({ 'alt-runc': { path: '/usr/sbin/runc' }, wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] } }, '');
    assert.ok(planned.ok);
    snapshot = {
      generation: 1,
      config: {} as DaemonConfig,
      runtimes: await deriveRuntimes(planned.plan, new WrapperStore(join(dataRoot, 'runtimes'))),
    };
    svc = newService();
    await svc.restore();
  });

  after(async () => {
    for (const s of services) await s.shutdown({ liveRestore: false, timeout: 2 }).catch(() => undefined);
    client?.close();
    await managed?.stop().catch(() => undefined);
    await removeTestRoot(root);
  });

  it('runs a command and reports its exit code and output', async () => {
    const { id, code } = await run({ Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    assert.equal(code, 3);
    const logs = await logsOf(id);
    assert.equal(logs.stdout, 'out\n');
    assert.equal(logs.stderr, 'err\n');
    const inspect = svc.inspect(id) as { State: Record<string, unknown>; HostConfig: { Runtime: string }; Path: string };
    assert.equal(inspect.State.Status, 'exited');
    assert.equal(inspect.State.ExitCode, 3);
    assert.equal(inspect.State.Running, false);
    assert.equal(inspect.HostConfig.Runtime, 'runc');
    assert.equal(inspect.Path, 'sh');
    const actions = seen.filter((e) => e.Actor.ID === id).map((e) => e.Action);
    assert.deepEqual(actions, ['create', 'start', 'die']);
    const die = seen.find((e) => e.Actor.ID === id && e.Action === 'die');
    assert.equal(die?.Actor.Attributes.exitCode, '3');
  });

  it('applies env, working dir, user, hostname and entrypoint', async () => {
    const { id, code } = await run({
      Entrypoint: ['sh', '-c'],
      Cmd: ['echo "$FOO $HOSTNAME"; pwd; id -u; id -g; cat /etc/hostname'],
      Env: ['FOO=bar'],
      WorkingDir: '/tmp',
      User: 'app',
      Hostname: 'box1',
    });
    assert.equal(code, 0);
    assert.equal((await logsOf(id)).stdout, 'bar box1\n/tmp\n1000\n1000\nbox1\n');
  });

  it('an unknown user fails the start with dockerd message', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['true'], User: 'bob' });
    await assert.rejects(svc.start(Id), /unable to find user bob: no matching entries in passwd file/);
  });

  it('a missing command: 400, exit code 127, error recorded', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['nope'] });
    await assert.rejects(svc.start(Id), (e: unknown) => isKind(e, 'invalid-parameter') && /executable file not found/.test(String(e)));
    const s = (svc.inspect(Id) as { State: { ExitCode: number; Error: string; Status: string } }).State;
    assert.equal(s.ExitCode, 127);
    assert.match(s.Error, /exec: "nope": executable file not found in \$PATH/);
    assert.equal(s.Status, 'created');
  });

  it('refuses bad runtimes, images and names before touching containerd', async () => {
    await assert.rejects(svc.create({ Image: 'busybox', HostConfig: { Runtime: 'nope' } }), /unknown or invalid runtime name: nope/);
    await assert.rejects(svc.create({ Image: 'busybox', HostConfig: { Runtime: '/usr/bin/evil' } }), /unknown or invalid runtime name: \/usr\/bin\/evil/);
    await assert.rejects(svc.create({ Image: 'nope:latest' }), (e: unknown) => isKind(e, 'not-found'));
    await assert.rejects(svc.create({ Image: 'busybox' }, 'x'), /Invalid container name \(x\)/);
    await assert.rejects(svc.create({ Image: 'busybox', Env: 'x' }), /invalid field Env/);
  });

  it('a configured path runtime is locked in at start', async () => {
    const { id, code } = await run({ Cmd: ['true'], HostConfig: { Runtime: 'alt-runc' } });
    assert.equal(code, 0);
    const record = await client.containers.get(id);
    assert.equal(record.runtime.name, 'io.containerd.runc.v2');
    assert.ok(record.runtime.options?.value.includes(Buffer.from('/usr/sbin/runc')));
  });

  it('a wrapper runtime runs containers and its script counts as referenced while they run', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'], HostConfig: { Runtime: 'wrapped' } });
    await svc.start(Id);
    const refs = [...svc.referencedWrapperPaths()];
    assert.equal(refs.length, 1);
    assert.ok(refs[0]?.startsWith(join(dataRoot, 'runtimes') + '/wrapped.'), refs[0]);
    const { result } = svc.wait(Id, 'removed');
    await svc.pause(Id);
    await svc.remove(Id, { force: true });
    assert.equal((await result).StatusCode, 137);
    assert.deepEqual([...svc.referencedWrapperPaths()], []);
  });

  it('a runtime removed by a reload: the running container stays manageable, a new start is refused', async () => {
    const full = snapshot;
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'], HostConfig: { Runtime: 'alt-runc' } });
    await svc.start(Id);
    const planned = planRuntimes({}, '');
    assert.ok(planned.ok);
    snapshot = { generation: 2, config: {} as DaemonConfig, runtimes: await deriveRuntimes(planned.plan, new WrapperStore(join(dataRoot, 'runtimes'))) };
    try {
      await svc.pause(Id);
      await svc.unpause(Id);
      await svc.stop(Id, { timeout: 0 });
      await assert.rejects(svc.start(Id), /unknown or invalid runtime name: alt-runc/);
    } finally {
      snapshot = full;
    }
    await svc.start(Id);
    await svc.remove(Id, { force: true });
  });

  it('two racing creates with one name: exactly one wins', async () => {
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => svc.create({ Image: 'busybox', Cmd: ['true'] }, 'racer')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isKind(lost.reason, 'conflict'));
    assert.match(String(lost.reason), /The container name "\/racer" is already in use/);
  });

  it('stop sends the stop signal, then SIGKILL after the timeout', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'] }, 'sleeper');
    await svc.start(Id);
    await assert.rejects(svc.start(Id), (e: unknown) => isKind(e, 'not-modified'));
    const list = svc.list({ all: false, limit: -1, size: false, filters: new Map([['name', ['sleeper']]]) });
    assert.equal(list.length, 1);
    assert.match(list[0]?.Status ?? '', /^Up /);
    const t0 = Date.now();
    await svc.stop('sleeper', { timeout: 1 });
    assert.ok(Date.now() - t0 >= 900);
    const s = (svc.inspect(Id) as { State: { ExitCode: number; Running: boolean } }).State;
    assert.equal(s.Running, false);
    assert.equal(s.ExitCode, 137);
    const actions = seen.filter((e) => e.Actor.ID === Id).map((e) => `${e.Action}${e.Actor.Attributes.signal ? ':' + e.Actor.Attributes.signal : ''}`);
    assert.deepEqual(actions.slice(-4), ['kill:15', 'kill:9', 'die', 'stop']);
    await assert.rejects(svc.stop(Id), (e: unknown) => isKind(e, 'not-modified'));
    await assert.rejects(svc.kill(Id), (e: unknown) => isKind(e, 'conflict') && /is not running/.test(String(e)));
  });

  it('kill, pause, unpause, restart', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'] });
    await svc.start(Id);
    await assert.rejects(svc.kill(Id, 'FOO'), /Invalid signal: FOO/);
    await svc.pause(Id);
    await assert.rejects(svc.pause(Id), /already paused/);
    const paused = svc.list({ all: true, limit: -1, size: false, filters: new Map([['status', ['paused']]]) });
    assert.deepEqual(paused.map((c) => c.Id), [Id]);
    assert.match(paused[0]?.Status ?? '', /\(Paused\)$/);
    await svc.unpause(Id);
    await assert.rejects(svc.unpause(Id), /is not paused/);
    const pidBefore = (svc.inspect(Id) as { State: { Pid: number } }).State.Pid;
    await svc.restart(Id, { timeout: 0 });
    const after = (svc.inspect(Id) as { State: { Pid: number; Running: boolean } }).State;
    assert.equal(after.Running, true);
    assert.notEqual(after.Pid, pidBefore);
    await svc.kill(Id, 'KILL');
    const s = (svc.inspect(Id) as { State: { ExitCode: number; Running: boolean } }).State;
    assert.equal(s.Running, false);
    assert.equal(s.ExitCode, 137);
  });

  it('rm refuses a running container without force, rm -f kills it', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'] }, 'victim');
    await svc.start(Id);
    await assert.rejects(svc.remove(Id), /cannot remove container "\/victim": container is running: stop the container before removing or force remove/);
    await svc.remove(Id, { force: true });
    assert.throws(() => svc.inspect(Id), (e: unknown) => isKind(e, 'not-found'));
    await assert.rejects(client.containers.get(Id), (e: unknown) => isKind(e, 'not-found'));
  });

  it('--rm leaves nothing behind and wait(removed) reports the exit code', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 7'], HostConfig: { AutoRemove: true } });
    const { result } = svc.wait(Id, 'removed');
    await svc.start(Id);
    assert.deepEqual(await result, { StatusCode: 7, Error: null });
    await assert.rejects(client.containers.get(Id), (e: unknown) => isKind(e, 'not-found'));
    await assert.rejects(client.tasks.get(Id), (e: unknown) => isKind(e, 'not-found'));
    await assert.rejects(client.snapshots.stat('overlayfs', Id), (e: unknown) => isKind(e, 'not-found'));
    assert.equal(existsSync(join(dataRoot, 'containers', Id)), false);
    assert.equal(existsSync(join(execRoot, 'containers', Id)), false);
    assert.equal(seen.filter((e) => e.Actor.ID === Id).at(-1)?.Action, 'destroy');
  });

  it('--rm with a failing start removes the container too', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['nope'], HostConfig: { AutoRemove: true } });
    const { result } = svc.wait(Id, 'removed');
    await assert.rejects(svc.start(Id));
    assert.equal((await result).StatusCode, 127);
    await assert.rejects(client.containers.get(Id), (e: unknown) => isKind(e, 'not-found'));
  });

  it('attach before start gets the output, stdin reaches the process', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sh', '-c', 'read x; echo "got $x"'], OpenStdin: true, StdinOnce: true, AttachStdin: true });
    const m = memoryConnection();
    const attached = svc.attach(Id, m.conn, { stdin: true, stdout: true, stderr: true, logs: false, stream: true });
    const { result } = svc.wait(Id, 'next-exit');
    await svc.start(Id);
    m.input.end('hello\n');
    assert.equal((await result).StatusCode, 0);
    await attached;
    assert.equal(demux(m.output()).stdout, 'got hello\n');
  });

  it('a TTY container writes raw output', async () => {
    const { id, code } = await run({ Cmd: ['sh', '-c', 'test -t 1 && echo tty'], Tty: true });
    assert.equal(code, 0);
    const { stream, tty } = svc.logs(id, { stdout: true, stderr: true, follow: false, tail: 'all', since: 0, until: 0, timestamps: false });
    assert.equal(tty, true);
    assert.equal((await collect(stream)).toString(), 'tty\r\n');
  });

  it('logs --follow ends when the container exits', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sh', '-c', 'echo one; sleep 1; echo two'] });
    await svc.start(Id);
    const { stream } = svc.logs(Id, { stdout: true, stderr: false, follow: true, tail: 'all', since: 0, until: 0, timestamps: false });
    assert.equal(demux(await collect(stream)).stdout, 'one\ntwo\n');
  });

  it('list filters and network modes', async () => {
    const { id: hostNet } = await run({ Cmd: ['true'], Labels: { tier: 'web' }, HostConfig: { NetworkMode: 'host' } });
    const { id: noneNet } = await run({ Cmd: ['sh', '-c', 'ls /sys/class/net'], HostConfig: { NetworkMode: 'none' } });
    assert.equal((await logsOf(noneNet)).stdout, 'lo\n');
    const byLabel = svc.list({ all: true, limit: -1, size: false, filters: new Map([['label', ['tier=web']]]) });
    assert.deepEqual(byLabel.map((c) => c.Id), [hostNet]);
    assert.deepEqual(byLabel[0]?.HostConfig, { NetworkMode: 'host' });
    const exited = svc.list({ all: true, limit: -1, size: false, filters: new Map([['exited', ['3']]]) });
    assert.ok(exited.length >= 1 && exited.every((c) => /^Exited \(3\)/.test(c.Status)));
    assert.equal(svc.list({ all: true, limit: 1, size: false, filters: new Map() })[0]?.Id, noneNet);
    assert.throws(() => svc.list({ all: true, limit: -1, size: false, filters: new Map([['bogus', ['x']]]) }), /Invalid filter 'bogus'/);
    await assert.rejects(svc.create({ Image: 'busybox', HostConfig: { NetworkMode: 'mynet' } }), (e: unknown) => isKind(e, 'not-found'));
  });

  it('restart policies: on-failure with a limit, always until stopped', async () => {
    const { Id: failing } = await svc.create({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 1'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
    await svc.start(failing);
    await until('two restarts', () => {
      const i = svc.inspect(failing) as { RestartCount: number; State: { Status: string } };
      return i.RestartCount === 2 && i.State.Status === 'exited';
    });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((svc.inspect(failing) as { RestartCount: number }).RestartCount, 2);

    const { Id: always } = await svc.create({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 0.2'], HostConfig: { RestartPolicy: { Name: 'always' } } });
    await svc.start(always);
    await until('a restart', () => (svc.inspect(always) as { RestartCount: number }).RestartCount >= 2);
    await svc.stop(always, { timeout: 1 });
    await new Promise((r) => setTimeout(r, 500));
    const s = svc.inspect(always) as { State: { Running: boolean; Restarting: boolean } };
    assert.equal(s.State.Running || s.State.Restarting, false);
    await assert.rejects(svc.create({ Image: 'busybox', HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }), /AutoRemove/);
    await assert.rejects(svc.create({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'sometimes' } } }), /invalid restart policy/);
    await svc.remove(failing);
    await svc.remove(always);
  });

  it('rename', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['true'] }, 'before-name');
    await svc.rename(Id, 'after-name');
    assert.equal((svc.inspect('after-name') as { Id: string }).Id, Id);
    assert.throws(() => svc.inspect('before-name'), (e: unknown) => isKind(e, 'not-found'));
    await assert.rejects(svc.rename(Id, 'after-name'), /same name/);
    await assert.rejects(svc.rename(Id, 'victim2!'), /Invalid container name/);
  });

  it('a new service on the same roots lists the same containers and exit codes; shutdown stops running ones', async () => {
    const { id: exited3 } = await run({ Cmd: ['sh', '-c', 'exit 3'] }, 'keeper');
    const { Id: running } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'] }, 'runner');
    await svc.start(running);
    const before = svc.list({ all: true, limit: -1, size: false, filters: new Map() }).map((c) => [c.Id, c.State]);
    await svc.shutdown({ liveRestore: false, timeout: 1 });
    assert.equal((svc.inspect(running) as { State: { Running: boolean } }).State.Running, false);

    svc = newService();
    await svc.restore();
    const afterList = svc.list({ all: true, limit: -1, size: false, filters: new Map() });
    assert.deepEqual(
      afterList.map((c) => c.Id).sort(),
      before.map(([id]) => id as string).sort(),
    );
    assert.equal((svc.inspect('keeper') as { State: { ExitCode: number } }).State.ExitCode, 3);
    assert.equal((svc.inspect(exited3) as { Name: string }).Name, '/keeper');
    // And it is still fully manageable.
    const { result } = svc.wait('keeper', 'next-exit');
    await svc.start('keeper');
    assert.equal((await result).StatusCode, 3);
    await svc.remove('keeper');
  });

  it('restore records the exit of a container that died while berthd was away', async () => {
    const { Id } = await svc.create({ Image: 'busybox', Cmd: ['sleep', '1000'] });
    await svc.start(Id);
    // Simulate berthd dying: the old service stops listening, the task is killed behind its back.
    const old = svc;
    await old.shutdown({ liveRestore: true, timeout: 0 });
    await client.tasks.kill(Id, 9);
    await until('the task to stop', async () => (await client.tasks.get(Id)).status === 'stopped');
    svc = newService();
    await svc.restore();
    const s = (svc.inspect(Id) as { State: { Running: boolean; ExitCode: number } }).State;
    assert.equal(s.Running, false);
    assert.equal(s.ExitCode, 137);
  });
});
