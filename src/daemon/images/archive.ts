// Reads a staged `docker load` archive: Docker's save format (manifest.json,
// `<id>/layer.tar` or `blobs/sha256/<hex>`) or an OCI image layout
// (index.json, nested indexes resolved to the host platform).
import { invalidParameter } from '../../errors/index.js';
import type { Descriptor } from '../../containerd/types.js';
import { parseImageConfig, platformMatches, formatPlatform } from './config.js';
import { sha256Digest } from './digest.js';
import { isIndexType, isManifestType, MT } from './mediatypes.js';
import { fullString, normalizeName } from './reference.js';
import type { StagedArchive, StagedFile } from './staging.js';
import type { OciImage, Platform } from './types.js';

export interface ArchiveLayer {
  file: StagedFile;
  descriptor: Descriptor;
  /** from the image config; checked against the content before use */
  diffId: string;
}

/** One image found in an archive, ready to be written to the content store. */
export interface ArchiveImage {
  /** full names (docker.io/library/busybox:latest); empty for an untagged image */
  names: string[];
  manifest: { descriptor: Descriptor; data: Buffer };
  config: { descriptor: Descriptor; data: Buffer; image: OciImage };
  layers: ArchiveLayer[];
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Finds the images of a staged archive, in archive order. */
export async function readArchive(staged: StagedArchive, platform: Platform): Promise<ArchiveImage[]> {
  if (staged.has('index.json')) {
    const images = await readOciLayout(staged, platform);
    if (staged.has('manifest.json')) await namesFromDockerManifest(staged, images);
    return images;
  }
  if (staged.has('manifest.json')) return readDockerSave(staged);
  const seen = staged.paths().slice(0, 5).join(', ');
  throw invalidParameter(
    `the archive is neither a docker save archive (manifest.json) nor an OCI image layout (index.json)${seen ? `; it starts with: ${seen}` : ''}`,
  );
}

function layerMediaType(f: StagedFile): string {
  switch (f.compression) {
    case 'none':
      return MT.ociLayer;
    case 'gzip':
      return MT.ociLayerGzip;
    case 'zstd':
      return MT.ociLayerZstd;
    default:
      throw invalidParameter(`layer ${f.path} is compressed with ${f.compression}, which containerd cannot apply: recompress it with gzip`);
  }
}

function parseNames(tags: unknown, where: string): string[] {
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalidParameter(`${where}: RepoTags must be a list of names`);
  return tags.map((t) => {
    const ref = normalizeName(t);
    if (ref.digest !== undefined) throw invalidParameter(`${where}: ${t} is not a tag`);
    return fullString(ref);
  });
}

function parseDockerManifest(v: unknown): DockerManifestEntry[] {
  if (!Array.isArray(v)) throw invalidParameter('manifest.json must be a JSON list');
  return v.map((e, i) => {
    if (!isObject(e) || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw invalidParameter(`manifest.json entry ${i} needs Config (a path) and Layers (a list of paths)`);
    }
    return { Config: e.Config, RepoTags: (e.RepoTags ?? null) as string[] | null, Layers: e.Layers as string[] };
  });
}

async function readDockerSave(staged: StagedArchive): Promise<ArchiveImage[]> {
  const entries = parseDockerManifest(await staged.readJson('manifest.json'));
  const images: ArchiveImage[] = [];
  for (const [i, e] of entries.entries()) {
    const where = `manifest.json entry ${i}`;
    const configFile = staged.get(e.Config);
    if (!configFile) throw invalidParameter(`${where}: config ${e.Config} is missing from the archive`);
    const configData = await staged.read(e.Config);
    const image = parseImageConfig(configData, e.Config);
    const diffIds = image.rootfs.diff_ids;
    if (diffIds.length !== e.Layers.length) {
      throw invalidParameter(`${where}: invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${e.Layers.length}`);
    }
    const layers = e.Layers.map((path, li): ArchiveLayer => {
      const file = staged.get(path);
      if (!file) throw invalidParameter(`${where}: layer ${path} is missing from the archive`);
      return { file, descriptor: { mediaType: layerMediaType(file), digest: file.digest, size: file.size }, diffId: diffIds[li]! };
    });
    const config = { descriptor: { mediaType: MT.ociConfig, digest: configFile.digest, size: configFile.size }, data: configData, image };
    const manifestData = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: config.descriptor,
        layers: layers.map((l) => l.descriptor),
      }),
    );
    images.push({
      names: parseNames(e.RepoTags, where),
      manifest: { descriptor: { mediaType: MT.ociManifest, digest: sha256Digest(manifestData), size: manifestData.length }, data: manifestData },
      config,
      layers,
    });
  }
  return images;
}

