// Public face of the image service: images in containerd's image store
// (import, load, save, list, inspect, tag, rmi) and what containers need.
export { ImageService, type ImageServiceOptions, type PruneResult, type CommitOptions } from './service.js';
export { EMPTY_LAYER_DIGEST, readOnlyMounts, type CommitResult } from './commit.js';
export { applyChanges, instructionLines, parseJsonArray, type ChangeOptions } from './changes.js';
export { processWord, processWords, splitRawWords } from './shellwords.js';
export type {
  DeleteItem,
  HealthConfig,
  HistoryItem,
  ImageConfig,
  ImageInspect,
  ImageSummary,
  ImageUsageCheck,
  ImageUser,
  ImportOptions,
  InspectConfig,
  ListOptions,
  LoadOptions,
  OciImage,
  Platform,
  ProgressMessage,
  RemoveOptions,
  ResolvedImage,
} from './types.js';
export {
  familiarName,
  familiarString,
  fullString,
  normalizeName,
  parseNormalizedNamed,
  referenceForTag,
  type Reference,
} from './reference.js';
export { chainIds, shortId, HashingStream, detectCompression } from './digest.js';
export type { DistributionInspect, PullOptions } from './pull.js';
export type { PushOptions } from './push.js';
export type { AuthConfig } from '../../distribution/index.js';
export { decompressed, peek } from './streams.js';
export { cleanArchivePath } from './staging.js';
export { globToRegExp } from './filters.js';
export { hostPlatform, parsePlatform, platformMatches, formatPlatform } from './config.js';
