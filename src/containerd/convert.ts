// Conversions between berth's plain types (types.ts) and the wire shapes.
// Pure functions: unit-tested without containerd.
import type {
  AnyMessage,
  ContainerRecord,
  ContentInfo,
  Descriptor,
  ImageRecord,
  Mount,
  ProcessInfo,
  ProcessStatus,
  SnapshotInfo,
} from './types.js';
import type {
  WireAny,
  WireContainer,
  WireContentInfo,
  WireDescriptor,
  WireImage,
  WireMount,
  WireProcess,
  WireSnapshotInfo,
  WireTimestamp,
} from './wire.js';

// Go's zero time.Time, which containerd sends for "never" (e.g. exited_at of a running process).
const GO_ZERO_TIME_SECONDS = -62135596800;

export function toWireAny(a: AnyMessage): WireAny;
export function toWireAny(a: AnyMessage | undefined): WireAny | undefined;
export function toWireAny(a: AnyMessage | undefined): WireAny | undefined {
  return a === undefined ? undefined : { type_url: a.typeUrl, value: a.value };
}

export function fromWireAny(w: WireAny | null | undefined): AnyMessage | undefined {
  if (w === null || w === undefined) return undefined;
  return { typeUrl: w.type_url, value: Buffer.from(w.value) };
}

/** The message name of an Any's type URL: `types.googleapis.com/a.b.C` and `a.b.C` both give `a.b.C`. */
export function anyTypeName(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash < 0 ? typeUrl : typeUrl.slice(slash + 1);
}

/** An Any carrying JSON, as containerd stores OCI specs. */
/**
 * A JSON-encoded Any. Rlimits of RLIM_INFINITY are 2^64 as JavaScript
 * numbers (no double is 2^64-1), which JSON.stringify would write as
 * 18446744073709552000, a number runc cannot read into its uint64: they are
 * written as 18446744073709551615.
 */
export function jsonAny(typeUrl: string, value: unknown): AnyMessage {
  let unlimited = false;
  const text = JSON.stringify(value, (key, v: unknown) => {
    if (v === UNLIMITED && (key === 'hard' || key === 'soft')) {
      unlimited = true;
      return UNLIMITED_MARK;
    }
    return v;
  });
  return { typeUrl, value: Buffer.from(unlimited ? text.replaceAll(`"${UNLIMITED_MARK}"`, '18446744073709551615') : text) };
}

const UNLIMITED = 2 ** 64;
const UNLIMITED_MARK = 'berth:RLIM_INFINITY';

export function decodeJsonAny(a: AnyMessage): unknown {
  return JSON.parse(a.value.toString('utf8'));
}

export function toTimestamp(d: Date): WireTimestamp;
export function toTimestamp(d: Date | undefined): WireTimestamp | undefined;
export function toTimestamp(d: Date | undefined): WireTimestamp | undefined {
  if (d === undefined) return undefined;
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** Date of a timestamp; undefined for absent, the Unix epoch zero value and Go's zero time. */
export function fromTimestamp(ts: WireTimestamp | null | undefined): Date | undefined {
  if (ts === null || ts === undefined) return undefined;
  const seconds = Number(ts.seconds);
  const nanos = Number(ts.nanos);
  if ((seconds === 0 && nanos === 0) || seconds <= GO_ZERO_TIME_SECONDS) return undefined;
  return new Date(seconds * 1000 + Math.floor(nanos / 1_000_000));
}

export function toWireDescriptor(d: Descriptor): WireDescriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} };
}

export function fromWireDescriptor(w: WireDescriptor | null | undefined): Descriptor {
  if (w === null || w === undefined) return { mediaType: '', digest: '', size: 0 };
  const d: Descriptor = { mediaType: w.mediaType, digest: w.digest, size: Number(w.size) };
  if (Object.keys(w.annotations).length > 0) d.annotations = { ...w.annotations };
  return d;
}

export function toWireMount(m: Mount): WireMount {
  return { type: m.type, source: m.source, target: m.target ?? '', options: [...m.options] };
}

export function fromWireMount(w: WireMount): Mount {
  const m: Mount = { type: w.type, source: w.source, options: [...w.options] };
  if (w.target !== '') m.target = w.target;
  return m;
}

/** Only the fields a client may set: containerd owns the timestamps. */
export function toWireContainer(c: ContainerRecord): Partial<WireContainer> {
  const w: Partial<WireContainer> = {
    id: c.id,
    labels: { ...c.labels },
    image: c.image,
    runtime: { name: c.runtime.name, options: toWireAny(c.runtime.options) ?? null },
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshotKey,
  };
  if (c.spec !== undefined) w.spec = toWireAny(c.spec);
  if (c.extensions !== undefined) {
    const ext: Record<string, WireAny> = {};
    for (const [k, v] of Object.entries(c.extensions)) ext[k] = toWireAny(v);
    w.extensions = ext;
  }
  return w;
}

