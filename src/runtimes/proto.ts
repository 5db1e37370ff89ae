// The two shim options messages, loaded once from proto/runtimes/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const FILES = ['runc_options.proto', 'runtime_options.proto'];

export const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options';
export const RUNTIME_OPTIONS_TYPE = 'runtimeoptions.v1.Options';

let root: protobuf.Root | undefined;

/** proto/runtimes/ of this checkout, found upwards from this module (src/ or dist/src/). */
function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto', 'runtimes');
    if (existsSync(join(candidate, FILES[0]!))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`proto/runtimes/${FILES[0]} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The message type by its full name; the .proto files are parsed on first use only. */
export function optionsType(fullName: typeof RUNC_OPTIONS_TYPE | typeof RUNTIME_OPTIONS_TYPE): protobuf.Type {
  if (root === undefined) {
    const dir = protoDir();
    root = new protobuf.Root().loadSync(
      FILES.map((f) => join(dir, f)),
      { keepCase: true },
    );
  }
  return root.lookupType(fullName);
}
