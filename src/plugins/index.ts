// Public face of src/plugins: Docker's managed plugins run as containerd tasks
// on the default runtime.
export type {
  DisableOptions,
  EnableOptions,
  PluginArgs,
  PluginConfig,
  PluginDevice,
  PluginEnv,
  PluginInterfaceConfig,
  PluginListFilters,
  PluginMount,
  PluginObject,
  PluginSettings,
  RemoveOptions,
} from './types.js';
export {
  PluginService,
  DEFAULT_ENABLE_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
  type PluginServiceOptions,
  type RuntimeResolver,
} from './service.js';
export type { LockedRuntime } from './lifecycle.js';
export { validatePluginConfig, parseInterfaceType, CAPABILITIES } from './config.js';
export { normalizePluginName, isFullPluginId } from './name.js';
export { initialSettings, applySettings } from './settings.js';
export { buildPluginSpec, PLUGIN_SOCKET_DIR, DEFAULT_CAPABILITIES, type OciSpec, type SpecPaths } from './spec.js';
export { activatePlugin, ActivationError, PLUGIN_MEDIA_TYPE } from './activate.js';
export { extractPluginContext } from './archive.js';
