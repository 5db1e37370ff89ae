// Public face of the container file operations shared by the container and
// image services: in-root path resolution, snapshot mounting, layer facts.
export { ContainerRoot, components, notADirectory, type Resolved, type ResolveOptions } from './resolve.js';
export { withMountedSnapshot, mountSnapshot, unmountAll, type SnapshotMount, type ExtraBind } from './mount.js';
export { layerDirs, upperDir, mayExistInLayers, directorySize } from './layers.js';
export { ContainerFiles, type FileTarget, type TargetMount, type ArchiveRead, type PutOptions } from './service.js';
export { goFileMode, followsFinal, archiveBase, statPath, tarPath, extractTo, type PathStat } from './archive.js';
export { entryPath } from './unpack-plan.js';
export { overlayChanges, type Change } from './changes.js';
export { streamTar, TarParser, type StreamedEntry, type TarSink, type TarEntry } from './tarscan.js';
