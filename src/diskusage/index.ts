// GET /system/df: images, containers and volumes with their sizes, composed
// from the services that own them.

export interface ImageUsage {
  Id: string;
  Size: number;
  SharedSize: number;
  Containers: number;
}

export interface ContainerUsage {
  Id: string;
  ImageID: string;
  SizeRw?: number;
  SizeRootFs?: number;
}

export interface DiskUsageSources<I extends ImageUsage = ImageUsage, C extends ContainerUsage = ContainerUsage> {
  images(): Promise<I[]>;
  /** every container, stopped ones too */
  containers(): C[];
  /** bytes a container wrote to its rootfs */
  sizeRw(id: string): Promise<number>;
  volumes(): Promise<unknown[]>;
}

export type UsageType = 'image' | 'container' | 'volume' | 'build-cache';
const TYPES: readonly UsageType[] = ['image', 'container', 'volume', 'build-cache'];

export interface DiskUsage {
  LayersSize?: number;
  Images?: ImageUsage[];
  Containers?: ContainerUsage[];
  Volumes?: unknown[];
  BuildCache?: unknown[];
}

/** The `type` query values (API ≥ 1.42); none means all. Unknown ones are refused by the caller's error. */
export function usageTypes(values: readonly string[]): Set<UsageType> | string {
  if (values.length === 0) return new Set(TYPES);
  const out = new Set<UsageType>();
  for (const v of values) {
    if (!(TYPES as readonly string[]).includes(v)) return v;
    out.add(v as UsageType);
  }
  return out;
}

export async function diskUsage<I extends ImageUsage, C extends ContainerUsage>(src: DiskUsageSources<I, C>, types: ReadonlySet<UsageType>): Promise<DiskUsage> {
  const out: DiskUsage = {};
  const containers = types.has('container') || types.has('image') ? src.containers() : [];
  if (types.has('image')) {
    const images = await src.images();
    const users = new Map<string, number>();
    for (const c of containers) users.set(c.ImageID, (users.get(c.ImageID) ?? 0) + 1);
    out.Images = images.map((i) => ({ ...i, Containers: users.get(i.Id) ?? 0 }));
    // Unpacked sizes per image; layers shared between images are counted once per image.
    out.LayersSize = images.reduce((s, i) => s + i.Size, 0);
  }
  if (types.has('container')) {
    const sizes = new Map((await src.images().catch(() => [])).map((i) => [i.Id, i.Size]));
    out.Containers = [];
    for (const c of containers) {
      const rw = await src.sizeRw(c.Id).catch(() => 0);
      out.Containers.push({ ...c, SizeRw: rw, SizeRootFs: rw + (sizes.get(c.ImageID) ?? 0) });
    }
  }
  if (types.has('volume')) out.Volumes = await src.volumes();
  if (types.has('build-cache')) out.BuildCache = [];
  return out;
}
