// Exec and top against a real containerd: a busybox container running
// `sleep 1000`, created directly with the containerd client, then execs
// through the ExecService with in-memory connections.
import assert from 'node:assert/strict';
import { memoryConnection, demux } from '../helpers/connections.js';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  connectContainerd,
  jsonAny,
  OCI_SPEC_TYPE_URL,
  startManagedContainerd,
  type ContainerdClient,
  type ManagedContainerd,
} from '../../src/containerd/index.js';
import { ExecService, top, type ExecTarget, type OciProcess } from '../../src/daemon/exec/index.js';
import { createApiServer, systemRoutes } from '../../src/api/index.js';
import { execRoutes, topRoutes } from '../../src/api/routes/exec.js';
import { EventBus } from '../../src/events/index.js';
import { isBerthError, notFound } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/index.js';
import { busyboxRootfsTar, busyboxRootfsTarFile } from '../fixtures/images.js';
import { dockerBin, removeTestRoot, runCommand, startBerthd, type BerthdHandle, until } from '../helpers/berthd.js';

const NS = 'berth-exec-e2e';
const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];



describe('exec on a real containerd', { timeout: 180_000 }, () => {
  const root = execFileSync('mktemp', ['-d', '/tmp/berth-exec-XXXXXX']).toString().trim();
  const containerId = randomBytes(32).toString('hex');
  const cgroup = `berth-exec-e2e-${randomBytes(4).toString('hex')}`;
  const rootfs = join(root, 'rootfs');
  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient;
  let initPid = 0;
  let running = false;
  let paused = false;
  const events: { action: string; attrs: Record<string, string> }[] = [];
  const execs = new ExecService({ logger: silentLogger() });

  const processSpec: OciProcess = {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ['/bin/sleep', '1000'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=execbox', 'FROM_IMAGE=yes'],
    cwd: '/',
    capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 }],
    noNewPrivileges: true,
  };
  let target: ExecTarget;

  before(async () => {
    mkdirSync(rootfs);
    writeFileSync(join(root, 'rootfs.tar'), await busyboxRootfsTar());
    execFileSync('tar', ['-xf', join(root, 'rootfs.tar'), '-C', rootfs]);
    managed = await startManagedContainerd({ dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), debug: false, logger: silentLogger() });
    client = connectContainerd(managed.address, NS);
    await client.ensureNamespace(NS);
    const spec = {
      ociVersion: '1.0.2',
      process: processSpec,
      root: { path: rootfs, readonly: false },
      hostname: 'execbox',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
        cgroupsPath: `/${cgroup}`,
      },
    };
    await client.containers.create({
      id: containerId,
      labels: {},
      image: '',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: jsonAny(OCI_SPEC_TYPE_URL, spec),
      snapshotter: '',
      snapshotKey: '',
    });
    initPid = (await client.tasks.create({ containerId, rootfs: [], stdin: '', stdout: '', stderr: '', terminal: false })).pid;
    await client.tasks.start(containerId);
    running = true;
    target = {
      id: containerId,
      name: 'execbox',
      client,
      execDir: join(root, 'run', containerId),
      configUser: '',
      processSpec: () => processSpec,
      isRunning: () => running,
      isPaused: () => paused,
      initPid: () => initPid,
      publish: (action, attrs) => events.push({ action, attrs }),
    };
  });

  after(async () => {
    try {
      if (client !== undefined) {
        await client.tasks.kill(containerId, 9, { all: true }).catch(() => undefined);
        await client.tasks.wait(containerId).catch(() => undefined);
        await client.tasks.delete(containerId).catch(() => undefined);
        await client.containers.delete(containerId).catch(() => undefined);
        client.close();
      }
      await managed?.stop(5_000).catch(() => undefined);
    } finally {
      await removeTestRoot(root, [cgroup]);
    }
  });

  async function run(cmd: string[], extra: Partial<Parameters<ExecService['create']>[1]> = {}, input?: string): Promise<{ id: string; out: Buffer }> {
    const { Id } = await execs.create(target, { Cmd: cmd, AttachStdout: true, AttachStderr: true, ...extra });
    const c = memoryConnection();
    const started = execs.start(Id, { Tty: extra.Tty === true }, c.conn);
    if (input !== undefined) c.input.end(input);
    await started;
    await c.closed;
    return { id: Id, out: c.output() };
  }

  it('runs a command and returns its output, exit code and events', async () => {
    const { id, out } = await run(['echo', 'hi']);
    assert.deepEqual(demux(out), { stdout: 'hi\n', stderr: '' });
    const info = execs.inspect(id);
    assert.equal(info.Running, false);
    assert.equal(info.ExitCode, 0);
    assert.equal(info.ContainerID, containerId);
    assert.deepEqual(info.ProcessConfig, { tty: false, entrypoint: 'echo', arguments: ['hi'], privileged: false, user: '' });
    assert.ok(info.Pid > 0);
    const mine = events.filter((e) => e.attrs.execID === id).map((e) => e.action);
    assert.deepEqual(mine, ['exec_create: echo hi', 'exec_start: echo hi', 'exec_die']);
    assert.equal(events.find((e) => e.attrs.execID === id && e.action === 'exec_die')?.attrs.exitCode, '0');
    assert.deepEqual(readdirSync(target.execDir), [], 'the FIFOs are removed');
  });

  it('separates stdout and stderr and reports a non-zero exit code', async () => {
    const { id, out } = await run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.deepEqual(demux(out), { stdout: 'out\n', stderr: 'err\n' });
    assert.equal(execs.inspect(id).ExitCode, 7);
    await assert.rejects(
      async () => execs.start(id, {}),
      (e: unknown) => isBerthError(e) && e.kind === 'conflict',
    );
  });

  it('applies env, user and working directory', async () => {
    const { out } = await run(['sh', '-c', 'echo "$FOO $FROM_IMAGE"; id -u; id -g; pwd'], { Env: ['FOO=bar'], User: 'app', WorkingDir: '/tmp' });
    assert.equal(demux(out).stdout, 'bar yes\n1000\n1000\n/tmp\n');
    const numeric = await run(['sh', '-c', 'id -u; id -g'], { User: '4321:99' });
    assert.equal(demux(numeric.out).stdout, '4321\n99\n');
    await assert.rejects(
      execs.create(target, { Cmd: ['id'], User: 'ghost' }),
      (e: unknown) => isBerthError(e) && e.kind === 'invalid-parameter' && /unable to find user ghost/.test(e.message),
    );
  });

  it('feeds stdin and closes it at the end of the input', async () => {
    const { id, out } = await run(['cat'], { AttachStdin: true }, 'hello through stdin\n');
    assert.equal(demux(out).stdout, 'hello through stdin\n');
    assert.equal(execs.inspect(id).ExitCode, 0);
    assert.equal(execs.inspect(id).OpenStdin, true);
  });

  it('runs with a TTY: raw output, TERM set, console size applied', async () => {
    const { Id } = await execs.create(target, { Cmd: ['sh', '-c', 'tty; echo $TERM; stty size'], AttachStdout: true, AttachStderr: true, Tty: true });
    const c = memoryConnection();
    await execs.start(Id, { Tty: true, ConsoleSize: [30, 100] }, c.conn);
    const text = c.output().toString();
    assert.match(text, /^\/dev\/pts\/\d+\r\nxterm\r\n30 100\r\n$/);
    assert.equal(execs.inspect(Id).ExitCode, 0);
  });

  it('starts detached and records the exit later', async () => {
    const { Id } = await execs.create(target, { Cmd: ['sh', '-c', 'echo marked > /tmp/detached; sleep 0.3'] });
    await execs.start(Id, { Detach: true });
    assert.equal(execs.inspect(Id).Running, true);
    assert.equal(execs.inspect(Id).ExitCode, null);
    assert.ok(execs.runningExecIds(containerId).includes(Id));
    await until('the detached exec to exit', () => !execs.inspect(Id).Running);
    assert.equal(execs.inspect(Id).ExitCode, 0);
    assert.equal(readFileSync(join(rootfs, 'tmp', 'detached'), 'utf8'), 'marked\n');
  });

  it('reports a missing command in the stream with exit code 127', async () => {
    const { id, out } = await run(['no-such-command']);
    assert.match(demux(out).stdout, /no-such-command.*(not found|no such file)/i);
    assert.equal(execs.inspect(id).ExitCode, 127);
    const { Id } = await execs.create(target, { Cmd: ['no-such-command'] });
    await assert.rejects(execs.start(Id, { Detach: true }), (e: unknown) => isBerthError(e) && e.kind === 'invalid-parameter');
  });

  it('lists the container processes with top', async () => {
    const r = await top(target, '');
    assert.ok(r.Titles.includes('PID'));
    assert.ok(r.Processes.some((p) => p.at(-1) === '/bin/sleep 1000'), JSON.stringify(r.Processes));
    assert.equal(r.Processes.length, 1);
    const aux = await top(target, 'aux');
    assert.equal(aux.Titles[1], 'PID');
  });

  it('serves the docker CLI through the exec routes (exec, -i, -t, -it, -d, exit codes, top)', async () => {
    const socket = join(root, 'api.sock');
    const lookup = (name: string): ExecTarget => {
      if (name === 'execbox' || (name.length >= 4 && containerId.startsWith(name))) return target;
      throw notFound(`No such container: ${name}`);
    };
    const server = createApiServer({
      hosts: [`unix://${socket}`],
      logger: silentLogger(),
      routes: [
        ...systemRoutes({ version: async () => ({ version: 'test', gitCommit: '', buildTime: '', kernelVersion: '', components: [] }), info: async () => ({}) }, new EventBus()),
        // The CLI inspects the container before creating an exec.
        {
          method: 'GET',
          path: '/containers/:id/json',
          handler: async (c) => ({ kind: 'json', body: { Id: lookup(c.params.id ?? '').id, Name: '/execbox', State: { Running: true }, Config: {} } }),
        },
        ...execRoutes({ getExecTarget: lookup, execs }),
        ...topRoutes({ getExecTarget: lookup, top }),
      ],
    });
    await server.listen();
    const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(root, 'docker-config'), DOCKER_CLI_HINTS: 'false' };
    const docker = (args: string[], input?: string): ReturnType<typeof runCommand> => runCommand(dockerBin, args, env, input === undefined ? {} : { input });
    try {
      const hi = await docker(['exec', 'execbox', 'sh', '-c', 'echo hi; echo oops >&2; exit 5']);
      assert.deepEqual([hi.code, hi.stdout, hi.stderr], [5, 'hi\n', 'oops\n']);
      const piped = await docker(['exec', '-i', 'execbox', 'sh', '-c', 'cat; echo done'], 'piped line\n');
      assert.deepEqual([piped.code, piped.stdout], [0, 'piped line\ndone\n']);
      const tty = await docker(['exec', '-t', '-e', 'X=1', '-u', 'app', '-w', '/tmp', 'execbox', 'sh', '-c', 'tty; echo $X $(id -u) $(pwd)']);
      assert.equal(tty.code, 0, tty.stderr);
      assert.match(tty.stdout, /^\/dev\/pts\/\d+\r\n1 1000 \/tmp\r\n$/);
      const interactive = await runCommand('script', ['-qec', `${dockerBin} exec -it execbox sh -c 'read x; echo "got $x"; exit 3'`, '/dev/null'], env, { input: 'typed\n' });
      assert.match(interactive.stdout, /got typed\r\n/);
      assert.equal(interactive.code, 3);
      // ctrl-p ctrl-q detaches the client; the process keeps running.
      const t0 = Date.now();
      const escaped = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('script', ['-qec', `${dockerBin} exec -it execbox sh -c 'sleep 5'`, '/dev/null'], { env });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        // Typed once the CLI has put the terminal in raw mode (cooked mode would eat ^Q).
        const timer = setTimeout(() => child.stdin.write('\x10\x11'), 1000);
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
      // The CLI itself spots the keys, reports them and hangs up.
      assert.match(escaped.out, /read escape sequence/);
      assert.ok(Date.now() - t0 < 4000, 'the client left before the process ended');
      assert.ok(execs.runningExecIds(containerId).length > 0, 'the exec keeps running after its client left');
      const detached = await docker(['exec', '-d', 'execbox', 'sh', '-c', 'echo later > /tmp/cli-detached']);
      assert.deepEqual([detached.code, detached.stdout], [0, '']);
      await until('the detached exec to write', () => existsSync(join(rootfs, 'tmp', 'cli-detached')));
      const missing = await docker(['exec', 'execbox', 'no-such-command']);
      assert.equal(missing.code, 127);
      assert.match(missing.stdout + missing.stderr, /executable file not found/);
      const topOut = await docker(['top', 'execbox']);
      assert.equal(topOut.code, 0, topOut.stderr);
      assert.match(topOut.stdout, /^UID\s+PID\s+PPID/);
      assert.match(topOut.stdout, /\/bin\/sleep 1000/);
    } finally {
      await server.close();
    }
  });

  it('refuses exec in a paused or stopped container and forgets execs of a removed one', async () => {
    paused = true;
    await assert.rejects(execs.create(target, { Cmd: ['true'] }), /is paused, unpause the container before exec/);
    paused = false;
    running = false;
    await assert.rejects(execs.create(target, { Cmd: ['true'] }), new RegExp(`container ${containerId} is not running`));
    await assert.rejects(top(target, ''), /is not running/);
    running = true;
    await assert.rejects(execs.create(target, { Cmd: [] }), /No exec command specified/);
    const { Id } = await execs.create(target, { Cmd: ['true'] });
    execs.forgetContainer(containerId);
    assert.throws(() => execs.inspect(Id), /No such exec instance/);
  });
});