function blobPath(digest: string): string {
  const i = digest.indexOf(':');
  return `blobs/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
}

function parseDescriptor(v: unknown, where: string): Descriptor & { platform?: Partial<Platform> } {
  if (!isObject(v) || typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || typeof v.size !== 'number') {
    throw invalidParameter(`${where}: a descriptor needs mediaType, digest and size`);
  }
  if (!/^[a-z0-9]+:[a-f0-9]+$/.test(v.digest)) throw invalidParameter(`${where}: invalid digest ${v.digest}`);
  const d: Descriptor & { platform?: Partial<Platform> } = { mediaType: v.mediaType, digest: v.digest, size: v.size };
  if (isObject(v.annotations)) d.annotations = Object.fromEntries(Object.entries(v.annotations).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
  if (isObject(v.platform)) d.platform = v.platform as Partial<Platform>;
  return d;
}

async function readBlob(staged: StagedArchive, desc: Descriptor, where: string): Promise<StagedFile> {
  const file = staged.get(blobPath(desc.digest));
  if (!file) throw invalidParameter(`${where}: blob ${desc.digest} is missing from the archive`);
  if (file.digest !== desc.digest) throw invalidParameter(`${where}: blob ${desc.digest} does not match its digest (it is ${file.digest})`);
  if (file.size !== desc.size) throw invalidParameter(`${where}: blob ${desc.digest} is ${file.size} bytes, the descriptor says ${desc.size}`);
  return file;
}

/** The image name a top-level index.json descriptor carries, if any. */
function nameOf(desc: Descriptor): string | undefined {
  const a = desc.annotations ?? {};
  const containerdName = a['io.containerd.image.name'];
  if (containerdName) return fullString(normalizeName(containerdName));
  const refName = a['org.opencontainers.image.ref.name'];
  // A bare tag ("latest") names no repository; a full reference does.
  if (refName && /[:/@]/.test(refName)) return fullString(normalizeName(refName));
  return undefined;
}

async function readOciLayout(staged: StagedArchive, platform: Platform): Promise<ArchiveImage[]> {
  const index = await staged.readJson('index.json');
  if (!isObject(index) || !Array.isArray(index.manifests)) throw invalidParameter('index.json must be an image index with a manifests list');
  const byManifest = new Map<string, ArchiveImage>();
  const order: ArchiveImage[] = [];
  for (const [i, raw] of index.manifests.entries()) {
    const where = `index.json manifest ${i}`;
    const top = parseDescriptor(raw, where);
    const found = await resolveManifest(staged, top, platform, where, 0);
    if (!found) continue;
    let image = byManifest.get(found.manifest.descriptor.digest);
    if (!image) {
      image = found;
      byManifest.set(found.manifest.descriptor.digest, image);
      order.push(image);
    }
    const name = nameOf(top);
    if (name && !image.names.includes(name)) image.names.push(name);
  }
  if (order.length === 0) throw invalidParameter(`the archive has no image for platform ${formatPlatform(platform)}`);
  return order;
}

async function resolveManifest(staged: StagedArchive, desc: Descriptor, platform: Platform, where: string, depth: number): Promise<ArchiveImage | undefined> {
  if (depth > 4) throw invalidParameter(`${where}: image indexes are nested too deeply`);
  if (isIndexType(desc.mediaType)) {
    await readBlob(staged, desc, where);
    const idx = await staged.readJson(blobPath(desc.digest));
    if (!isObject(idx) || !Array.isArray(idx.manifests)) throw invalidParameter(`${where}: index ${desc.digest} has no manifests list`);
    const children = idx.manifests.map((m, j) => parseDescriptor(m, `${where} > ${j}`));
    const candidates = children.filter((c) => (isIndexType(c.mediaType) && !c.platform) || platformMatches(platform, c.platform));
    // Without any platform information a single child is taken as is.
    if (candidates.length === 0 && children.length === 1 && !children[0]!.platform) candidates.push(children[0]!);
    for (const c of candidates) {
      const found = await resolveManifest(staged, c, platform, `${where} > ${c.digest}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (!isManifestType(desc.mediaType)) return undefined;
  await readBlob(staged, desc, where);
  const data = await staged.read(blobPath(desc.digest));
  let m: unknown;
  try {
    m = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw invalidParameter(`${where}: manifest ${desc.digest} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(m) || !Array.isArray(m.layers)) throw invalidParameter(`${where}: manifest ${desc.digest} has no layers list`);
  const configDesc = parseDescriptor(m.config, `${where} config`);
  await readBlob(staged, configDesc, where);
  const configData = await staged.read(blobPath(configDesc.digest));
  const image = parseImageConfig(configData, configDesc.digest);
  if (!platformMatches(platform, image)) return undefined;
  const layerDescs = m.layers.map((l, j) => parseDescriptor(l, `${where} layer ${j}`));
  if (layerDescs.length !== image.rootfs.diff_ids.length) {
    throw invalidParameter(`${where}: invalid manifest, layers length mismatch: expected ${image.rootfs.diff_ids.length}, got ${layerDescs.length}`);
  }
  const layers: ArchiveLayer[] = [];
  for (const [j, ld] of layerDescs.entries()) {
    const file = await readBlob(staged, ld, `${where} layer ${j}`);
    layers.push({ file, descriptor: { mediaType: ld.mediaType, digest: ld.digest, size: ld.size }, diffId: image.rootfs.diff_ids[j]! });
  }
  return {
    names: [],
    manifest: { descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, data },
    config: { descriptor: { mediaType: configDesc.mediaType, digest: configDesc.digest, size: configDesc.size }, data: configData, image },
    layers,
  };
}

/** Docker ≥ 25 writes both formats; take its RepoTags where index.json named nothing. */
async function namesFromDockerManifest(staged: StagedArchive, images: ArchiveImage[]): Promise<void> {
  let entries: DockerManifestEntry[];
  try {
    entries = parseDockerManifest(await staged.readJson('manifest.json'));
  } catch {
    return;
  }
  for (const e of entries) {
    const configFile = staged.get(e.Config);
    if (!configFile) continue;
    const image = images.find((im) => im.config.descriptor.digest === configFile.digest);
    if (!image || image.names.length > 0) continue;
    image.names.push(...parseNames(e.RepoTags, 'manifest.json'));
  }
}
