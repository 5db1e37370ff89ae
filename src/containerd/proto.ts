// Loads berth's containerd .proto subset once per process and hands out
// method definitions (path + codecs) and message codecs by full name, built
// directly on protobufjs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_FILES = [
  'containerd/services/version/v1/version.proto',
  'containerd/services/namespaces/v1/namespace.proto',
  'containerd/services/containers/v1/containers.proto',
  'containerd/services/tasks/v1/tasks.proto',
  'containerd/services/content/v1/content.proto',
  'containerd/services/images/v1/images.proto',
  'containerd/services/snapshots/v1/snapshots.proto',
  'containerd/services/diff/v1/diff.proto',
  'containerd/services/leases/v1/leases.proto',
  'containerd/services/events/v1/events.proto',
  'containerd/services/introspection/v1/introspection.proto',
  'containerd/events/task.proto',
  'cgroups/v1/metrics.proto',
  'cgroups/v2/metrics.proto',
];

export type ServiceName =
  | 'containerd.services.version.v1.Version'
  | 'containerd.services.namespaces.v1.Namespaces'
  | 'containerd.services.containers.v1.Containers'
  | 'containerd.services.tasks.v1.Tasks'
  | 'containerd.services.content.v1.Content'
  | 'containerd.services.images.v1.Images'
  | 'containerd.services.snapshots.v1.Snapshots'
  | 'containerd.services.diff.v1.Diff'
  | 'containerd.services.leases.v1.Leases'
  | 'containerd.services.events.v1.Events'
  | 'containerd.services.introspection.v1.Introspection';

export interface Method {
  /** gRPC path: /package.Service/Method */
  path: string;
  requestSerialize: (value: object) => Buffer;
  responseDeserialize: (bytes: Buffer) => object;
}

export interface MessageCodec {
  serialize: (value: object) => Buffer;
  deserialize: (bytes: Buffer) => object;
}

/**
 * How decoded messages look to the rest of berth: 64-bit integers as numbers,
 * enums by name, absent fields with their defaults, oneofs naming the field set.
 */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

let cachedRoot: protobuf.Root | undefined;
const codecs = new Map<string, MessageCodec>();
const methods = new Map<string, Method>();

/** The `proto/` folder of the package, found from this file whether it runs from src/ or dist/src/. */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto', PROTO_FILES[0] ?? ''))) {
      return join(dir, 'proto');
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find berth's proto/ folder above ${fileURLToPath(import.meta.url)}; reinstall berth`);
    }
    dir = parent;
  }
}

function root(): protobuf.Root {
  if (cachedRoot === undefined) {
    const dir = protoRoot();
    const r = new protobuf.Root();
    // Imports are relative to proto/; google/protobuf/* come bundled with protobufjs.
    r.resolvePath = (_origin, target) => join(dir, target);
    r.loadSync(PROTO_FILES, { keepCase: false });
    r.resolveAll();
    cachedRoot = r;
  }
  return cachedRoot;
}

function codecOf(type: protobuf.Type): MessageCodec {
  let codec = codecs.get(type.fullName);
  if (codec === undefined) {
    codec = {
      serialize: (value) => {
        const bytes = type.encode(type.fromObject(value)).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      deserialize: (bytes) => type.toObject(type.decode(bytes), TO_OBJECT),
    };
    codecs.set(type.fullName, codec);
  }
  return codec;
}

export function method(service: ServiceName, name: string): Method {
  const key = `${service}/${name}`;
  let m = methods.get(key);
  if (m === undefined) {
    const svc = root().lookup(service);
    const rpc = svc instanceof protobuf.Service ? svc.methods[name] : undefined;
    if (rpc === undefined) throw new Error(`containerd method ${key} is missing from berth's proto subset`);
    rpc.resolve();
    const request = codecOf(rpc.resolvedRequestType!);
    const response = codecOf(rpc.resolvedResponseType!);
    m = { path: `/${key}`, requestSerialize: request.serialize, responseDeserialize: response.deserialize };
    methods.set(key, m);
  }
  return m;
}

/** Codec of a message by full protobuf name, or undefined if the subset lacks it. */
export function messageCodec(fullName: string): MessageCodec | undefined {
  const type = root().lookup(fullName);
  return type instanceof protobuf.Type ? codecOf(type) : undefined;
}
