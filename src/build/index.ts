// Public face of src/build: `docker build` (the classic builder protocol) and
// `docker commit`, both making images through ImageService.commit.
export { commitContainer, imageConfigOf, type ContainerCommitOptions } from './commit.js';
export type { BuildDeps, CommitDeps, BuildContainers, BuildImages } from './types.js';
