// What the builder and `docker commit` need from the container and image
// services: narrow views of them, so the module depends on no more.
import type { Container, ContainerService } from '../daemon/containers/index.js';
import type { ImageService } from '../daemon/images/index.js';
import type { Logger } from '../log/index.js';

export type CommitContainer = Container;

export type BuildContainers = Pick<ContainerService, 'get' | 'pause' | 'unpause' | 'create' | 'removesAfterExit' | 'start' | 'attach' | 'remove' | 'kill' | 'wait'>;

export type BuildImages = Pick<
  ImageService,
  'commit' | 'lease' | 'name' | 'normalizeTags' | 'findBuildCache' | 'cacheFromStep' | 'resolveForContainer' | 'prepareRootfs' | 'removeRootfs' | 'viewRootfs' | 'pull' | 'snapshotter' | 'pruneBuildCache'
>;

export interface CommitDeps {
  containers: BuildContainers;
  images: BuildImages;
}

export interface BuildDeps extends CommitDeps {
  logger: Logger;
  /** where build contexts are unpacked (<data-root>/tmp) */
  tmpDir: string;
}
