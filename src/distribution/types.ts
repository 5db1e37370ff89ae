// Shapes of the registry client: credentials as the Engine API carries them,
// the registry settings of one config snapshot, and content descriptors.

/** Docker's AuthConfig (X-Registry-Auth, POST /auth). Never stored or logged. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 of user:password */
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** The registry part of the daemon configuration. */
export interface RegistrySettings {
  /** mirrors of docker.io, tried in order (`http://127.0.0.1:5000/`) */
  mirrors: readonly string[];
  /** host[:port] or CIDR entries; loopback is always insecure */
  insecure: readonly string[];
  /** <dir>/<host[:port]>/{*.crt, X.cert + X.key} */
  certsDir: string;
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  maxDownloadAttempts: number;
  /** connect and idle timeouts of registry requests */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

/** `docker info`'s RegistryConfig. */
export interface RegistryConfigView {
  AllowNondistributableArtifactsCIDRs: null;
  AllowNondistributableArtifactsHostnames: null;
  InsecureRegistryCIDRs: string[];
  IndexConfigs: Record<string, { Name: string; Mirrors: string[]; Secure: boolean; Official: boolean }>;
  Mirrors: string[];
}
