// A plugin's user-changeable settings: their initial values from the config,
// and `docker plugin set NAME[.FIELD]=VALUE` with Docker's rules (only
// fields the config declares Settable).
import { invalidParameter } from '../errors/index.js';
import { SETTABLE_FIELDS } from './config.js';
import type { PluginConfig, PluginSettings } from './types.js';

export function initialSettings(config: PluginConfig): PluginSettings {
  return {
    Mounts: config.Mounts.map((m) => ({ ...m, Settable: [...m.Settable], Options: [...m.Options] })),
    Env: config.Env.filter((e) => e.Value !== null).map((e) => `${e.Name}=${e.Value ?? ''}`),
    Args: [...config.Args.Value],
    Devices: config.Linux.Devices.map((d) => ({ ...d, Settable: [...d.Settable] })),
  };
}

interface Setting {
  name: string;
  field: string;
  value: string;
}

const FORMAT_HINT = 'use NAME[.FIELD]=VALUE, e.g. DEBUG=1';

export function parseSetting(arg: string): Setting {
  const eq = arg.indexOf('=');
  if (eq === 0 || arg === '') throw invalidParameter(`invalid setting ${JSON.stringify(arg)}: ${FORMAT_HINT}`);
  let name = eq < 0 ? arg : arg.slice(0, eq);
  const value = eq < 0 ? '' : arg.slice(eq + 1);
  let field = '';
  const dot = name.lastIndexOf('.');
  if (dot > 0) {
    field = name.slice(dot + 1);
    name = name.slice(0, dot);
  }
  return { name, field, value };
}

function pretty(s: Setting): string {
  return s.field === '' ? s.name : `${s.name}.${s.field}`;
}

/** Checks that `s` may change this entry; returns the field it changes. */
function settableField(s: Setting, allowed: readonly string[], declared: readonly string[]): string {
  let field = s.field;
  if (field === '') {
    if (declared.length > 1) {
      throw invalidParameter(`${JSON.stringify(s.name)} has several settable fields (${declared.join(', ')}): name one, e.g. ${s.name}.${declared[0]}=VALUE`);
    }
    field = declared[0] ?? '';
  }
  if (!allowed.includes(field) || !declared.includes(field)) {
    throw invalidParameter(`${JSON.stringify(pretty(s))} is not settable: the plugin config does not declare it Settable`);
  }
  return field;
}

/** The settings after applying every `NAME[.FIELD]=VALUE`; throws invalid-parameter and changes nothing on error. */
export function applySettings(config: PluginConfig, current: PluginSettings, args: readonly string[]): PluginSettings {
  const next: PluginSettings = {
    Mounts: current.Mounts.map((m) => ({ ...m })),
    Env: [...current.Env],
    Args: [...current.Args],
    Devices: current.Devices.map((d) => ({ ...d })),
  };
  for (const arg of args) {
    const s = parseSetting(arg);
    const env = config.Env.find((e) => e.Name === s.name);
    if (env !== undefined) {
      settableField(s, SETTABLE_FIELDS.env, env.Settable);
      const at = next.Env.findIndex((e) => e.split('=', 1)[0] === s.name);
      const entry = `${s.name}=${s.value}`;
      if (at >= 0) next.Env[at] = entry;
      else next.Env.push(entry);
      continue;
    }
    const mountAt = s.name === '' ? -1 : config.Mounts.findIndex((m) => m.Name === s.name);
    if (mountAt >= 0) {
      settableField(s, SETTABLE_FIELDS.mounts, config.Mounts[mountAt]?.Settable ?? []);
      if (!s.value.startsWith('/')) throw invalidParameter(`mount ${s.name}: source "${s.value}" must be an absolute host path`);
      const m = next.Mounts[mountAt];
      if (m !== undefined) m.Source = s.value;
      continue;
    }
    const deviceAt = s.name === '' ? -1 : config.Linux.Devices.findIndex((d) => d.Name === s.name);
    if (deviceAt >= 0) {
      settableField(s, SETTABLE_FIELDS.devices, config.Linux.Devices[deviceAt]?.Settable ?? []);
      if (!s.value.startsWith('/')) throw invalidParameter(`device ${s.name}: path "${s.value}" must be an absolute host path`);
      const d = next.Devices[deviceAt];
      if (d !== undefined) d.Path = s.value;
      continue;
    }
    if (config.Args.Name !== '' && config.Args.Name === s.name) {
      settableField(s, SETTABLE_FIELDS.args, config.Args.Settable);
      next.Args = s.value === '' ? [] : s.value.split(' ');
      continue;
    }
    throw invalidParameter(`setting ${JSON.stringify(s.name)} not found in the plugin configuration`);
  }
  return next;
}
