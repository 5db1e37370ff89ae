// The image service against an in-memory stand-in for containerd: names,
// dangling images, rmi conflicts, list filters, inspect and save/load.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { ContainerdClient, ImageRecord, Mount, SnapshotInfo } from '../../src/containerd/types.js';
import { ImageService, type ImageUser } from '../../src/daemon/images/index.js';
import { BerthError, isBerthError } from '../../src/errors/index.js';
import { EventBus, type EngineEvent } from '../../src/events/index.js';
import { silentLogger } from '../../src/log/index.js';
import { buildFixtureImage, busyboxRootfsTar, dockerSaveArchive, fixtureImageId, ociLayoutArchive, tarBuffer } from '../fixtures/images.js';

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Just enough of containerd, in memory. */
class FakeContainerd {
  blobs = new Map<string, { data: Buffer; labels: Record<string, string> }>();
  images = new Map<string, ImageRecord>();
  snapshots = new Map<string, SnapshotInfo>();
  leases = new Set<string>();
  applied: string[] = [];

  client(): ContainerdClient {
    const self = this;
    const nf = (what: string): BerthError => new BerthError('not-found', `${what}: not found`);
    const unsupported = (): never => {
      throw new Error('not used by the image service');
    };
    const c: ContainerdClient = {
      namespace: 'test',
      withNamespace: unsupported,
      close: () => undefined,
      waitReady: async () => undefined,
      version: async () => ({ version: 'fake', revision: '' }),
      ensureNamespace: async () => undefined,
      containers: { create: unsupported, get: unsupported, list: unsupported, update: unsupported, delete: unsupported },
      tasks: {
        create: unsupported, start: unsupported, delete: unsupported, deleteProcess: unsupported, get: unsupported, list: unsupported,
        kill: unsupported, exec: unsupported, resizePty: unsupported, closeIO: unsupported, pause: unsupported, resume: unsupported,
        listPids: unsupported, wait: unsupported, metrics: unsupported, update: unsupported,
      },
      content: {
        async info(digest) {
          const b = self.blobs.get(digest);
          if (!b) throw nf(digest);
          return { digest, size: b.data.length, labels: { ...b.labels } };
        },
        list: async () => [...self.blobs.entries()].map(([digest, b]) => ({ digest, size: b.data.length, labels: b.labels })),
        async delete(digest) {
          self.blobs.delete(digest);
        },
        async update(info) {
          const b = self.blobs.get(info.digest);
          if (!b) throw nf(info.digest);
          Object.assign(b.labels, info.labels);
          return info;
        },
        read(digest) {
          const b = self.blobs.get(digest);
          if (!b) throw nf(digest);
          return Readable.from([b.data]);
        },
        async readAll(digest) {
          const b = self.blobs.get(digest);
          if (!b) throw nf(digest);
          return b.data;
        },
        async write(_ref, data, expected, labels = {}) {
          const buf = Buffer.isBuffer(data) ? data : await collect(data);
          if (sha(buf) !== expected.digest) throw new BerthError('invalid-parameter', 'digest mismatch');
          const existing = self.blobs.get(expected.digest);
          if (existing) Object.assign(existing.labels, labels);
          else self.blobs.set(expected.digest, { data: buf, labels: { ...labels } });
        },
        async ingest() {
          throw new BerthError('not-implemented', 'no resumable writes in this fake');
        },
      },
      images: {
        async get(name) {
          const r = self.images.get(name);
          if (!r) throw nf(`image ${name}`);
          return structuredClone(r);
        },
        list: async () => [...self.images.values()].map((r) => structuredClone(r)),
        async create(image) {
          if (self.images.has(image.name)) throw new BerthError('conflict', `image ${image.name}: already exists`);
          const r = { ...structuredClone(image), createdAt: new Date(), updatedAt: new Date() };
          self.images.set(image.name, r);
          return r;
        },
        async update(image) {
          const old = self.images.get(image.name);
          if (!old) throw nf(`image ${image.name}`);
          const r = { ...old, ...structuredClone(image), updatedAt: new Date() };
          self.images.set(image.name, r);
          return r;
        },
        async delete(name) {
          if (!self.images.delete(name)) throw nf(`image ${name}`);
        },
      },
      snapshots: {
        async prepare(_sn, key, parent) {
          if (self.snapshots.has(key)) throw new BerthError('conflict', `snapshot ${key}: already exists`);
          if (parent && !self.snapshots.has(parent)) throw nf(`parent snapshot ${parent}`);
          self.snapshots.set(key, { name: key, parent, kind: 'active', labels: {} });
          return [{ type: 'bind', source: `/fake/${key}`, options: ['rw'] }] as Mount[];
        },
        view: unsupported,
        async mounts(_sn, key) {
          if (!self.snapshots.has(key)) throw nf(key);
          return [{ type: 'bind', source: `/fake/${key}`, options: ['rw'] }];
        },
        async commit(_sn, name, key, labels = {}) {
          const s = self.snapshots.get(key);
          if (!s) throw nf(key);
          if (self.snapshots.has(name)) throw new BerthError('conflict', `snapshot ${name}: already exists`);
          self.snapshots.delete(key);
          self.snapshots.set(name, { name, parent: s.parent, kind: 'committed', labels });
        },
        async remove(_sn, key) {
          if (!self.snapshots.delete(key)) throw nf(key);
        },
        async stat(_sn, key) {
          const s = self.snapshots.get(key);
          if (!s) throw nf(key);
          return s;
        },
        list: async () => [...self.snapshots.values()],
      },
      diff: {
        async apply(layer) {
          const b = self.blobs.get(layer.digest);
          if (!b) throw nf(layer.digest);
          const plain = b.data[0] === 0x1f && b.data[1] === 0x8b ? gunzipSync(b.data) : b.data;
          self.applied.push(layer.digest);
          return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(plain), size: plain.length };
        },
        async diff() {
          throw new Error('not used by these tests');
        },
      },
      leases: {
        async create(id) {
          const leaseId = id ?? `lease-${self.leases.size}-${Math.random()}`;
          self.leases.add(leaseId);
          return { id: leaseId };
        },
        async delete(id) {
          self.leases.delete(id);
        },
      },
      withLease: () => c,
      events: { subscribe: unsupported },
    };
    return c;
  }
}

