// Public face of src/containerd: the typed containerd client and berthd's
// managed containerd. gRPC and protobuf shapes stay inside this folder.
export type * from './types.js';
export { OCI_SPEC_TYPE_URL, OCI_PROCESS_TYPE_URL } from './types.js';
export { connectContainerd } from './client.js';
export { waitForContainerd } from './wait.js';
export { watchEvents, type EventWatch, type EventWatchHandlers } from './watch.js';
export type { VersionInfo } from './version.js';
export {
  startManagedContainerd,
  type ManagedContainerd,
  type ManagedContainerdOptions,
  type ContainerdExit,
  type ContainerdRestart,
} from './managed.js';
export { managedLayout, type ManagedLayout } from './managed-config.js';
export { jsonAny, decodeJsonAny, anyTypeName } from './convert.js';
export { messageCodec } from './proto.js';
