// Loads berth's containerd .proto subset once per process and hands out
// method definitions (path + codecs) and message codecs by full name.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { MethodDefinition, MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader';

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
  'containerd/events/task.proto',
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
  | 'containerd.services.events.v1.Events';

export type Method = MethodDefinition<object, object>;
export type MessageCodec = MessageTypeDefinition<object, object>;

let cached: PackageDefinition | undefined;

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

function definitions(): PackageDefinition {
  if (cached === undefined) {
    cached = protoLoader.loadSync(PROTO_FILES, {
      includeDirs: [protoRoot()],
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
  }
  return cached;
}

export function method(service: ServiceName, name: string): Method {
  const svc = definitions()[service];
  const m = svc !== undefined && !('format' in svc) ? svc[name] : undefined;
  if (m === undefined) throw new Error(`containerd method ${service}/${name} is missing from berth's proto subset`);
  return m;
}

/** Codec of a message by full protobuf name, or undefined if the subset lacks it. */
export function messageCodec(fullName: string): MessageCodec | undefined {
  const def = definitions()[fullName];
  if (def === undefined || !('format' in def) || def.format !== 'Protocol Buffer 3 DescriptorProto') return undefined;
  return def as MessageCodec;
}
