// The typed face of the containerd client. Everything above src/containerd
// speaks these plain types; protobuf/gRPC shapes never leak past this folder.
// Errors: methods reject with BerthError (src/errors) whose kind is mapped from
// the gRPC status (NOT_FOUND→not-found, ALREADY_EXISTS→conflict,
// UNAVAILABLE→unavailable, INVALID_ARGUMENT→invalid-parameter,
// FAILED_PRECONDITION→conflict, otherwise internal).
import type { Readable } from 'node:stream';

/** google.protobuf.Any */
export interface AnyMessage {
  typeUrl: string;
  value: Buffer;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface RuntimeInfo {
  /** shim name (io.containerd.runc.v2) or absolute shim path */
  name: string;
  options?: AnyMessage;
}

export interface ContainerRecord {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: RuntimeInfo;
  /** OCI runtime spec, JSON-encoded; typeUrl types.containerd.io/opencontainers/runtime-spec/1/Spec */
  spec?: AnyMessage;
  snapshotter: string;
  snapshotKey: string;
  createdAt?: Date;
  updatedAt?: Date;
  extensions?: Record<string, AnyMessage>;
}

export interface ImageRecord {
  name: string;
  labels: Record<string, string>;
  target: Descriptor;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface ContentInfo {
  digest: string;
  size: number;
  createdAt?: Date;
  updatedAt?: Date;
  labels: Record<string, string>;
}

export type ProcessStatus = 'unknown' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing';

export interface ProcessInfo {
  id: string;
  containerId: string;
  pid: number;
  status: ProcessStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt?: Date;
}

export interface ExitInfo {
  exitStatus: number;
  exitedAt?: Date;
}

export interface CreateTaskRequest {
  containerId: string;
  rootfs: Mount[];
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  options?: AnyMessage;
}

export interface ExecProcessRequest {
  containerId: string;
  execId: string;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  /** OCI Process spec JSON; typeUrl types.containerd.io/opencontainers/runtime-spec/1/Process */
  spec: AnyMessage;
}

export interface SnapshotInfo {
  name: string;
  parent: string;
  kind: 'view' | 'active' | 'committed' | 'unknown';
  labels: Record<string, string>;
}

/** One decoded containerd event envelope (topics like /tasks/exit). */
export interface ContainerdEvent {
  timestamp?: Date;
  namespace: string;
  topic: string;
  /** Decoded fields of the known task events (TaskExit, TaskStart, TaskOOM, TaskDelete, TaskPaused, TaskResumed, TaskExecStarted); raw Any otherwise */
  event: TaskEventPayload | AnyMessage;
}

export interface TaskEventPayload {
  containerId: string;
  id?: string;
  execId?: string;
  pid?: number;
  exitStatus?: number;
  exitedAt?: Date;
}

export interface Subscription {
  close(): void;
}

/** One task's metrics: `data` is an io.containerd.cgroups.v1 or v2 Metrics message. */
export interface TaskMetric {
  id: string;
  timestamp?: Date;
  data?: AnyMessage;
}

/** Labels of a blob at its commit, or a promise of them. */
export type IngestLabels = Record<string, string> | undefined | Promise<Record<string, string> | undefined>;

/** Where a resumable source starts: `offset` is 0 when it could not skip ahead. */
export interface IngestSource {
  offset: number;
  stream: AsyncIterable<Buffer | Uint8Array>;
  /**
   * Where offered, the same bytes read straight into the caller's buffer
   * (from its start, until it is full or the source ends; 0 at the end),
   * each read shown to `onBytes` as it lands. The stream is then not used.
   */
  fill?: (target: Buffer, onBytes: (view: Buffer) => void) => Promise<number>;
}

export interface ContainerdClient {
  readonly namespace: string;
  /** A client bound to another namespace over the same connection. */
  withNamespace(namespace: string): ContainerdClient;
  close(): void;
  /** Resolves once the connection answers Version, or rejects after timeoutMs. */
  waitReady(timeoutMs: number): Promise<void>;

  version(): Promise<{ version: string; revision: string }>;
  ensureNamespace(name: string, labels?: Record<string, string>): Promise<void>;

  containers: {
    create(c: ContainerRecord): Promise<ContainerRecord>;
    get(id: string): Promise<ContainerRecord>;
    list(filters?: string[]): Promise<ContainerRecord[]>;
    update(c: ContainerRecord, fieldPaths: string[]): Promise<ContainerRecord>;
    delete(id: string): Promise<void>;
  };

