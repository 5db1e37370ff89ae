// The image service against a real managed containerd 1.6: import, load
// (docker save and OCI, gzip), unpacked snapshots, tag/rmi, GC of deleted
// images, save → load round trip. Then, when bin/berthd can serve images,
// the same through the real docker CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  connectContainerd,
  startManagedContainerd,
  type ContainerdClient,
  type ManagedContainerd,
  type Mount,
} from '../../src/containerd/index.js';
import { chainIds, ImageService } from '../../src/daemon/images/index.js';
import { isBerthError } from '../../src/errors/index.js';
import { EventBus, type EngineEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/log/index.js';
import { startBerthd, type BerthdHandle } from '../helpers/berthd.js';
import {
  buildFixtureImage,
  busyboxRootfsTar,
  busyboxRootfsTarFile,
  dockerSaveArchive,
  dockerSaveArchiveFile,
  fixtureImageId,
  ociLayoutArchive,
  ociLayoutArchiveFile,
} from '../fixtures/images.js';

const NS = 'berth-images-e2e';
const SNAPSHOTTER = 'overlayfs';

const stream = (b: Buffer): Readable => Readable.from([b]);

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((mp) => mp === root || mp.startsWith(`${root}/`))
    .reverse();
}

function unmountAll(root: string): void {
  for (const mp of mountsUnder(root)) {
    try {
      execFileSync('umount', [mp], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
    }
  }
}

function mountRootfs(mounts: Mount[], target: string): void {
  mkdirSync(target, { recursive: true });
  for (const m of mounts) {
    const args = m.type === 'bind' ? ['--bind', m.source, target] : ['-t', m.type, m.source, target];
    const options = m.options.filter((o) => o !== 'rbind' && o !== 'bind');
    if (options.length) args.push('-o', options.join(','));
    execFileSync('mount', args, { stdio: 'pipe' });
  }
}

async function gone(what: () => Promise<unknown>): Promise<boolean> {
  try {
    await what();
    return false;
  } catch (err) {
    if (isBerthError(err) && err.kind === 'not-found') return true;
    throw err;
  }
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('image service on a managed containerd', { timeout: 240_000 }, () => {
  const root = mkdtempSync('/tmp/berth-img-');
  let managed: ManagedContainerd | undefined;
  let client: ContainerdClient;
  let svc: ImageService;
  const seen: EngineEvent[] = [];

  before(async () => {
    managed = await startManagedContainerd({ dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), debug: false, logger: silentLogger() });
    client = connectContainerd(managed.address, NS);
    await client.ensureNamespace(NS);
    mkdirSync(join(root, 'tmp'));
    const events = new EventBus();
    events.subscribe((e) => seen.push(e));
    svc = new ImageService({ client, events, logger: silentLogger(), snapshotter: SNAPSHOTTER, tmpDir: join(root, 'tmp') });
  });

  after(async () => {
    client?.close();
    unmountAll(root);
    await managed?.stop(10_000).catch(() => undefined);
    unmountAll(root);
    rmSync(root, { recursive: true, force: true });
  });

  test('import: a busybox rootfs becomes an image whose rootfs really holds busybox', async () => {
    const { id } = await svc.import(stream(await busyboxRootfsTar()), { repo: 'imp:1', changes: ['CMD ["echo","hi"]', 'WORKDIR /tmp'] });
    const inspect = await svc.inspect('imp:1');
    assert.equal(inspect.Id, id);
    assert.deepEqual(inspect.Config.Cmd, ['echo', 'hi']);
    assert.equal(inspect.Config.WorkingDir, '/tmp');
    const [diffId] = inspect.RootFS.Layers;
    const snap = await client.snapshots.stat(SNAPSHOTTER, diffId!);
    assert.equal(snap.kind, 'committed');

    const resolved = await svc.resolveForContainer('imp:1');
    assert.equal(resolved.chainId, diffId);
    const mounts = await svc.prepareRootfs('rootfs-check', resolved.chainId);
    const target = join(root, 'mnt');
    mountRootfs(mounts, target);
    try {
      assert.ok(existsSync(join(target, 'bin/busybox')));
      assert.match(readFileSync(join(target, 'etc/passwd'), 'utf8'), /^app:x:1000:1000:/m);
    } finally {
      unmountAll(target);
    }
    await svc.removeRootfs('rootfs-check');
    assert.ok(await gone(() => client.snapshots.stat(SNAPSHOTTER, 'rootfs-check')));
    assert.ok(seen.some((e) => e.Action === 'import' && e.Actor.ID === id));
  });

  test('load: docker save archives (legacy and blobs layout, gzip) and OCI layouts', async () => {
    const multi = { repoTags: ['busybox:latest', 'me/app:1'], extraLayers: [{ 'srv/hello.txt': 'hello\n' }] };
    assert.deepEqual(await svc.load(stream(await dockerSaveArchive(multi))), [
      { stream: 'Loaded image: busybox:latest\n' },
      { stream: 'Loaded image: me/app:1\n' },
    ]);
    const fx = await buildFixtureImage(multi);
    for (const chain of chainIds(fx.layers.map((l) => l.diffId))) {
      assert.equal((await client.snapshots.stat(SNAPSHOTTER, chain)).kind, 'committed');
    }
    const configInfo = await client.content.info(fx.configDigest);
    assert.equal(configInfo.labels[`containerd.io/gc.ref.snapshot.${SNAPSHOTTER}`], chainIds(fx.layers.map((l) => l.diffId)).at(-1));

    const blobs = { repoTags: ['busybox:blobs'], layout: 'oci' as const, gzip: true, compressLayers: true, config: { Cmd: ['true'] } };
    assert.deepEqual(await svc.load(stream(await dockerSaveArchive(blobs))), [{ stream: 'Loaded image: busybox:blobs\n' }]);
    const oci = { refName: 'example.com/oci/busybox:1', nested: true, config: { Cmd: ['id'] } };
    assert.deepEqual(await svc.load(stream(gzipSync(await ociLayoutArchive(oci)))), [{ stream: 'Loaded image: example.com/oci/busybox:1\n' }]);

    const list = await svc.list();
    const byId = new Map(list.map((s) => [s.Id, s.RepoTags]));
    assert.deepEqual(byId.get(fx.configDigest), ['busybox:latest', 'me/app:1']);
    assert.deepEqual(byId.get(await fixtureImageId(blobs)), ['busybox:blobs']);
    assert.deepEqual(byId.get(await fixtureImageId(oci)), ['example.com/oci/busybox:1']);
    assert.deepEqual((await svc.resolveForContainer('busybox:blobs')).config.Cmd, ['true']);
  });

  test('tag and rmi; deleting the last name lets containerd collect content and snapshots', async () => {
    const unique = { repoTags: ['gc:1'], extraLayers: [{ 'gc-only.txt': 'collect me' }] };
    await svc.load(stream(await dockerSaveArchive(unique)));
    const fx = await buildFixtureImage(unique);
    const topChain = chainIds(fx.layers.map((l) => l.diffId)).at(-1)!;
    await svc.tag('gc:1', 'gc', 'two');
    assert.deepEqual((await svc.inspect(fx.configDigest)).RepoTags, ['gc:1', 'gc:two']);
    const short = fx.configDigest.slice(7, 19);
    await assert.rejects(svc.remove(short), /\(must be forced\) - image is referenced in multiple repositories/);
    assert.deepEqual(await svc.remove('gc:two'), [{ Untagged: 'gc:two' }]);
    assert.deepEqual(await svc.remove('gc:1'), [{ Untagged: 'gc:1' }, { Deleted: fx.configDigest }]);
    await eventually('GC of the deleted image', async () => (await gone(() => client.content.info(fx.configDigest))) && (await gone(() => client.snapshots.stat(SNAPSHOTTER, topChain))));
    // The shared busybox layer stays: other images use it.
    assert.equal((await client.snapshots.stat(SNAPSHOTTER, fx.layers[0]!.diffId)).kind, 'committed');
  });

  test('save then load into another namespace gives the same images', async () => {
    const archive = await collect(await svc.save(['busybox', 'example.com/oci/busybox:1']));
    const other = client.withNamespace(`${NS}-2`);
    await other.ensureNamespace(`${NS}-2`);
    const second = new ImageService({ client: other, events: new EventBus(), logger: silentLogger(), tmpDir: join(root, 'tmp') });
    const out = await second.load(stream(archive));
    assert.deepEqual(out.map((m) => ('stream' in m ? m.stream : '')).sort(), [
      'Loaded image: busybox:blobs\n',
      'Loaded image: busybox:latest\n',
      'Loaded image: example.com/oci/busybox:1\n',
    ]);
    const mine = (await svc.list()).filter((s) => s.RepoTags.some((t) => t.startsWith('busybox:') || t.startsWith('example.com/')));
    const theirs = await second.list();
    assert.deepEqual(theirs.map((s) => s.Id).sort(), mine.map((s) => s.Id).sort());
    for (const s of theirs) await second.remove(s.Id, { force: true });
    assert.deepEqual(await second.list(), []);
  });

  test('a client that stops reading a save mid-archive breaks nothing', async () => {
    const r = await svc.save(['busybox:latest']);
    await new Promise<void>((resolve) => {
      r.once('data', () => {
        r.destroy();
        resolve();
      });
    });
    await new Promise((res) => setTimeout(res, 300));
    // The service still answers, and a full save still works.
    const full = await collect(await svc.save(['busybox:latest']));
    assert.ok(full.length > 1_000_000);
  });
});

describe('images through the docker CLI and bin/berthd', { timeout: 240_000 }, () => {
  let berthd: BerthdHandle | undefined;
  let served = false;
  const files = mkdtempSync('/tmp/berth-img-cli-');

  before(async () => {
    berthd = await startBerthd();
    served = (await berthd.api('GET', '/images/json')).status === 200;
  });

  after(async () => {
    await berthd?.cleanup();
    rmSync(files, { recursive: true, force: true });
  });

  const docker = async (args: string[], input?: Buffer) => {
    const r = await berthd!.docker(args, input === undefined ? {} : { input });
    return r;
  };
  const ok = async (args: string[]) => {
    const r = await docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')} failed:\n${r.stderr}`);
    return r.stdout;
  };

  test('import, load, images, inspect, tag, rmi, save | load, pull', async (t) => {
    if (!served) {
      t.skip('this berthd does not serve /images yet');
      return;
    }
    const rootfs = await busyboxRootfsTarFile(files);
    const id = (await ok(['import', '--change', 'CMD ["echo","hi"]', '--change', 'ENV A=b', rootfs, 'imp:1'])).trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    assert.equal((await ok(['image', 'inspect', '--format', '{{json .Config.Cmd}} {{json .Config.Env}}', 'imp:1'])).trim(), '["echo","hi"] ["A=b"]');

    const legacy = await dockerSaveArchiveFile(files, { repoTags: ['busybox:latest', 'me/app:1'] });
    assert.equal(await ok(['load', '-i', legacy]), 'Loaded image: busybox:latest\nLoaded image: me/app:1\n');
    const layout = await ociLayoutArchiveFile(files, { refName: 'busybox:layout', nested: true, gzip: true }, 'layout.tar.gz');
    assert.equal(await ok(['load', '-i', layout]), 'Loaded image: busybox:layout\n');

    const images = (await ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).trim().split('\n').sort();
    const busyboxId = (await fixtureImageId({})).slice(7, 19);
    assert.deepEqual(images, [`busybox:latest ${busyboxId}`, `busybox:layout ${busyboxId}`, `imp:1 ${id.slice(7, 19)}`, `me/app:1 ${busyboxId}`]);

    await ok(['tag', 'busybox', 'me/x:1']);
    assert.equal(await ok(['rmi', 'me/x:1']), 'Untagged: me/x:1\n');
    const refused = await docker(['rmi', busyboxId]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`conflict: unable to delete ${busyboxId} \\(must be forced\\) - image is referenced in multiple repositories`));

    const saved = join(files, 'saved.tar');
    await ok(['save', '-o', saved, 'busybox', 'imp:1']);
    const removed = await ok(['rmi', '-f', busyboxId, 'imp:1']);
    assert.match(removed, new RegExp(`Deleted: sha256:${busyboxId}`));
    assert.equal((await ok(['images', '-q'])).trim(), '');
    const reloaded = (await ok(['load', '-i', saved])).trim().split('\n').sort();
    assert.deepEqual(reloaded, ['Loaded image: busybox:latest', 'Loaded image: busybox:layout', 'Loaded image: imp:1']);

    const missing = await docker(['image', 'inspect', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such image: nope:latest/);
    // Nothing listens on port 1: the pull fails at once with the connection error, and stores nothing.
    const pull = await docker(['pull', '127.0.0.1:1/nothing:here']);
    assert.notEqual(pull.code, 0);
    assert.match(pull.stderr, /Error response from daemon: Head "https:\/\/127\.0\.0\.1:1\/v2\/nothing\/manifests\/here": connect ECONNREFUSED 127\.0\.0\.1:1/);

    const gz = await docker(['import', '-', 'gz:1'], gzipSync(readFileSync(rootfs)));
    assert.equal(gz.code, 0, gz.stderr);
  });
  test('images named or removed with ctr behind berthd are seen at once', async () => {
    const ctr = (...args: string[]): string =>
      execFileSync('ctr', ['-a', join(berthd!.execRoot, 'containerd', 'containerd.sock'), '-n', 'berth', ...args], { encoding: 'utf8' });
    // Warm up whatever berthd keeps of the image list.
    await ok(['images']);
    await ok(['info']);
    for (let i = 0; i < 5; i++) {
      ctr('images', 'tag', 'docker.io/library/busybox:latest', `docker.io/library/from-ctr:${i}`);
      assert.equal(await ok(['run', '--rm', `from-ctr:${i}`, 'echo', 'tagged with ctr']), 'tagged with ctr\n');
      assert.match(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(`^from-ctr:${i}$`, 'm'));
      ctr('images', 'rm', `docker.io/library/from-ctr:${i}`);
      assert.doesNotMatch(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(`^from-ctr:${i}$`, 'm'));
      const gone = await docker(['image', 'inspect', `from-ctr:${i}`]);
      assert.notEqual(gone.code, 0, 'removed with ctr: no such image');
    }
  });
});
