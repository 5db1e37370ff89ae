// Exec instances (docker exec) and docker top.
export { ExecService, MAX_IDLE_EXECS_PER_CONTAINER, type ExecServiceOptions, type ExecStartHandle } from './service.js';
export { top, parsePsOutput, validatePsArgs, type TopTarget } from './top.js';
export { buildExecProcess, mergeEnv, type ExecProcessParams } from './process-spec.js';
export { resolveUserSpec, resolveContainerUser, type ResolvedUser } from './user.js';
export { startErrorExitCode } from './start-error.js';
export type { ExecCreateConfig, ExecInspect, ExecStartOptions, ExecTarget, OciProcess, TopResult } from './types.js';
