// Shapes of containerd messages as berth's proto loader decodes them
// (camelCase fields, int64 as number, enums as names, defaults filled in).
// Internal to src/containerd: nothing above this folder sees them.

/** google.protobuf.Any comes from protobufjs' bundled definition, which keeps snake_case. */
export interface WireAny {
  type_url: string;
  value: Buffer;
}

export interface WireTimestamp {
  seconds: number;
  nanos: number;
}

export interface WireMount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

export interface WireDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

export interface WireContainer {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options: WireAny | null } | null;
  spec: WireAny | null;
  snapshotter: string;
  snapshotKey: string;
  createdAt: WireTimestamp | null;
  updatedAt: WireTimestamp | null;
  extensions: Record<string, WireAny>;
}

export interface WireImage {
  name: string;
  labels: Record<string, string>;
  target: WireDescriptor | null;
  createdAt: WireTimestamp | null;
  updatedAt: WireTimestamp | null;
}

export interface WireContentInfo {
  digest: string;
  size: number;
  createdAt: WireTimestamp | null;
  updatedAt: WireTimestamp | null;
  labels: Record<string, string>;
}

export type WireProcessStatus = 'UNKNOWN' | 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED' | 'PAUSING';

export interface WireProcess {
  containerId: string;
  id: string;
  pid: number;
  status: WireProcessStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt: WireTimestamp | null;
}

export type WireSnapshotKind = 'UNKNOWN' | 'VIEW' | 'ACTIVE' | 'COMMITTED';

export interface WireSnapshotInfo {
  name: string;
  parent: string;
  kind: WireSnapshotKind;
  labels: Record<string, string>;
}

export interface WireEnvelope {
  timestamp: WireTimestamp | null;
  namespace: string;
  topic: string;
  event: WireAny | null;
}

export interface WireFieldMask {
  paths: string[];
}
