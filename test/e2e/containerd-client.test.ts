// The containerd client and the managed-containerd supervisor against a real
// containerd 1.6 started in a temporary root: content, layers, images,
// containers, tasks with FIFO output, events, a crash and restart, and stop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync, constants as fsc } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import {
  OCI_PROCESS_TYPE_URL,
  OCI_SPEC_TYPE_URL,
  connectContainerd,
  jsonAny,
  startManagedContainerd,
  waitForContainerd,
  type ContainerdClient,
  type ContainerdEvent,
  type ManagedContainerd,
  type Mount,
  type TaskEventPayload,
} from '../../src/containerd/index.js';
import { ingestThroughFile } from '../../src/containerd/content-direct.js';
import { Connection, Rpc } from '../../src/containerd/connection.js';
import { isBerthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/index.js';
import { until } from '../helpers/berthd.js';

const NS = 'berth-e2e';
const SNAPSHOTTER = 'overlayfs';
const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function rejectsWithKind(p: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isBerthError(err), `expected a BerthError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.doesNotMatch(err.message, /^\d+ [A-Z_]+:/);
    return true;
  });
}

/** A one-layer busybox rootfs: /bin/busybox, and /bin/sh, sleep, echo → busybox. */
async function busyboxLayer(): Promise<Buffer> {
  const busybox = readFileSync('/usr/bin/busybox');
  const p = pack();
  const mtime = new Date('2024-01-01T00:00:00Z');
  p.entry({ name: 'bin/', type: 'directory', mode: 0o755, mtime });
  p.entry({ name: 'bin/busybox', mode: 0o755, size: busybox.length, mtime }, busybox);
  for (const applet of ['sh', 'sleep', 'echo']) {
    p.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
  }
  p.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of p) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function ociSpec(args: string[], cgroupsPath: string): object {
  return {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/', noNewPrivileges: true },
    root: { path: 'rootfs', readonly: false },
    hostname: 'berth-e2e',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      cgroupsPath,
    },
  };
}

/** Reads a FIFO without blocking: O_RDWR keeps the open from waiting for a writer. */
function fifoReader(path: string): { socket: Socket; text: () => string } {
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  const socket = new Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  return { socket, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Processes whose command line names the temporary root: containerd and its shims. */
function processesUnder(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(root)) pids.push(pid);
    } catch {
      // Gone already.
    }
  }
  return pids;
}

function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mp) => mp === root || mp.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

function cgroupDirs(names: string[]): string[] {
  const hierarchies = existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : [];
  return hierarchies.flatMap((h) => names.map((n) => join('/sys/fs/cgroup', h, n))).filter((d) => existsSync(d));
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Stops supervisors and kills what still runs from the root: container
 * processes (found by their cgroups, as they outlive a killed shim), shims and
 * containerd; then unmounts, removes the root and the cgroups.
 */
async function cleanUp(root: string, supervisors: ManagedContainerd[], cgroups: string[] = []): Promise<void> {
  const pids = supervisors.map((m) => m.pid);
  for (const m of supervisors) await m.stop(5_000).catch(() => undefined);
  for (const dir of cgroupDirs(cgroups)) {
    const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
    killAll(procs.split('\n').filter((l) => l !== '').map(Number));
  }
  killAll([...processesUnder(root), ...pids.filter(alive)]);
  for (const mp of mountsUnder(root)) {
    try {
      execFileSync('umount', [mp], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
    }
  }
  rmSync(root, { recursive: true, force: true });
  for (const dir of cgroupDirs(cgroups)) {
    // A killed process leaves its cgroup a moment later.
    for (let attempt = 0; existsSync(dir); attempt++) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if (attempt >= 50) throw err;
        await sleep(100);
      }
    }
  }
}

describe('containerd client on a managed containerd', { timeout: 180_000 }, () => {
  const root = mkdtempSync('/tmp/berth-ctd-');
  const cgroupName = `berth-e2e-${randomBytes(4).toString('hex')}`;
  const containerId = `c-${randomBytes(4).toString('hex')}`;
  const sleeperId = `s-${randomBytes(4).toString('hex')}`;
  const sleeperKey = `${sleeperId}-rw`;
  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient;
  const events: ContainerdEvent[] = [];
  let eventsEnded: { err?: Error } | undefined;
  let closeEvents = (): void => undefined;
  const restarts: number[] = [];
  const fifos: Socket[] = [];

  // Shared between steps.
  let layerDigest = '';
  let layerSize = 0;
  let leaseId = '';
  let leased: ContainerdClient;
  let rwMounts: Mount[] = [];
  const layerSnapshot = `layer-${randomBytes(4).toString('hex')}`;
  const rwKey = `${containerId}-rw`;
  const imageName = `docker.io/berth/e2e-${randomBytes(3).toString('hex')}:latest`;

  before(async () => {
    managed = await startManagedContainerd({
      dataRoot: join(root, 'data'),
      execRoot: join(root, 'exec'),
      debug: false,
      logger: silentLogger(),
    });
    managed.on('restart', (info) => restarts.push(info.pid));
    client = connectContainerd(managed.address, NS);
    const sub = client.events.subscribe(
      ['topic~="/tasks/"'],
      (e) => events.push(e),
      (err) => {
        eventsEnded = err === undefined ? {} : { err };
      },
    );
    closeEvents = () => sub.close();
  });

  after(async () => {
    closeEvents();
    for (const s of fifos) s.destroy();
    client?.close();
    await cleanUp(root, managed === undefined ? [] : [managed], [cgroupName, `${cgroupName}-s`]);
  });

  test('writes its config under the exec root and a pidfile; version answers', async () => {
    assert.ok(managed);
    const config = readFileSync(join(root, 'exec/containerd/containerd.toml'), 'utf8');
    assert.match(config, /^version = 2$/m);
    assert.match(config, new RegExp(`^root = "${root}/data/containerd"$`, 'm'));
    assert.match(config, /io\.containerd\.grpc\.v1\.cri/);
    assert.equal(managed.address, join(root, 'exec/containerd/containerd.sock'));
    assert.equal(readFileSync(join(root, 'exec/containerd/containerd.pid'), 'utf8').trim(), String(managed.pid));
    const v = await client.version();
    assert.match(v.version, /^1\.6\./);
    const again = await waitForContainerd(`unix://${managed.address}`, 5_000);
    assert.equal(again.version, v.version);
  });

  test('ensureNamespace is idempotent', async () => {
    await client.ensureNamespace(NS, { 'berth.test': 'yes' });
    await client.ensureNamespace(NS);
  });

  test('content: write a buffer and a stream, then info, read, list, delete', async () => {
    // Unreferenced content is garbage-collected within moments: work under a lease.
    const lease = await client.leases.create();
    const lc = client.withLease(lease.id);
    const small = Buffer.from('berth content store\n');
    const smallDigest = sha256(small);
    await lc.content.write(`ref-${smallDigest}`, small, { digest: smallDigest, size: small.length }, { 'berth.test': 'a' });
    // Writing it again is a no-op that still applies the new labels.
    await lc.content.write(`ref2-${smallDigest}`, small, { digest: smallDigest, size: small.length }, { 'berth.test/b': 'b' });
    const info = await lc.content.info(smallDigest);
    assert.equal(info.size, small.length);
    assert.deepEqual(info.labels, { 'berth.test': 'a', 'berth.test/b': 'b' });
    assert.ok(info.createdAt instanceof Date);
    assert.deepEqual(await lc.content.readAll(smallDigest), small);

    // Larger than one write chunk, from a stream of odd-sized pieces, size unknown.
    const big = randomBytes(3 * 1024 * 1024 + 12345);
    const bigDigest = sha256(big);
    const pieces = Array.from({ length: Math.ceil(big.length / 70_001) }, (_, i) => big.subarray(i * 70_001, (i + 1) * 70_001));
    await lc.content.write(`ref-${bigDigest}`, Readable.from(pieces), { digest: bigDigest, size: -1 });
    const parts: Buffer[] = [];
    for await (const chunk of lc.content.read(bigDigest)) parts.push(chunk as Buffer);
    assert.ok(Buffer.concat(parts).equals(big));

    // Concurrent writers of one blob, two of them on the same ref, all succeed.
    const shared = randomBytes(2 * 1024 * 1024);
    const sharedDigest = sha256(shared);
    const expected = { digest: sharedDigest, size: shared.length };
    await Promise.all([
      lc.content.write('same-ref', shared, expected),
      lc.content.write('same-ref', shared, expected),
      lc.content.write('other-ref', Readable.from([shared.subarray(0, 1000), shared.subarray(1000)]), expected),
    ]);
    assert.ok((await lc.content.readAll(sharedDigest)).equals(shared));
    await lc.content.delete(sharedDigest);

    const listed = await lc.content.list();
    assert.ok(listed.some((i) => i.digest === bigDigest && i.size === big.length));
    const filtered = await lc.content.list([`labels."berth.test"==a`]);
    assert.deepEqual(
      filtered.map((i) => i.digest),
      [smallDigest],
    );

    const updated = await lc.content.update({ digest: smallDigest, size: 0, labels: { 'berth.test': 'c' } }, ['labels.berth.test']);
    assert.equal(updated.labels['berth.test'], 'c');

    // A wrong digest is refused and leaves nothing behind.
    await assert.rejects(lc.content.write('ref-bad', Buffer.from('x'), { digest: smallDigest.replace(/.$/, '0'), size: 1 }));

    await lc.content.delete(smallDigest);
    await lc.content.delete(bigDigest);
    await rejectsWithKind(lc.content.info(smallDigest), 'not-found');
    await rejectsWithKind(lc.content.readAll(bigDigest), 'not-found');
    await client.leases.delete(lease.id);
  });

  test('ingest through the content folder: linked into blobs/, committed with labels; another namespace shares it; a folder containerd does not see falls back to the Write stream', async () => {
    const contentRoot = join(root, 'data/containerd/io.containerd.content.v1.content');
    const lease = await client.leases.create();
    const lc = client.withLease(lease.id);
    const data = randomBytes(2 * 1024 * 1024 + 333);
    const expected = { digest: sha256(data), size: data.length };
    const hex = expected.digest.slice(7);
    const opened: number[] = [];
    const source = async (offset: number) => {
      opened.push(offset);
      return { offset, stream: Readable.from([data.subarray(offset, offset + 1_000_000), data.subarray(offset + 1_000_000)]) };
    };
    assert.equal(await lc.content.ingest(`layer-${expected.digest}`, expected, { 'berth.test': 'direct' }, source), 'written');
    assert.deepEqual(opened, [0]);
    const blob = join(contentRoot, 'blobs/sha256', hex);
    assert.ok(readFileSync(blob).equals(data));
    assert.equal(statSync(blob).mode & 0o777, 0o444);
    assert.deepEqual(readdirSync(join(contentRoot, 'berth-ingest')), []);
    assert.equal((await lc.content.info(expected.digest)).labels['berth.test'], 'direct');
    assert.ok((await lc.content.readAll(expected.digest)).equals(data));
    // Again in this namespace: already there.
    assert.equal(await lc.content.ingest(`layer-${expected.digest}`, expected, {}, source), 'exists');

    // Another namespace finds the blob in the store: nothing downloaded.
    const other = client.withNamespace(`${NS}-2`);
    const lease2 = await other.leases.create();
    const lc2 = other.withLease(lease2.id);
    assert.equal(await lc2.content.ingest(`layer-${expected.digest}`, expected, undefined, source), 'written');
    assert.deepEqual(opened, [0]);
    assert.ok((await lc2.content.readAll(expected.digest)).equals(data));

    // A folder containerd does not look at: the blob reaches it over the Write stream, from the partial file.
    const decoy = mkdtempSync('/tmp/berth-decoy-');
    try {
      const data3 = randomBytes(1024 * 1024 + 7);
      const exp3 = { digest: sha256(data3), size: data3.length };
      const rpc = new Rpc(new Connection(managed!.address), { namespace: NS, lease: lease.id });
      const got: number[] = [];
      const src3 = async (offset: number) => {
        got.push(offset);
        return { offset, stream: Readable.from([data3.subarray(offset)]) };
      };
      const decoyBlob = join(decoy, 'blob');
      const decoyPartial = join(decoy, 'partial');
      assert.equal(await ingestThroughFile(rpc, { ref: `direct-${exp3.digest}`, expected: exp3, labels: { 'berth.test': 'fallback' }, open: src3 }, decoyBlob, decoyPartial), 'written');
      assert.deepEqual(got, [0]);
      assert.equal(existsSync(decoyBlob), false);
      assert.equal(existsSync(decoyPartial), false);
      assert.ok((await lc.content.readAll(exp3.digest)).equals(data3));
      assert.equal((await lc.content.info(exp3.digest)).labels['berth.test'], 'fallback');
      rpc.conn.close();
      await lc.content.delete(exp3.digest);
    } finally {
      rmSync(decoy, { recursive: true, force: true });
    }
    await lc2.content.delete(expected.digest);
    await lc.content.delete(expected.digest);
    await other.leases.delete(lease2.id);
    await client.leases.delete(lease.id);
  });

  test('a layer blob is unpacked into an overlayfs snapshot under a lease', async () => {
    leaseId = (await client.leases.create(undefined, { 'berth.test': 'layer' })).id;
    leased = client.withLease(leaseId);
    const layer = await busyboxLayer();
    layerDigest = sha256(layer);
    layerSize = layer.length;
    await leased.content.write(`layer-${layerDigest}`, layer, { digest: layerDigest, size: layer.length });

    const extractKey = `extract-${layerSnapshot}`;
    const mounts = await leased.snapshots.prepare(SNAPSHOTTER, extractKey, '');
    assert.ok(mounts.length > 0);
    const applied = await leased.diff.apply({ mediaType: LAYER_MEDIA_TYPE, digest: layerDigest, size: layerSize }, mounts);
    assert.equal(applied.digest, layerDigest);
    await leased.snapshots.commit(SNAPSHOTTER, layerSnapshot, extractKey, { 'containerd.io/snapshot.ref': layerSnapshot });
    const st = await client.snapshots.stat(SNAPSHOTTER, layerSnapshot);
    assert.equal(st.kind, 'committed');
    await rejectsWithKind(client.snapshots.stat(SNAPSHOTTER, extractKey), 'not-found');

    rwMounts = await leased.snapshots.prepare(SNAPSHOTTER, rwKey, layerSnapshot);
    assert.equal(rwMounts[0]?.type, 'overlay');
    assert.deepEqual(await client.snapshots.mounts(SNAPSHOTTER, rwKey), rwMounts);
    const names = (await client.snapshots.list(SNAPSHOTTER)).map((s) => `${s.name}:${s.kind}:${s.parent}`);
    assert.ok(names.includes(`${rwKey}:active:${layerSnapshot}`), names.join(' '));
  });

  test('images: create, get, list, update, delete', async () => {
    const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: layerDigest, size: layerSize };
    const created = await client.images.create({ name: imageName, labels: { 'berth.test': '1' }, target });
    assert.equal(created.name, imageName);
    assert.deepEqual(created.target, target);
    assert.ok(created.createdAt instanceof Date);
    await rejectsWithKind(client.images.create({ name: imageName, labels: {}, target }), 'conflict');
    assert.equal((await client.images.get(imageName)).labels['berth.test'], '1');
    assert.ok((await client.images.list()).some((i) => i.name === imageName));
    assert.equal((await client.images.list([`name==${imageName}`])).length, 1);
    const updated = await client.images.update({ name: imageName, labels: { 'berth.test': '2' }, target }, ['labels']);
    assert.equal(updated.labels['berth.test'], '2');
    await client.images.delete(imageName, true);
    await rejectsWithKind(client.images.get(imageName), 'not-found');
    await rejectsWithKind(client.images.create({ name: '', labels: {}, target }), 'invalid-parameter');
  });

  test('a container runs a task whose exit, output and events are seen', async () => {
    const spec = ociSpec(['/bin/sh', '-c', 'echo hi; echo oops >&2; exit 3'], `/${cgroupName}`);
    const record = await client.containers.create({
      id: containerId,
      labels: { 'berth.test': 'task' },
      image: imageName,
      runtime: { name: 'io.containerd.runc.v2' },
      spec: jsonAny(OCI_SPEC_TYPE_URL, spec),
      snapshotter: SNAPSHOTTER,
      snapshotKey: rwKey,
    });
    assert.equal(record.id, containerId);
    assert.equal(record.runtime.name, 'io.containerd.runc.v2');
    assert.equal(record.spec?.typeUrl, OCI_SPEC_TYPE_URL);
    assert.deepEqual(JSON.parse(record.spec?.value.toString() ?? '{}'), spec);
    const got = await client.containers.get(containerId);
    assert.equal(got.snapshotKey, rwKey);
    assert.ok((await client.containers.list()).some((c) => c.id === containerId));
    assert.equal((await client.containers.list([`labels."berth.test"==task`])).length, 1);
    const updated = await client.containers.update({ ...got, labels: { ...got.labels, extra: 'x' } }, ['labels.extra']);
    assert.equal(updated.labels.extra, 'x');
    await rejectsWithKind(client.containers.create(record), 'conflict');
    // The client of another namespace does not see it.
    await rejectsWithKind(client.withNamespace('berth-e2e-other').containers.get(containerId), 'not-found');

    const out = fifoReader(join(root, 'stdout'));
    const err = fifoReader(join(root, 'stderr'));
    fifos.push(out.socket, err.socket);
    const created = await client.tasks.create({
      containerId,
      rootfs: rwMounts,
      stdin: '',
      stdout: join(root, 'stdout'),
      stderr: join(root, 'stderr'),
      terminal: false,
    });
    assert.ok(created.pid > 0);
    assert.equal((await client.tasks.get(containerId)).status, 'created');
    const waited = client.tasks.wait(containerId);
    const started = await client.tasks.start(containerId);
    assert.equal(started.pid, created.pid);

    const exit = await waited;
    assert.equal(exit.exitStatus, 3);
    assert.ok(exit.exitedAt instanceof Date);
    await until('the output', () => out.text() === 'hi\n' && err.text() === 'oops\n');
    const proc = await client.tasks.get(containerId);
    assert.equal(proc.status, 'stopped');
    assert.equal(proc.exitStatus, 3);

    await until('the /tasks/exit event', () => events.some((e) => e.topic === '/tasks/exit'));
    const exitEvent = events.find((e) => e.topic === '/tasks/exit');
    assert.equal(exitEvent?.namespace, NS);
    const payload = exitEvent?.event as TaskEventPayload;
    assert.equal(payload.containerId, containerId);
    assert.equal(payload.exitStatus, 3);
    assert.equal(payload.pid, created.pid);
    assert.ok(payload.exitedAt instanceof Date);
    const start = events.find((e) => e.topic === '/tasks/start')?.event as TaskEventPayload | undefined;
    assert.equal(start?.pid, created.pid);

    const deleted = await client.tasks.delete(containerId);
    assert.equal(deleted.exitStatus, 3);
    await rejectsWithKind(client.tasks.get(containerId), 'not-found');
    await until('the /tasks/delete event', () => events.some((e) => e.topic === '/tasks/delete'));
    await client.containers.delete(containerId);
    await rejectsWithKind(client.containers.get(containerId), 'not-found');
  });

  test('a long-running task: pids, exec, pause and resume', async () => {
    const mounts = await leased.snapshots.prepare(SNAPSHOTTER, sleeperKey, layerSnapshot);
    await client.containers.create({
      id: sleeperId,
      labels: {},
      image: imageName,
      runtime: { name: 'io.containerd.runc.v2' },
      spec: jsonAny(OCI_SPEC_TYPE_URL, ociSpec(['/bin/sleep', '600'], `/${cgroupName}-s`)),
      snapshotter: SNAPSHOTTER,
      snapshotKey: sleeperKey,
    });
    const { pid } = await client.tasks.create({ containerId: sleeperId, rootfs: mounts, stdin: '', stdout: '', stderr: '', terminal: false });
    await client.tasks.start(sleeperId);
    assert.equal((await client.tasks.get(sleeperId)).status, 'running');
    assert.deepEqual(await client.tasks.listPids(sleeperId), [pid]);
    assert.ok((await client.tasks.list()).some((t) => t.containerId === sleeperId && t.pid === pid));

    // The runc shim needs both output paths once one is given.
    const out = fifoReader(join(root, 'exec-stdout'));
    const errOut = fifoReader(join(root, 'exec-stderr'));
    fifos.push(out.socket, errOut.socket);
    const processSpec = { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/echo', 'from exec'], env: ['PATH=/bin'], cwd: '/' };
    await client.tasks.exec({
      containerId: sleeperId,
      execId: 'e1',
      stdin: '',
      stdout: join(root, 'exec-stdout'),
      stderr: join(root, 'exec-stderr'),
      terminal: false,
      spec: jsonAny(OCI_PROCESS_TYPE_URL, processSpec),
    });
    const execExit = client.tasks.wait(sleeperId, 'e1');
    const execStart = await client.tasks.start(sleeperId, 'e1');
    assert.ok(execStart.pid > 0);
    assert.equal((await execExit).exitStatus, 0);
    await until('the exec output', () => out.text() === 'from exec\n');
    const execInfo = await client.tasks.get(sleeperId, 'e1');
    assert.deepEqual([execInfo.id, execInfo.containerId, execInfo.status], ['e1', sleeperId, 'stopped']);
    assert.equal((await client.tasks.deleteProcess(sleeperId, 'e1')).exitStatus, 0);
    await until('the exec events', () => events.some((e) => e.topic === '/tasks/exec-started' && (e.event as TaskEventPayload).execId === 'e1'));

    await client.tasks.pause(sleeperId);
    assert.equal((await client.tasks.get(sleeperId)).status, 'paused');
    await client.tasks.resume(sleeperId);
    assert.equal((await client.tasks.get(sleeperId)).status, 'running');
    await rejectsWithKind(client.tasks.start(sleeperId, 'no-such-exec'), 'not-found');
  });

  test('containerd killed with SIGKILL is restarted and the client reconnects', async () => {
    assert.ok(managed);
    const before = managed.pid;
    const exits: boolean[] = [];
    managed.on('exit', (e) => exits.push(e.expected));
    process.kill(before, 'SIGKILL');
    await until('containerd to be gone', () => !alive(before));
    await rejectsWithKind(client.version(), 'unavailable');
    await until('the restart', () => restarts.length === 1, 20_000);
    assert.notEqual(managed.pid, before);
    assert.equal(managed.restarts, 1);
    assert.deepEqual(exits, [false]);
    assert.equal(readFileSync(join(root, 'exec/containerd/containerd.pid'), 'utf8').trim(), String(managed.pid));
    await client.waitReady(5_000);
    assert.match((await client.version()).version, /^1\.6\./);
    // The event stream ended with the old containerd; resubscribing is the caller's job.
    await until('the end of the event stream', () => eventsEnded !== undefined);
    assert.equal(isBerthError(eventsEnded?.err) ? eventsEnded.err.kind : undefined, 'unavailable');
  });

  test('the task survived the restart and is still manageable', async () => {
    assert.equal((await client.tasks.get(sleeperId)).status, 'running');
    const exited = client.tasks.wait(sleeperId);
    await client.tasks.kill(sleeperId, 9);
    assert.equal((await exited).exitStatus, 137);
    await client.tasks.delete(sleeperId);
    await client.containers.delete(sleeperId);
  });

  test('snapshots and the lease are removed', async () => {
    for (const key of [rwKey, sleeperKey]) {
      await client.snapshots.remove(SNAPSHOTTER, key);
      await rejectsWithKind(client.snapshots.stat(SNAPSHOTTER, key), 'not-found');
    }
    await client.snapshots.remove(SNAPSHOTTER, layerSnapshot);
    await client.leases.delete(leaseId, true);
    await rejectsWithKind(client.content.info(layerDigest), 'not-found');
    assert.deepEqual(mountsUnder(root), []);
  });

  test('stop() terminates containerd for good', async () => {
    assert.ok(managed);
    const pid = managed.pid;
    await managed.stop(5_000);
    assert.equal(alive(pid), false);
    assert.equal(existsSync(join(root, 'exec/containerd/containerd.pid')), false);
    await sleep(300);
    assert.equal(restarts.length, 1, 'no restart after stop');
    await rejectsWithKind(client.version(), 'unavailable');
  });
});