// The real docker CLI against bin/berthd. These need berthd to serve
// containers; until it does, they are skipped with that reason.
describe('docker exec and top through berthd', { timeout: 240_000 }, () => {
  let berthd: BerthdHandle | undefined;
  let notServed: string | false = false;

  before(async () => {
    berthd = await startBerthd();
    const probe = await berthd.api('GET', '/containers/json');
    if (probe.status === 404) {
      notServed = 'berthd does not serve /containers yet';
      return;
    }
    const tar = await busyboxRootfsTarFile(berthd.root);
    const imported = await berthd.docker(['import', tar, 'berth-exec:latest']);
    assert.equal(imported.code, 0, imported.stderr);
    const run = await berthd.docker(['run', '-d', '--name', 'box', 'berth-exec:latest', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
  });

  after(async () => {
    if (berthd === undefined) return;
    if (notServed === false) await berthd.docker(['rm', '-f', 'box']).catch(() => undefined);
    await berthd.cleanup();
  });

  function cli(name: string, fn: (d: BerthdHandle) => Promise<void>): void {
    it(name, async (t) => {
      if (notServed !== false || berthd === undefined) return t.skip(notServed || 'berthd did not start');
      await fn(berthd);
    });
  }

  cli('docker exec prints the output and exits with the command code', async (d) => {
    const hi = await d.docker(['exec', 'box', 'echo', 'hi']);
    assert.deepEqual([hi.code, hi.stdout], [0, 'hi\n']);
    const both = await d.docker(['exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.deepEqual([both.code, both.stdout, both.stderr], [7, 'out\n', 'err\n']);
  });

  cli('docker exec -e -u -w', async (d) => {
    const r = await d.docker(['exec', '-e', 'FOO=bar', '-u', 'app', '-w', '/tmp', 'box', 'sh', '-c', 'echo $FOO; id -u; pwd']);
    assert.deepEqual([r.code, r.stdout], [0, 'bar\n1000\n/tmp\n']);
  });

  cli('docker exec -i pipes stdin and ends it', async (d) => {
    const r = await d.docker(['exec', '-i', 'box', 'sh', '-c', 'cat; echo done'], { input: 'piped line\n' });
    assert.deepEqual([r.code, r.stdout], [0, 'piped line\ndone\n']);
  });

  cli('docker exec -t gives a terminal, raw output', async (d) => {
    const r = await d.docker(['exec', '-t', 'box', 'sh', '-c', 'tty; echo $TERM']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r\nxterm\r\n$/);
  });

  cli('docker exec -it under a pseudo-terminal', async (d) => {
    // script(1) gives the CLI the terminal it insists on for -it.
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile('script', ['-qec', `${dockerBin} exec -it box sh -c 'echo interactive; exit 3'`, '/dev/null'], { env: d.env, timeout: 30_000 }, (err, stdout) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout });
      });
      child.stdin?.end();
    });
    assert.match(r.out, /interactive\r\n/);
    assert.equal(r.code, 3);
  });

  cli('docker exec -d returns at once; the command still runs', async (d) => {
    const r = await d.docker(['exec', '-d', 'box', 'sh', '-c', 'sleep 0.3; echo later > /tmp/detached']);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    await until('the detached exec to write its file', async () => (await d.docker(['exec', 'box', 'cat', '/tmp/detached'])).stdout === 'later\n');
  });

  cli('a missing command exits 127 with the runtime error', async (d) => {
    const r = await d.docker(['exec', 'box', 'no-such-command']);
    assert.equal(r.code, 127);
    assert.match(r.stdout + r.stderr, /executable file not found/);
  });

  cli('docker top lists the container processes', async (d) => {
    const r = await d.docker(['top', 'box']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^UID\s+PID\s+PPID/);
    assert.match(r.stdout, /sleep 1000/);
    const aux = await d.docker(['top', 'box', 'aux']);
    assert.match(aux.stdout, /^USER\s+PID/);
  });

  cli('exec in a stopped container is a 409', async (d) => {
    assert.equal((await d.docker(['run', '--name', 'stopped', 'berth-exec:latest', 'true'])).code, 0);
    const r = await d.docker(['exec', 'stopped', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is not running/);
    await d.docker(['rm', '-f', 'stopped']);
  });
});