let tmp: string;
let fake: FakeContainerd;
let events: EventBus;
let seen: EngineEvent[];
let users: Map<string, ImageUser[]>;
let svc: ImageService;

async function rejectsKind(p: Promise<unknown>, kind: string, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isBerthError(err), String(err));
    assert.equal(err.kind, kind);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const stream = (b: Buffer): Readable => Readable.from([b]);

describe('ImageService (in-memory containerd)', () => {
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-images-svc-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake = new FakeContainerd();
    events = new EventBus();
    seen = [];
    events.subscribe((e) => seen.push(e));
    users = new Map();
    svc = new ImageService({ client: fake.client(), events, logger: silentLogger(), tmpDir: tmp });
    svc.setUsageCheck((id) => users.get(id) ?? []);
  });

  it('imports a rootfs with changes, labels content for GC and unpacks it', async () => {
    const { id, messages } = await svc.import(stream(await busyboxRootfsTar()), { repo: 'imp', tag: '1', changes: ['CMD ["echo","hi"]', 'ENV A=b'] });
    assert.deepEqual(messages, [{ status: id }]);
    const record = fake.images.get('docker.io/library/imp:1');
    assert.ok(record);
    const manifestBlob = fake.blobs.get(record.target.digest)!;
    const manifest = JSON.parse(manifestBlob.data.toString());
    assert.equal(manifest.config.digest, id);
    assert.equal(manifestBlob.labels['containerd.io/gc.ref.content.config'], id);
    assert.equal(manifestBlob.labels['containerd.io/gc.ref.content.l.0'], manifest.layers[0].digest);
    const config = JSON.parse(fake.blobs.get(id)!.data.toString());
    assert.deepEqual(config.config, { Cmd: ['echo', 'hi'], Env: ['A=b'] });
    assert.equal(config.rootfs.diff_ids[0], manifest.layers[0].digest);
    assert.equal(fake.blobs.get(id)!.labels['containerd.io/gc.ref.snapshot.overlayfs'], config.rootfs.diff_ids[0]);
    assert.equal(fake.snapshots.get(config.rootfs.diff_ids[0])?.kind, 'committed');
    assert.equal(fake.leases.size, 0, 'the import lease is released');
    assert.deepEqual(seen.map((e) => [e.Action, e.Actor.Attributes.name]), [['tag', 'imp:1'], ['import', id]]);

    const inspect = await svc.inspect('imp:1');
    assert.equal(inspect.Id, id);
    assert.deepEqual(inspect.RepoTags, ['imp:1']);
    assert.equal(inspect.Comment, 'Imported from -');
    assert.deepEqual(inspect.Config.Cmd, ['echo', 'hi']);
    assert.deepEqual(inspect.RootFS, { Type: 'layers', Layers: config.rootfs.diff_ids });
    assert.equal(inspect.GraphDriver.Name, 'overlayfs');
    assert.ok(inspect.Size > 1_000_000);
  });

  it('imports gzip and untagged rootfs tarballs, and refuses garbage', async () => {
    const { gzipSync } = await import('node:zlib');
    const { id } = await svc.import(stream(gzipSync(await busyboxRootfsTar())), {});
    const list = await svc.list();
    assert.equal(list.length, 1);
    assert.equal(list[0]!.Id, id);
    assert.deepEqual(list[0]!.RepoTags, []);
    assert.ok(fake.images.has(`berth-dangling@${id}`));
    await rejectsKind(svc.import(stream(Buffer.from('not a tarball'.repeat(100))), {}), 'invalid-parameter', /not a tar archive/);
    await rejectsKind(svc.import(stream(Buffer.alloc(0)), {}), 'invalid-parameter', /the import source is empty/);
    await rejectsKind(svc.import(stream(await busyboxRootfsTar()), { changes: ['FROM x'] }), 'invalid-parameter', 'from is not a valid change command');
    await rejectsKind(svc.import(stream(await busyboxRootfsTar()), { repo: 'Bad' }), 'invalid-parameter', /must be lowercase/);
  });

  it('loads docker save and OCI archives and reports them like dockerd', async () => {
    const out = await svc.load(stream(await dockerSaveArchive({ repoTags: ['busybox:latest', 'me/app:1'] })));
    assert.deepEqual(out, [{ stream: 'Loaded image: busybox:latest\n' }, { stream: 'Loaded image: me/app:1\n' }]);
    const marker = { extraFiles: { 'etc/x': '1' } };
    const untagged = await svc.load(stream(await dockerSaveArchive({ repoTags: [], ...marker })));
    const untaggedId = await fixtureImageId(marker);
    assert.deepEqual(untagged, [{ stream: `Loaded image ID: ${untaggedId}\n` }]);
    const oci = await svc.load(stream(await ociLayoutArchive({ refName: 'busybox:layout', nested: true, gzip: true, compressLayers: true })));
    assert.deepEqual(oci, [{ stream: 'Loaded image: busybox:layout\n' }]);
    const busyboxId = await fixtureImageId({});
    assert.deepEqual(
      seen.filter((e) => e.Action === 'load').map((e) => e.Actor.ID),
      [busyboxId, untaggedId, busyboxId],
    );

    const list = await svc.list();
    assert.equal(list.length, 2);
    const busy = list.find((s) => s.Id === busyboxId)!;
    assert.deepEqual(busy.RepoTags, ['busybox:latest', 'busybox:layout', 'me/app:1']);
    assert.equal(busy.Created, Date.parse('2024-01-01T00:00:00Z') / 1000);
    assert.equal(busy.SharedSize, -1);
    assert.equal(busy.Containers, -1);
    assert.equal(busy.ParentId, '');
    assert.deepEqual(list.find((s) => s.Id === untaggedId)!.RepoTags, []);
    assert.equal(fake.leases.size, 0);
  });

  it('refuses a layer that does not match the config, changing nothing', async () => {
    const fx = await buildFixtureImage({});
    const wrong = Buffer.from(fx.config.toString().replace(fx.layers[0]!.diffId, 'sha256:' + '0'.repeat(64)));
    const tar = await tarBuffer([
      { header: { name: 'l/layer.tar', type: 'file', mode: 0o644 }, data: fx.layers[0]!.blob },
      { header: { name: 'c.json', type: 'file', mode: 0o644 }, data: wrong },
      { header: { name: 'manifest.json', type: 'file', mode: 0o644 }, data: Buffer.from('[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l/layer.tar"]}]') },
    ]);
    await rejectsKind(svc.load(stream(tar)), 'invalid-parameter', /does not match the image config/);
    assert.equal(fake.blobs.size, 0);
    assert.equal(fake.images.size, 0);
  });

  it('finds images by name, ID, bare hex and unambiguous prefix', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['busybox:latest'] })));
    const id = await fixtureImageId({});
    const hex = id.slice(7);
    for (const ref of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 6)}`, hex.slice(0, 1)]) {
      assert.equal((await svc.inspect(ref)).Id, id, ref);
    }
    await rejectsKind(svc.inspect('nope'), 'not-found', 'No such image: nope:latest');
    await rejectsKind(svc.inspect('busybox:other'), 'not-found', 'No such image: busybox:other');
    await rejectsKind(svc.inspect('Nope'), 'invalid-parameter', /must be lowercase/);
  });

  it('tags, untags and deletes like dockerd', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['busybox:latest'] })));
    const id = await fixtureImageId({});
    await svc.tag('busybox', 'me/app', 'v1');
    await svc.tag(id.slice(7, 19), 'localhost:5000/x');
    assert.deepEqual((await svc.inspect(id)).RepoTags, ['busybox:latest', 'localhost:5000/x:latest', 'me/app:v1']);
    assert.ok(seen.some((e) => e.Action === 'tag' && e.Actor.Attributes.name === 'me/app:v1'));
    await rejectsKind(svc.tag('nope', 'x'), 'not-found', 'No such image: nope:latest');
    await rejectsKind(svc.tag('busybox', 'X'), 'invalid-parameter', /must be lowercase/);

    const short = id.slice(7, 19);
    await rejectsKind(svc.remove(short), 'conflict', `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    assert.deepEqual(await svc.remove('me/app:v1'), [{ Untagged: 'me/app:v1' }]);
    assert.deepEqual(await svc.remove(short, { force: true }), [
      { Untagged: 'busybox:latest' },
      { Untagged: 'localhost:5000/x:latest' },
      { Deleted: id },
    ]);
    assert.equal(fake.images.size, 0);
    assert.ok(seen.some((e) => e.Action === 'delete' && e.Actor.ID === id));
    assert.ok(seen.some((e) => e.Action === 'untag'));
    await rejectsKind(svc.remove('busybox'), 'not-found', 'No such image: busybox:latest');
  });

  it('guards images used by containers with dockerd wording', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['run:1'] })));
    const id = await fixtureImageId({});
    const short = id.slice(7, 19);
    users.set(id, [{ id: 'c'.repeat(64), running: true }]);
    await rejectsKind(svc.remove('run:1'), 'conflict', `conflict: unable to remove repository reference "run:1" (must force) - container cccccccccccc is using its referenced image ${short}`);
    await rejectsKind(svc.remove(short), 'conflict', `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container cccccccccccc`);
    await rejectsKind(svc.remove(short, { force: true }), 'conflict', /cannot be forced/);
    // Forced by name: only untagged; the image stays as a dangling one.
    assert.deepEqual(await svc.remove('run:1', { force: true }), [{ Untagged: 'run:1' }]);
    assert.deepEqual((await svc.list()).map((s) => [s.Id, s.RepoTags]), [[id, []]]);
    assert.ok(fake.images.has(`berth-dangling@${id}`));

    users.set(id, [{ id: 'd'.repeat(64), running: false }]);
    await rejectsKind(svc.remove(short), 'conflict', `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container dddddddddddd`);
    assert.deepEqual(await svc.remove(short, { force: true }), [{ Deleted: id }]);
    assert.equal(fake.images.size, 0);
  });

  it('keeps an image that lost its name to another as dangling', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['app:1'] })));
    const first = await fixtureImageId({});
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['app:1'], config: { Cmd: ['true'] } })));
    const second = await fixtureImageId({ config: { Cmd: ['true'] } });
    const list = await svc.list();
    assert.deepEqual(list.map((s) => [s.Id, s.RepoTags]).sort(), [[first, []], [second, ['app:1']]].sort());
    // Tagging the dangling image again drops its dangling record.
    await svc.tag(first, 'app', 'old');
    assert.ok(!fake.images.has(`berth-dangling@${first}`));
  });

  it('filters the list by reference, dangling, label, before and since', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['busybox:latest', 'me/app:1'] })));
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['labelled:1'], config: { Labels: { tier: 'web' } } })));
    await svc.load(stream(await dockerSaveArchive({ repoTags: [], extraFiles: { x: 'y' } })));
    const f = (o: Record<string, string[]>) => svc.list({ filters: new Map(Object.entries(o)) });
    assert.deepEqual((await f({ reference: ['busybox'] })).map((s) => s.RepoTags), [['busybox:latest']]);
    assert.deepEqual((await f({ reference: ['me/*'] })).map((s) => s.RepoTags), [['me/app:1']]);
    assert.deepEqual((await f({ reference: ['*:1'] })).map((s) => s.RepoTags), [['labelled:1']]);
    assert.deepEqual((await f({ reference: ['*/*:1'] })).map((s) => s.RepoTags), [['me/app:1']]);
    assert.equal((await f({ dangling: ['true'] })).length, 1);
    assert.equal((await f({ dangling: ['false'] })).length, 2);
    assert.deepEqual((await f({ label: ['tier=web'] })).map((s) => s.RepoTags), [['labelled:1']]);
    assert.deepEqual((await f({ label: ['tier'] })).map((s) => s.Labels), [{ tier: 'web' }]);
    assert.equal((await f({ label: ['tier=db'] })).length, 0);
    assert.equal((await f({ before: ['busybox'] })).length, 0);
    await rejectsKind(f({ dangling: ['maybe'] }), 'invalid-parameter', "Invalid filter 'dangling=maybe'");
    await rejectsKind(f({ colour: ['red'] }), 'invalid-parameter', /invalid filter 'colour'/);
    await rejectsKind(f({ reference: ['[x'] }), 'invalid-parameter', /syntax error in pattern/);
  });

  it('gives history newest first', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['h:1'], extraLayers: [{ 'a.txt': 'a' }] })));
    const h = await svc.history('h:1');
    assert.equal(h.length, 2);
    assert.equal(h[0]!.Id, await fixtureImageId({ extraLayers: [{ 'a.txt': 'a' }] }));
    assert.deepEqual(h[0]!.Tags, ['h:1']);
    assert.equal(h[1]!.Id, '<missing>');
    assert.equal(h[1]!.CreatedBy, 'berth test fixture layer 0');
  });

  it('saves an archive that loads back, in both formats', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['busybox:latest', 'busybox:two', 'other:1'], compressLayers: true })));
    const archive = await collect(await svc.save(['busybox']));
    const { extract } = await import('tar-stream');
    const files = new Map<string, Buffer>();
    const ex = extract();
    const done = (async () => {
      for await (const entry of ex) files.set(entry.header.name, await collect(entry as unknown as Readable));
    })();
    Readable.from([archive]).pipe(ex as unknown as NodeJS.WritableStream);
    await done;
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    assert.deepEqual(manifest[0].RepoTags, ['busybox:latest', 'busybox:two']);
    assert.ok(files.has(manifest[0].Config));
    const index = JSON.parse(files.get('index.json')!.toString());
    assert.deepEqual(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['io.containerd.image.name']), [
      'docker.io/library/busybox:latest',
      'docker.io/library/busybox:two',
    ]);
    assert.deepEqual(JSON.parse(files.get('repositories')!.toString()).busybox.two.length, 64);
    assert.ok(files.has('oci-layout'));

    const fresh = new ImageService({ client: new FakeContainerd().client(), events: new EventBus(), logger: silentLogger(), tmpDir: tmp });
    assert.deepEqual(await fresh.load(stream(archive)), [{ stream: 'Loaded image: busybox:latest\n' }, { stream: 'Loaded image: busybox:two\n' }]);
    await rejectsKind(svc.save(['nope']), 'not-found', 'No such image: nope:latest');
    const byId = await collect(await svc.save([await fixtureImageId({ compressLayers: true })]));
    const again = new ImageService({ client: new FakeContainerd().client(), events: new EventBus(), logger: silentLogger(), tmpDir: tmp });
    assert.deepEqual(await again.load(stream(byId)), [{ stream: `Loaded image ID: ${await fixtureImageId({ compressLayers: true })}\n` }]);
  });

  it('serves containers: resolve, unpack when missing, rootfs snapshots', async () => {
    await svc.load(stream(await dockerSaveArchive({ repoTags: ['busybox:latest'], extraLayers: [{ 'b.txt': 'b' }] })));
    const r = await svc.resolveForContainer('busybox');
    assert.equal(r.name, 'busybox:latest');
    assert.deepEqual(r.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] });
    assert.equal(fake.snapshots.get(r.chainId)?.kind, 'committed');
    // Lost snapshots are unpacked again on demand.
    fake.snapshots.clear();
    const fresh = new ImageService({ client: fake.client(), events, logger: silentLogger(), tmpDir: tmp });
    const again = await fresh.resolveForContainer(r.id);
    assert.equal(again.name, r.id);
    assert.equal(fake.snapshots.get(r.chainId)?.kind, 'committed');
    const mounts = await svc.prepareRootfs('ctr-1', r.chainId);
    assert.equal(mounts.length, 1);
    assert.equal(fake.snapshots.get('ctr-1')?.parent, r.chainId);
    await svc.removeRootfs('ctr-1');
    await svc.removeRootfs('ctr-1');
    assert.ok(!fake.snapshots.has('ctr-1'));
    await rejectsKind(svc.resolveForContainer('missing'), 'not-found', 'No such image: missing:latest');
  });

  it('refuses to pull without a registry configuration', async () => {
    await rejectsKind(svc.pull('busybox'), 'unavailable', 'this image service has no registry configuration');
  });
});
