import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readArchive } from '../../src/daemon/images/archive.js';
import { hostPlatform } from '../../src/daemon/images/config.js';
import { StagedArchive, cleanArchivePath } from '../../src/daemon/images/staging.js';
import { isBerthError } from '../../src/errors/index.js';
import {
  buildFixtureImage,
  dockerSaveArchive,
  fixtureImageId,
  hostArchitecture,
  ociLayoutArchive,
  sha256,
  tarBuffer,
} from '../fixtures/images.js';

let root: string;
const staged: StagedArchive[] = [];

async function stage(data: Buffer): Promise<StagedArchive> {
  const s = await StagedArchive.extract(Readable.from([data]), root);
  staged.push(s);
  return s;
}

async function read(data: Buffer) {
  return readArchive(await stage(data), hostPlatform());
}

async function rejectsInvalid(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isBerthError(err), String(err));
    assert.equal(err.kind, 'invalid-parameter');
    assert.match(err.message, message);
    return true;
  });
}

describe('docker load archives', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-archive-test-'));
  });
  after(async () => {
    for (const s of staged) await s.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('reads a legacy docker save archive with several tags and layers', async () => {
    const opts = { repoTags: ['busybox:latest', 'me/app:1'], extraLayers: [{ 'srv/hello.txt': 'hello' }] };
    const images = await read(await dockerSaveArchive(opts));
    assert.equal(images.length, 1);
    const [img] = images;
    assert.deepEqual(img!.names, ['docker.io/library/busybox:latest', 'docker.io/me/app:1']);
    assert.equal(img!.config.descriptor.digest, await fixtureImageId(opts));
    assert.equal(img!.layers.length, 2);
    const fx = await buildFixtureImage(opts);
    assert.deepEqual(img!.layers.map((l) => l.diffId), fx.layers.map((l) => l.diffId));
    assert.deepEqual(img!.layers.map((l) => l.descriptor.digest), fx.layers.map((l) => l.digest));
    assert.equal(img!.layers[0]!.descriptor.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    const manifest = JSON.parse(img!.manifest.data.toString());
    assert.equal(manifest.config.digest, img!.config.descriptor.digest);
    assert.equal(img!.manifest.descriptor.digest, sha256(img!.manifest.data));
  });

  it('reads a gzip docker save archive in the blobs layout with gzip layers', async () => {
    const opts = { repoTags: ['busybox:oci'], layout: 'oci' as const, gzip: true, compressLayers: true };
    const [img] = await read(await dockerSaveArchive(opts));
    assert.deepEqual(img!.names, ['docker.io/library/busybox:oci']);
    assert.equal(img!.layers[0]!.descriptor.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.equal(img!.layers[0]!.file.compression, 'gzip');
    // The OCI path keeps the archive's own manifest.
    assert.equal(img!.manifest.descriptor.digest, (await buildFixtureImage(opts)).manifestDigest);
  });

  it('reads an untagged docker save archive', async () => {
    const [img] = await read(await dockerSaveArchive({ repoTags: [] }));
    assert.deepEqual(img!.names, []);
  });

  it('follows the layer symlinks dockerd writes for shared layers', async () => {
    const fx = await buildFixtureImage({});
    const cfg2 = Buffer.from(fx.config.toString().replace('"Cmd":["sh"]', '"Cmd":["true"]'));
    const hex = (d: string): string => d.slice(7);
    const tar = await tarBuffer([
      { header: { name: 'aaa/', type: 'directory', mode: 0o755 } },
      { header: { name: 'aaa/layer.tar', type: 'file', mode: 0o644 }, data: fx.layers[0]!.blob },
      { header: { name: 'bbb/', type: 'directory', mode: 0o755 } },
      { header: { name: 'bbb/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar', mode: 0o777 } },
      { header: { name: `${hex(fx.configDigest)}.json`, type: 'file', mode: 0o644 }, data: fx.config },
      { header: { name: `${hex(sha256(cfg2))}.json`, type: 'file', mode: 0o644 }, data: cfg2 },
      {
        header: { name: 'manifest.json', type: 'file', mode: 0o644 },
        data: Buffer.from(
          JSON.stringify([
            { Config: `${hex(fx.configDigest)}.json`, RepoTags: ['one:1'], Layers: ['aaa/layer.tar'] },
            { Config: `${hex(sha256(cfg2))}.json`, RepoTags: null, Layers: ['bbb/layer.tar'] },
          ]),
        ),
      },
    ]);
    const images = await read(tar);
    assert.equal(images.length, 2);
    assert.equal(images[1]!.layers[0]!.file.digest, fx.layers[0]!.digest);
    assert.equal(images[1]!.config.descriptor.digest, sha256(cfg2));
  });

  it('reads an OCI layout, picking the host platform from a nested index', async () => {
    const opts = { refName: 'busybox:layout', nested: true };
    const [img, ...more] = await read(await ociLayoutArchive(opts));
    assert.equal(more.length, 0);
    assert.deepEqual(img!.names, ['docker.io/library/busybox:layout']);
    assert.equal(img!.config.image.architecture, hostArchitecture());
    assert.equal(img!.config.descriptor.digest, await fixtureImageId(opts));
  });

  it('names OCI layouts from io.containerd.image.name, and not from a bare tag', async () => {
    const [named] = await read(await ociLayoutArchive({ imageName: 'example.com/x/y:2', refName: '2', gzip: true }));
    assert.deepEqual(named!.names, ['example.com/x/y:2']);
    const [bare] = await read(await ociLayoutArchive({ refName: 'latest' }));
    assert.deepEqual(bare!.names, []);
  });

  it('refuses an archive for another platform only', async () => {
    const foreign = hostArchitecture() === 'arm64' ? 'amd64' : 'arm64';
    await rejectsInvalid(read(await ociLayoutArchive({ refName: 'x:1', architecture: foreign })), /no image for platform linux\//);
  });

  it('refuses broken archives with clear errors', async () => {
    await rejectsInvalid(stage(Buffer.from('this is not a tar archive at all'.repeat(40))), /not a valid tar file/);
    await rejectsInvalid(stage(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])), /compressed with xz/);
    const onlyFile = await tarBuffer([{ header: { name: 'hello.txt', type: 'file', mode: 0o644 }, data: Buffer.from('x') }]);
    await rejectsInvalid(read(onlyFile), /neither a docker save archive \(manifest.json\) nor an OCI image layout/);
    const badManifest = await tarBuffer([{ header: { name: 'manifest.json', type: 'file', mode: 0o644 }, data: Buffer.from('{"x":1}') }]);
    await rejectsInvalid(read(badManifest), /manifest.json must be a JSON list/);
    const missingLayer = await tarBuffer([
      { header: { name: 'c.json', type: 'file', mode: 0o644 }, data: (await buildFixtureImage({})).config },
      { header: { name: 'manifest.json', type: 'file', mode: 0o644 }, data: Buffer.from('[{"Config":"c.json","RepoTags":null,"Layers":["l/layer.tar"]}]') },
    ]);
    await rejectsInvalid(read(missingLayer), /layer l\/layer.tar is missing from the archive/);
    const badTag = await dockerSaveArchive({ repoTags: ['x:1'] });
    const tampered = Buffer.from(gzipSync(badTag));
    await rejectsInvalid(read(tampered.subarray(0, tampered.length - 100)), /not a valid tar file/);
  });

  it('never writes entries by their names', async () => {
    const tar = await tarBuffer([
      { header: { name: '../../escape.txt', type: 'file', mode: 0o644 }, data: Buffer.from('x') },
      { header: { name: '/etc/abs.txt', type: 'file', mode: 0o644 }, data: Buffer.from('y') },
    ]);
    const s = await stage(tar);
    assert.deepEqual((await readdir(s.dir)).sort(), ['f0', 'f1']);
    assert.equal((await s.read('escape.txt')).toString(), 'x');
    assert.equal((await s.read('etc/abs.txt')).toString(), 'y');
    assert.equal(cleanArchivePath('./a/../b/'), 'b');
  });
});
