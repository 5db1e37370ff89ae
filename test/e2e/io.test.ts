// Process I/O with a real shim: containers created directly with the
// containerd client, their FIFOs and json-file log from openProcessIO, a client
// attached before start (as `docker run -a` does), stdin through the FIFO and
// CloseIO, TTY output, and `docker logs`-style reads including follow.
import assert from 'node:assert/strict';
import { memoryConnection, demux } from '../helpers/connections.js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  connectContainerd,
  jsonAny,
  OCI_SPEC_TYPE_URL,
  startManagedContainerd,
  type ContainerdClient,
  type ManagedContainerd,
} from '../../src/containerd/index.js';
import { decodeLogEntry, openProcessIO, readLogs, type LogReadOptions, type ProcessIO } from '../../src/daemon/io/index.js';
import { silentLogger } from '../../src/log/index.js';
import { busyboxRootfsTar } from '../fixtures/images.js';
import { removeTestRoot } from '../helpers/berthd.js';

const NS = 'berth-io-e2e';



async function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const logDefaults: LogReadOptions = { stdout: true, stderr: true, follow: false, tail: 'all', since: 0, until: 0, timestamps: false, multiplexed: false };

describe('process I/O with a real shim', { timeout: 120_000 }, () => {
  const root = execFileSync('mktemp', ['-d', '/tmp/berth-io-XXXXXX']).toString().trim();
  const rootfs = join(root, 'rootfs');
  const cgroups: string[] = [];
  const containers: string[] = [];
  const ios: ProcessIO[] = [];
  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient;

  before(async () => {
    mkdirSync(rootfs);
    writeFileSync(join(root, 'rootfs.tar'), await busyboxRootfsTar());
    execFileSync('tar', ['-xf', join(root, 'rootfs.tar'), '-C', rootfs]);
    managed = await startManagedContainerd({ dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), debug: false, logger: silentLogger() });
    client = connectContainerd(managed.address, NS);
    await client.ensureNamespace(NS);
  });

  after(async () => {
    try {
      await Promise.all(ios.map((io) => io.close().catch(() => undefined)));
      if (client !== undefined) {
        for (const id of containers) {
          await client.tasks.kill(id, 9, { all: true }).catch(() => undefined);
          await client.tasks.delete(id).catch(() => undefined);
          await client.containers.delete(id).catch(() => undefined);
        }
        client.close();
      }
      await managed?.stop(5_000).catch(() => undefined);
    } finally {
      await removeTestRoot(root, cgroups);
    }
  });

  /** Create a container whose init runs `args`, with I/O from openProcessIO; start it after `beforeStart`. */
  async function runContainer(
    args: string[],
    opts: { tty: boolean; stdin: boolean },
    beforeStart: (io: ProcessIO) => void,
  ): Promise<{ id: string; io: ProcessIO; logPath: string; exit: Promise<number> }> {
    const id = randomBytes(32).toString('hex');
    const cgroup = `berth-io-e2e-${id.slice(0, 8)}`;
    cgroups.push(cgroup);
    const logPath = join(root, 'containers', id, `${id}-json.log`);
    let markStarted!: () => void;
    const started = new Promise<void>((r) => (markStarted = r));
    const io = await openProcessIO(
      {
        dir: join(root, 'run', id),
        prefix: 'init',
        openStdin: opts.stdin,
        stdinOnce: true,
        tty: opts.tty,
        logPath,
        onStdinClosed: () => void started.then(() => client.tasks.closeIO(id).catch(() => undefined)),
      },
      silentLogger(),
    );
    ios.push(io);
    const spec = {
      ociVersion: '1.0.2',
      process: { terminal: opts.tty, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
      root: { path: rootfs, readonly: false },
      hostname: 'iobox',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }], cgroupsPath: `/${cgroup}` },
    };
    await client.containers.create({
      id,
      labels: {},
      image: '',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: jsonAny(OCI_SPEC_TYPE_URL, spec),
      snapshotter: '',
      snapshotKey: '',
    });
    containers.push(id);
    beforeStart(io);
    await client.tasks.create({ containerId: id, rootfs: [], stdin: io.fifos.stdin, stdout: io.fifos.stdout, stderr: io.fifos.stderr, terminal: opts.tty });
    const exit = client.tasks.wait(id).then((e) => e.exitStatus);
    await client.tasks.start(id);
    markStarted();
    return { id, io, logPath, exit };
  }

  it('attached before start: stdin in, stdout and stderr framed out, EOF on input end, json-file log', async () => {
    const c = memoryConnection();
    let attached: Promise<void> | undefined;
    const { id, io, logPath, exit } = await runContainer(['sh', '-c', 'echo out1; echo err1 >&2; read line; echo "got $line"; cat; printf partial'], { tty: false, stdin: true }, (io) => {
      attached = io.attach(c.conn, { stdin: true, stdout: true, stderr: true, logs: false, stream: true });
    });
    c.input.write('hello\n');
    c.input.end('rest of input\n');
    assert.equal(await exit, 0);
    await attached;
    await c.closed;
    assert.deepEqual(demux(c.output()), { stdout: 'out1\ngot hello\nrest of input\npartial', stderr: 'err1\n' });
    await io.drained();
    const entries = readFileSync(logPath, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => decodeLogEntry(l));
    assert.deepEqual(
      entries.map((e) => `${e?.stream}:${e?.text}`).sort(),
      ['stdout:out1\n', 'stderr:err1\n', 'stdout:got hello\n', 'stdout:rest of input\n', 'stdout:partial'].sort(),
    );
    // --tail counts the file's last entries of both streams, as dockerd's; where
    // err1 landed among the stdout lines depends on which pipe was read first.
    const lastStdout = entries.slice(-2).filter((e) => e?.stream === 'stdout').map((e) => e?.text).join('');
    assert.equal(await collect(readLogs(logPath, { ...logDefaults, stderr: false, tail: 2 })), lastStdout);
    const stamped = await collect(readLogs(logPath, { ...logDefaults, stdout: false, timestamps: true }));
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z err1\n$/);
    await io.close();
    assert.deepEqual(readdirSync(join(root, 'run', id)), [], 'close removes the FIFOs');
  });

  it('TTY: one raw stream, logged as stdout; a follower ends when the output has drained', async () => {
    const c = memoryConnection();
    let attached: Promise<void> | undefined;
    const { io, logPath, exit } = await runContainer(['sh', '-c', 'echo tty-out; sleep 0.2; echo tty-err >&2'], { tty: true, stdin: false }, (io) => {
      attached = io.attach(c.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    });
    const follow = collect(readLogs(logPath, { ...logDefaults, follow: true, ended: io.drained() }));
    assert.equal(await exit, 0);
    await attached;
    assert.equal(c.output().toString(), 'tty-out\r\ntty-err\r\n');
    assert.equal(await follow, 'tty-out\r\ntty-err\r\n');
    const replay = memoryConnection();
    await io.attach(replay.conn, { stdin: false, stdout: true, stderr: true, logs: true, stream: true });
    assert.equal(replay.output().toString(), 'tty-out\r\ntty-err\r\n', 'logs replay after the process ended, then the stream closes');
    assert.equal(io.fifos.stderr, '');
  });
});
