// Docker's managed-plugin shapes, as the Engine API shows them (GET /plugins,
// GET /plugins/{name}/json) and as plugin.json stores them.

export interface PluginInterfaceConfig {
  /** e.g. ["docker.volumedriver/1.0"] */
  Types: string[];
  /** socket file name the plugin creates under /run/docker/plugins */
  Socket: string;
  ProtocolScheme?: string;
}

export interface PluginMount {
  Name: string;
  Description: string;
  Settable: string[];
  /** host path; null until set for settable mounts without a default */
  Source: string | null;
  Destination: string;
  Type: string;
  Options: string[];
}

export interface PluginDevice {
  Name: string;
  Description: string;
  Settable: string[];
  Path: string | null;
}

export interface PluginEnv {
  Name: string;
  Description: string;
  Settable: string[];
  Value: string | null;
}

export interface PluginArgs {
  Name: string;
  Description: string;
  Settable: string[];
  Value: string[];
}

export interface PluginConfig {
  DockerVersion?: string;
  Description: string;
  Documentation: string;
  Interface: PluginInterfaceConfig;
  Entrypoint: string[];
  WorkDir: string;
  User?: { UID?: number; GID?: number };
  Network: { Type: string };
  Linux: { Capabilities: string[]; AllowAllDevices: boolean; Devices: PluginDevice[] };
  PropagatedMount: string;
  IpcHost: boolean;
  PidHost: boolean;
  Mounts: PluginMount[];
  Env: PluginEnv[];
  Args: PluginArgs;
  rootfs?: { type: string; diff_ids: string[] };
}

export interface PluginSettings {
  Mounts: PluginMount[];
  /** NAME=VALUE */
  Env: string[];
  Args: string[];
  Devices: PluginDevice[];
}

/** One plugin as the API returns it; also the content of <data-root>/plugins/<id>/plugin.json. */
export interface PluginObject {
  Id: string;
  Name: string;
  Enabled: boolean;
  Settings: PluginSettings;
  PluginReference: string;
  Config: PluginConfig;
}

export interface PluginListFilters {
  /** "true"/"false" values of the `enabled` filter */
  enabled?: string[];
  /** capability names, e.g. "volumedriver" */
  capability?: string[];
}

export interface EnableOptions {
  /** seconds to wait for the socket and the activation handshake; 0 or absent → the default */
  timeout?: number;
}

export interface DisableOptions {
  force?: boolean;
}

export interface RemoveOptions {
  force?: boolean;
}
