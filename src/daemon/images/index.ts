// Public face of the image service: images in containerd's image store
// (import, load, save, list, inspect, tag, rmi) and what containers need.
export { ImageService, type ImageServiceOptions, type PruneResult } from './service.js';
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
export { chainIds, shortId } from './digest.js';
export type { PullOptions } from './pull.js';
export type { PushOptions } from './push.js';
export type { AuthConfig } from '../../distribution/index.js';
