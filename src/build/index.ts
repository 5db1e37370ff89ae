// Public face of src/build: `docker build` (the classic builder protocol) and
// `docker commit`, both making images through ImageService.commit.
export { commitContainer, imageConfigOf, type ContainerCommitOptions } from './commit.js';
export type { BuildDeps, CommitDeps, BuildContainers, BuildImages } from './types.js';
export { startBuild, type StartedBuild } from './builder.js';
export { parseBuildQuery, mobyBool, type BuildOptions } from './options.js';
export { parseDockerfile, type ParsedDockerfile, type Instruction, type Stage } from './parse.js';
export { cacheKey, type CacheKeyInput } from './cache.js';
export { removeStaleBuildFiles } from './context.js';