export function fromWireContainer(w: WireContainer | null | undefined): ContainerRecord {
  if (w === null || w === undefined) throw new Error('containerd answered without a container record');
  const c: ContainerRecord = {
    id: w.id,
    labels: { ...w.labels },
    image: w.image,
    runtime: { name: w.runtime?.name ?? '' },
    snapshotter: w.snapshotter,
    snapshotKey: w.snapshotKey,
  };
  const options = fromWireAny(w.runtime?.options);
  if (options !== undefined) c.runtime.options = options;
  const spec = fromWireAny(w.spec);
  if (spec !== undefined) c.spec = spec;
  const createdAt = fromTimestamp(w.createdAt);
  if (createdAt !== undefined) c.createdAt = createdAt;
  const updatedAt = fromTimestamp(w.updatedAt);
  if (updatedAt !== undefined) c.updatedAt = updatedAt;
  const keys = Object.keys(w.extensions);
  if (keys.length > 0) {
    const ext: Record<string, AnyMessage> = {};
    for (const k of keys) {
      const v = fromWireAny(w.extensions[k]);
      if (v !== undefined) ext[k] = v;
    }
    c.extensions = ext;
  }
  return c;
}

export function toWireImage(i: ImageRecord): Partial<WireImage> {
  return { name: i.name, labels: { ...i.labels }, target: toWireDescriptor(i.target) };
}

export function fromWireImage(w: WireImage | null | undefined): ImageRecord {
  if (w === null || w === undefined) throw new Error('containerd answered without an image record');
  const i: ImageRecord = { name: w.name, labels: { ...w.labels }, target: fromWireDescriptor(w.target) };
  const createdAt = fromTimestamp(w.createdAt);
  if (createdAt !== undefined) i.createdAt = createdAt;
  const updatedAt = fromTimestamp(w.updatedAt);
  if (updatedAt !== undefined) i.updatedAt = updatedAt;
  return i;
}

export function toWireContentInfo(i: ContentInfo): Partial<WireContentInfo> {
  return { digest: i.digest, size: i.size, labels: { ...i.labels } };
}

export function fromWireContentInfo(w: WireContentInfo | null | undefined): ContentInfo {
  if (w === null || w === undefined) throw new Error('containerd answered without a content record');
  const i: ContentInfo = { digest: w.digest, size: Number(w.size), labels: { ...w.labels } };
  const createdAt = fromTimestamp(w.createdAt);
  if (createdAt !== undefined) i.createdAt = createdAt;
  const updatedAt = fromTimestamp(w.updatedAt);
  if (updatedAt !== undefined) i.updatedAt = updatedAt;
  return i;
}

const PROCESS_STATUS: Record<string, ProcessStatus> = {
  UNKNOWN: 'unknown',
  CREATED: 'created',
  RUNNING: 'running',
  STOPPED: 'stopped',
  PAUSED: 'paused',
  PAUSING: 'pausing',
};

export function processStatus(s: string): ProcessStatus {
  return PROCESS_STATUS[s] ?? 'unknown';
}

/**
 * containerd 1.6 leaves container_id empty in Get and List answers, so the
 * caller supplies it; a task listed by List is its container's init process,
 * whose id is the container id.
 */
export function fromWireProcess(w: WireProcess | null | undefined, containerId?: string): ProcessInfo {
  if (w === null || w === undefined) throw new Error('containerd answered without a process record');
  const p: ProcessInfo = {
    id: w.id,
    containerId: w.containerId !== '' ? w.containerId : (containerId ?? w.id),
    pid: w.pid,
    status: processStatus(w.status),
    stdin: w.stdin,
    stdout: w.stdout,
    stderr: w.stderr,
    terminal: w.terminal,
    exitStatus: w.exitStatus,
  };
  const exitedAt = fromTimestamp(w.exitedAt);
  if (exitedAt !== undefined) p.exitedAt = exitedAt;
  return p;
}

const SNAPSHOT_KIND: Record<string, SnapshotInfo['kind']> = {
  VIEW: 'view',
  ACTIVE: 'active',
  COMMITTED: 'committed',
};

export function fromWireSnapshotInfo(w: WireSnapshotInfo | null | undefined): SnapshotInfo {
  if (w === null || w === undefined) throw new Error('containerd answered without a snapshot record');
  return { name: w.name, parent: w.parent, kind: SNAPSHOT_KIND[w.kind] ?? 'unknown', labels: { ...w.labels } };
}
