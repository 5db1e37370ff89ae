// Media types of image content, and the label keys containerd's garbage
// collector follows.

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export function isIndexType(mediaType: string): boolean {
  return mediaType === MT.ociIndex || mediaType === MT.dockerManifestList;
}

export function isManifestType(mediaType: string): boolean {
  return mediaType === MT.ociManifest || mediaType === MT.dockerManifest;
}

export const LABELS = {
  gcContentConfig: 'containerd.io/gc.ref.content.config',
  gcContentLayer: (i: number): string => `containerd.io/gc.ref.content.l.${i}`,
  gcContentManifest: (i: number): string => `containerd.io/gc.ref.content.m.${i}`,
  gcSnapshot: (snapshotter: string): string => `containerd.io/gc.ref.snapshot.${snapshotter}`,
  gcExpire: 'containerd.io/gc.expire',
  uncompressed: 'containerd.io/uncompressed',
  snapshotRef: 'containerd.io/snapshot.ref',
  /** on image records: the unpacked size of the image in bytes */
  imageSize: 'io.berth.image.size',
  /** on image records: the name was pulled, so its target digest is a RepoDigest */
  fromRegistry: 'io.berth.image.from-registry',
} as const;

/** Name prefix of the record that keeps an untagged image alive. */
export const DANGLING_PREFIX = 'berth-dangling@';

export function danglingName(imageId: string): string {
  return DANGLING_PREFIX + imageId;
}

export function isDanglingName(name: string): boolean {
  return name.startsWith(DANGLING_PREFIX);
}