  tasks: {
    create(req: CreateTaskRequest): Promise<{ pid: number }>;
    start(containerId: string, execId?: string): Promise<{ pid: number }>;
    delete(containerId: string): Promise<ExitInfo & { pid: number }>;
    deleteProcess(containerId: string, execId: string): Promise<ExitInfo & { pid: number }>;
    get(containerId: string, execId?: string): Promise<ProcessInfo>;
    list(): Promise<ProcessInfo[]>;
    kill(containerId: string, signal: number, opts?: { execId?: string; all?: boolean }): Promise<void>;
    exec(req: ExecProcessRequest): Promise<void>;
    resizePty(containerId: string, width: number, height: number, execId?: string): Promise<void>;
    closeIO(containerId: string, execId?: string): Promise<void>;
    pause(containerId: string): Promise<void>;
    resume(containerId: string): Promise<void>;
    listPids(containerId: string): Promise<number[]>;
    /** Long-running: resolves when the process exits. */
    wait(containerId: string, execId?: string): Promise<ExitInfo>;
    /** cgroup metrics of the tasks matching the filters (e.g. `id==<container>`) */
    metrics(filters: string[]): Promise<TaskMetric[]>;
    /** new resources (an Any of OCI LinuxResources) for a running task */
    update(containerId: string, resources: AnyMessage): Promise<void>;
  };

  content: {
    info(digest: string): Promise<ContentInfo>;
    list(filters?: string[]): Promise<ContentInfo[]>;
    delete(digest: string): Promise<void>;
    update(info: ContentInfo, fieldPaths: string[]): Promise<ContentInfo>;
    /** Whole blob as a stream, or `size` bytes from `offset`. */
    read(digest: string, range?: { offset: number; size: number }): Readable;
    readAll(digest: string): Promise<Buffer>;
    /**
     * Store a blob under `ref` and commit it with the expected digest/size
     * (pass size -1 if unknown); labels on commit (e.g. GC refs).
     * Idempotent: an existing blob with that digest resolves without writing.
     */
    write(ref: string, data: Buffer | Readable, expected: { digest: string; size: number }, labels?: Record<string, string>): Promise<void>;
    /**
     * Resumable write: `open(offset)` supplies the bytes from the ingest's
     * resume point (see content-write.ts); progress gets the bytes stored.
     * The labels may still be on their way: they are awaited at the commit.
     * `ready` (the lease the client names, being made) is awaited before
     * containerd is first asked; bytes may be fetched meanwhile.
     */
    ingest(
      ref: string,
      expected: { digest: string; size: number },
      labels: IngestLabels,
      open: (offset: number) => Promise<IngestSource>,
      opts?: { progress?: (offset: number) => void; ready?: Promise<unknown> },
    ): Promise<'exists' | 'written'>;
  };

  images: {
    get(name: string): Promise<ImageRecord>;
    list(filters?: string[]): Promise<ImageRecord[]>;
    create(image: ImageRecord): Promise<ImageRecord>;
    update(image: ImageRecord, fieldPaths?: string[]): Promise<ImageRecord>;
    delete(name: string, sync?: boolean): Promise<void>;
  };

  snapshots: {
    prepare(snapshotter: string, key: string, parent: string, labels?: Record<string, string>): Promise<Mount[]>;
    view(snapshotter: string, key: string, parent: string, labels?: Record<string, string>): Promise<Mount[]>;
    mounts(snapshotter: string, key: string): Promise<Mount[]>;
    commit(snapshotter: string, name: string, key: string, labels?: Record<string, string>): Promise<void>;
    remove(snapshotter: string, key: string): Promise<void>;
    stat(snapshotter: string, key: string): Promise<SnapshotInfo>;
    list(snapshotter: string, filters?: string[]): Promise<SnapshotInfo[]>;
  };

  diff: {
    /** Apply a layer blob onto mounts; returns the applied (uncompressed) descriptor. */
    apply(layer: Descriptor, mounts: Mount[]): Promise<Descriptor>;
    /**
     * Writes the changes from `left` to `right` as a layer blob into the
     * content store (labels on the blob); returns its descriptor.
     */
    diff(left: Mount[], right: Mount[], opts?: { mediaType?: string; ref?: string; labels?: Record<string, string> }): Promise<Descriptor>;
  };

  leases: {
    create(id?: string, labels?: Record<string, string>): Promise<{ id: string }>;
    delete(id: string, sync?: boolean): Promise<void>;
  };

  /** Every subsequent call made through the returned client carries the lease. */
  withLease(leaseId: string): ContainerdClient;

  events: {
    /** Streams events matching filters (e.g. 'topic~="/tasks/"'); reconnect is the caller's job, onEnd reports stream end. */
    subscribe(filters: string[], onEvent: (e: ContainerdEvent) => void, onEnd: (err?: Error) => void): Subscription;
  };
}

export const OCI_SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const OCI_PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
