// Public face of the container service: lifecycle of Docker containers on
// containerd, persisted state, and the pure helpers its routes and tests use.
export { ContainerService, type ContainerAttachOptions } from './service.js';
export type { Container, WaitResult, StateName } from './container.js';
export type { ContainerHooks } from './context.js';
export type { CreateResult } from './create.js';
export type { StopOptions } from './stop.js';
export type { RemoveOptions } from './remove.js';
export type { ShutdownOptions } from './restore.js';
export type { PruneResult } from './admin.js';
export { plannedHostConfig, type UpdateResult } from './update.js';
export type { ListEntry } from './views.js';
export { LIST_FILTERS, compileFilters, type ListOptions, type ListFilters, type ListNetView } from './filters.js';
export { parseWaitCondition, type WaitCondition, type LogsOptions } from './streams.js';
export { parseSignal, signalName } from './signals.js';
export { parseCreateBody } from './create-request.js';
export { checkUnappliedSettings } from './settings-check.js';
export { normalizeName, newContainerId, randomName, shortId } from './names.js';
export { mergeImageConfig, pathAndArgs, processEnv, replaceOrAppendEnv, commandLine, DEFAULT_PATH } from './command.js';
export { resolveUser, parsePasswd, parseGroup, type ProcessUser, type UserFiles } from './user.js';
export { buildSpec, buildProcess, OCI_VERSION, type OciSpec, type SpecInput } from './spec.js';
export { humanDuration, statusText } from './status.js';
export { StateStore } from './state-store.js';
export type {
  ContainerConfig,
  ContainerRecordState,
  ContainerServiceDeps,
  ContainerStateFields,
  CreateRequest,
  HostConfig,
  ImageBackend,
  IoBackend,
  ConfigSource,
  LockedRuntime,
  ResolvedImage,
  ImageConfig,
} from './types.js';
