// Shapes of the volume module: Docker's Volume object, the mount points a
// container records, and what the container service needs from volumes.

export const LOCAL_DRIVER = 'local';
/** label dockerd puts on volumes created without a name */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** Docker's Volume as the API returns it. */
export interface VolumeView {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

export type MountType = 'volume' | 'bind' | 'tmpfs';

/**
 * One mount of a container, as planned at create and kept in its record.
 * The inspect `Mounts` entry is derived from it.
 */
export interface MountPoint {
  Type: MountType;
  /** volume name ('' until an anonymous volume got its name) */
  Name: string;
  /** bind: host path; volume: the volume's _data (filled at attach); tmpfs: '' */
  Source: string;
  Destination: string;
  /** 'local' for volumes, '' otherwise */
  Driver: string;
  /** the mode string as inspect shows it */
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** copy the image's content into an empty volume at create */
  CopyData: boolean;
  /** created for this container alone: `rm -v` removes it */
  Anonymous: boolean;
  /** bind: a missing source is created (-v) instead of refused (--mount) */
  CreateSource?: boolean;
  /** tmpfs: mount data such as size=64m,mode=1777 */
  Tmpfs?: string;
  /** volume: driver options and labels for a volume that --mount creates */
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
  /** volume: path inside the volume to mount instead of its root */
  Subpath?: string;
  /** --mount volume-nocopy with a volume that must already exist */
  MustExist?: boolean;
}

/** Docker's inspect `Mounts` entry. */
export interface MountView {
  Type: MountType;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface CreateVolumeOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
}
