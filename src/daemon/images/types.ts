// Shapes of the image subsystem: OCI image configs as stored in containerd's
// content store, and the Docker API views the service answers with.

/** The `config` object of an OCI image config (Docker's field names). */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** A type alias (not an interface) so that it fits plain record types of callers. */
export type HealthConfig = {
  Test?: string[];
  /** nanoseconds */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
};

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An OCI image config blob (application/vnd.oci.image.config.v1+json), with Docker's extra fields. */
export interface OciImage {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  config?: ImageConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
  /** Docker extension: the commit/import message */
  comment?: string;
  docker_version?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An entry of GET /images/json. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** unix seconds */
  Created: number;
  Size: number;
  /** dropped by the API layer for API ≥ 1.44 */
  VirtualSize?: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** Docker's container-config shape used in image inspect. */
export interface InspectConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string> | null;
  StopSignal?: string;
  Shell?: string[];
}

/** GET /images/{name}/json. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339 */
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: InspectConfig;
  /** left the API in 1.45, kept because docker-compose 1.29 reads its Volumes when it recreates containers */
  ContainerConfig?: InspectConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  /** dropped by the API layer for API ≥ 1.44 */
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

/** An entry of GET /images/{name}/history. */
export interface HistoryItem {
  Id: string;
  /** unix seconds */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** An entry of DELETE /images/{name}. */
export type DeleteItem = { Untagged: string } | { Deleted: string };

/** One line of the JSON progress stream of import/load. */
export type ProgressMessage = { status: string } | { stream: string };

/** A container using an image, as the containers service reports it. */
export interface ImageUser {
  id: string;
  running: boolean;
}

/** Returns the containers that use the image with this ID (config digest). */
export type ImageUsageCheck = (imageId: string) => ImageUser[] | Promise<ImageUser[]>;

export interface ImportOptions {
  /** repository, possibly with a tag (`me/app:1`) */
  repo?: string;
  tag?: string;
  /** Dockerfile instructions (`CMD ["sh"]`, `ENV A=b`…) applied to the new config */
  changes?: string[];
  message?: string;
  /** `os[/arch[/variant]]`; the host's by default */
  platform?: string;
  /** the import source as given (`-` for the request body); recorded in the default comment */
  source?: string;
}

export interface LoadOptions {
  quiet?: boolean;
}

export interface ListOptions {
  all?: boolean;
  /** Docker filters: reference, dangling, label, before, since */
  filters?: Map<string, string[]>;
}

export interface RemoveOptions {
  force?: boolean;
  noprune?: boolean;
}

/** What a container needs from its image. */
export interface ResolvedImage {
  /** the image ID (config digest) */
  id: string;
  /** the familiar name it was found by (`busybox:latest`), or the ID */
  name: string;
  config: ImageConfig;
  /** the chain ID of the top layer: the parent of the container's rootfs snapshot ('' for no layers) */
  chainId: string;
  platform: Platform;
}