describe('managed containerd supervision', { timeout: 120_000 }, () => {
  const root = mkdtempSync('/tmp/berth-ctd-');
  const supervisors: ManagedContainerd[] = [];
  const opts = { dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), debug: true, logger: silentLogger() };
  const pidFile = join(root, 'exec/containerd/containerd.pid');

  after(() => cleanUp(root, supervisors));

  test('a containerd left running by an earlier berthd is adopted, watched and restarted', async () => {
    const first = await startManagedContainerd(opts);
    supervisors.push(first);
    assert.equal(first.adopted, false);
    // As if berthd had been SIGKILLed: containerd keeps running.
    first.detach();
    assert.ok(alive(first.pid));

    // Without our pidfile, a containerd on our socket is someone else's: refuse to start a second one.
    rmSync(pidFile);
    await assert.rejects(startManagedContainerd(opts), (err: unknown) => {
      assert.ok(isBerthError(err));
      assert.equal(err.kind, 'conflict');
      assert.match(err.message, /already serves .*containerd\.sock; stop it, or use it with --containerd/);
      return true;
    });
    assert.ok(alive(first.pid));

    writeFileSync(pidFile, `${first.pid}\n`);
    const second = await startManagedContainerd(opts);
    supervisors.push(second);
    assert.equal(second.pid, first.pid);
    assert.equal(second.adopted, true);
    const client = connectContainerd(second.address, NS);
    try {
      assert.match((await client.version()).version, /^1\.6\./);
      const restarted = new Promise<number>((resolve) => second.on('restart', (info) => resolve(info.pid)));
      process.kill(second.pid, 'SIGKILL');
      const newPid = await restarted;
      assert.notEqual(newPid, first.pid);
      assert.equal(second.adopted, false);
      assert.equal(readFileSync(pidFile, 'utf8').trim(), String(newPid));
      await client.waitReady(5_000);
      await second.stop();
      assert.equal(alive(newPid), false);
    } finally {
      client.close();
    }
  });

  test('a missing binary is a clear error', async () => {
    await assert.rejects(startManagedContainerd({ ...opts, binary: join(root, 'no-such-containerd') }), (err: unknown) => {
      assert.ok(isBerthError(err));
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /cannot run containerd binary '.*no-such-containerd': .*ENOENT.*install containerd/);
      return true;
    });
  });

  test('a containerd that exits at start is reported with its output', async () => {
    const fake = join(root, 'exits');
    writeFileSync(fake, '#!/bin/sh\necho \'time="t" level=fatal msg="bad config"\' >&2\nexit 7\n', { mode: 0o755 });
    await assert.rejects(startManagedContainerd({ ...opts, binary: fake }), (err: unknown) => {
      assert.ok(isBerthError(err));
      assert.match(err.message, /exited with code 7 before answering on .*containerd\.sock; its last output:\n.*bad config/);
      return true;
    });
    assert.equal(existsSync(pidFile), false);
  });

  test('a containerd that never answers is killed after the start timeout', async () => {
    const fake = join(root, 'hangs');
    // Keeps --config in its command line, as containerd would, and never opens the socket.
    writeFileSync(fake, `#!/bin/sh\nexec '${process.execPath}' -e 'setTimeout(() => {}, 600000)' -- "$@"\n`, { mode: 0o755 });
    const startedAt = Date.now();
    await assert.rejects(startManagedContainerd({ ...opts, binary: fake, startTimeoutMs: 700 }), (err: unknown) => {
      assert.ok(isBerthError(err));
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /did not become ready: no answer on .*containerd\.sock within 700 ms/);
      return true;
    });
    assert.ok(Date.now() - startedAt < 10_000);
    await until('the hung process to be killed', () => processesUnder(root).length === 0);
    assert.equal(existsSync(pidFile), false);
  });
});
