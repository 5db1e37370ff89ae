// Validation of a plugin's config.json (Docker's plugin config, version 1).
// Keys are matched case-insensitively, as Go's JSON decoder does, so the
// lowercase keys of many published plugins work; the result uses the API's
// canonical names and fills every absent field. Unknown keys are ignored.
import { invalidParameter } from '../errors/index.js';
import type { PluginArgs, PluginConfig, PluginDevice, PluginEnv, PluginMount } from './types.js';

type Obj = Record<string, unknown>;

const NETWORK_TYPES = new Set(['', 'host', 'bridge', 'none', 'null']);
const PROTOCOL_SCHEMES = new Set(['', 'moby.plugins.http/v1']);
const INTERFACE_TYPE = /^([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\.([A-Za-z0-9_-]+)\/([A-Za-z0-9._-]+)$/;

export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
const CAPABILITY_SET = new Set(CAPABILITIES);

/** Fields whose value `docker plugin set` may change, per kind of entry. */
export const SETTABLE_FIELDS = {
  env: ['value'],
  args: ['value'],
  mounts: ['source'],
  devices: ['path'],
} as const;

function fail(field: string, message: string): Error {
  return invalidParameter(`invalid plugin config: ${field}: ${message}`);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A key of `obj` matched like Go's decoder: exact first, then ignoring case. */
function get(obj: Obj, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function object(v: unknown, field: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw fail(field, `expected an object, got ${typeName(v)}`);
  return v as Obj;
}

function str(obj: Obj, key: string, field: string): string {
  const v = get(obj, key);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw fail(field, `expected a string, got ${typeName(v)}`);
  return v;
}

function nullableStr(obj: Obj, key: string, field: string): string | null {
  const v = get(obj, key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw fail(field, `expected a string or null, got ${typeName(v)}`);
  return v;
}

function bool(obj: Obj, key: string, field: string): boolean {
  const v = get(obj, key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw fail(field, `expected true or false, got ${typeName(v)}`);
  return v;
}

function strings(obj: Obj, key: string, field: string): string[] {
  const v = get(obj, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail(field, `expected an array of strings, got ${typeName(v)}`);
  return v.map((item, i) => {
    if (typeof item !== 'string') throw fail(`${field}[${i}]`, `expected a string, got ${typeName(item)}`);
    return item;
  });
}

function list(obj: Obj, key: string, field: string): Obj[] {
  const v = get(obj, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail(field, `expected an array of objects, got ${typeName(v)}`);
  return v.map((item, i) => object(item, `${field}[${i}]`) ?? {});
}

function settable(obj: Obj, field: string, allowed: readonly string[]): string[] {
  const values = strings(obj, 'Settable', `${field}.Settable`);
  for (const s of values) {
    if (!allowed.includes(s)) {
      throw fail(`${field}.Settable`, `"${s}" cannot be settable here: allowed ${allowed.map((a) => `"${a}"`).join(', ')}`);
    }
  }
  return values;
}

function absolute(value: string, field: string): void {
  if (value !== '' && !value.startsWith('/')) throw fail(field, `"${value}" must be an absolute path`);
  if (value.includes('\0')) throw fail(field, 'must not contain NUL characters');
}

function uid(obj: Obj, key: string, field: string): number | undefined {
  const v = get(obj, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw fail(field, `expected an id between 0 and 4294967295, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseInterface(root: Obj): PluginConfig['Interface'] {
  const iface = object(get(root, 'Interface'), 'Interface');
  if (iface === undefined) {
    throw fail('Interface', 'missing: say which plugin APIs the plugin implements, e.g. {"Types": ["docker.volumedriver/1.0"], "Socket": "plugin.sock"}');
  }
  const types = strings(iface, 'Types', 'Interface.Types');
  if (types.length === 0) throw fail('Interface.Types', 'must list at least one type, e.g. "docker.volumedriver/1.0"');
  types.forEach((t, i) => {
    if (!INTERFACE_TYPE.test(t)) throw fail(`Interface.Types[${i}]`, `"${t}" is not of the form PREFIX.CAPABILITY/VERSION (e.g. docker.volumedriver/1.0)`);
  });
  const socket = str(iface, 'Socket', 'Interface.Socket');
  if (socket === '') throw fail('Interface.Socket', 'missing: the name of the socket file the plugin creates in /run/docker/plugins');
  if (socket.includes('/') || socket === '.' || socket === '..' || socket.includes('\0')) {
    throw fail('Interface.Socket', `"${socket}" must be a plain file name (the socket lives in /run/docker/plugins)`);
  }
  const scheme = str(iface, 'ProtocolScheme', 'Interface.ProtocolScheme');
  if (!PROTOCOL_SCHEMES.has(scheme)) {
    throw fail('Interface.ProtocolScheme', `"${scheme}" is not supported: berth speaks moby.plugins.http/v1 (or leave it empty)`);
  }
  return scheme === '' ? { Types: types, Socket: socket } : { Types: types, Socket: socket, ProtocolScheme: scheme };
}

function parseCapabilities(linux: Obj): string[] {
  return strings(linux, 'Capabilities', 'Linux.Capabilities').map((c, i) => {
    const upper = c.toUpperCase();
    const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (!CAPABILITY_SET.has(name)) throw fail(`Linux.Capabilities[${i}]`, `"${c}" is not a Linux capability`);
    return name;
  });
}

function parseDevice(d: Obj, field: string): PluginDevice {
  const path = nullableStr(d, 'Path', `${field}.Path`);
  if (path !== null) absolute(path, `${field}.Path`);
  return {
    Name: str(d, 'Name', `${field}.Name`),
    Description: str(d, 'Description', `${field}.Description`),
    Settable: settable(d, field, SETTABLE_FIELDS.devices),
    Path: path,
  };
}

function parseMount(m: Obj, field: string): PluginMount {
  const destination = str(m, 'Destination', `${field}.Destination`);
  if (destination === '') throw fail(`${field}.Destination`, 'missing: the path inside the plugin');
  absolute(destination, `${field}.Destination`);
  const source = nullableStr(m, 'Source', `${field}.Source`);
  const options = strings(m, 'Options', `${field}.Options`);
  let type = str(m, 'Type', `${field}.Type`);
  if (type === '' && (options.includes('bind') || options.includes('rbind'))) type = 'bind';
  if (type === '') throw fail(`${field}.Type`, 'missing: e.g. "bind" (with Options ["rbind"]) or "tmpfs"');
  const mount: PluginMount = {
    Name: str(m, 'Name', `${field}.Name`),
    Description: str(m, 'Description', `${field}.Description`),
    Settable: settable(m, field, SETTABLE_FIELDS.mounts),
    Source: source,
    Destination: destination,
    Type: type,
    Options: options,
  };
  if (type === 'bind' && source !== null) absolute(source, `${field}.Source`);
  if (type === 'bind' && source === null && !mount.Settable.includes('source')) {
    throw fail(`${field}.Source`, 'a bind mount needs a Source, or "source" in Settable so that `docker plugin set` can give one');
  }
  return mount;
}

function parseEnv(e: Obj, field: string): PluginEnv {
  const name = str(e, 'Name', `${field}.Name`);
  if (name === '' || name.includes('=') || name.includes('\0')) {
    throw fail(`${field}.Name`, `${JSON.stringify(name)} is not a variable name (non-empty, without "=")`);
  }
  return {
    Name: name,
    Description: str(e, 'Description', `${field}.Description`),
    Settable: settable(e, field, SETTABLE_FIELDS.env),
    Value: nullableStr(e, 'Value', `${field}.Value`),
  };
}

function parseArgs(root: Obj): PluginArgs {
  const args = object(get(root, 'Args'), 'Args') ?? {};
  return {
    Name: str(args, 'Name', 'Args.Name'),
    Description: str(args, 'Description', 'Args.Description'),
    Settable: settable(args, 'Args', SETTABLE_FIELDS.args),
    Value: strings(args, 'Value', 'Args.Value'),
  };
}

function unique(names: string[], field: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') continue;
    if (seen.has(n)) throw fail(field, `the name "${n}" appears twice`);
    seen.add(n);
  }
}

/** The validated config with every field present; throws invalid-parameter naming the field. */
export function validatePluginConfig(raw: unknown): PluginConfig {
  const root = object(raw, 'config.json');
  if (root === undefined) throw invalidParameter('invalid plugin config: config.json must hold a JSON object');
  const entrypoint = strings(root, 'Entrypoint', 'Entrypoint');
  if (entrypoint.length === 0 || entrypoint[0] === '') {
    throw fail('Entrypoint', 'missing: the command that starts the plugin, e.g. ["/bin/my-plugin"]');
  }
  const workDir = str(root, 'WorkDir', 'WorkDir');
  absolute(workDir, 'WorkDir');
  const userObj = object(get(root, 'User'), 'User');
  const network = object(get(root, 'Network'), 'Network') ?? {};
  const networkType = str(network, 'Type', 'Network.Type');
  if (!NETWORK_TYPES.has(networkType)) {
    throw fail('Network.Type', `"${networkType}" is not supported: use "host", "none", "bridge" or leave it empty`);
  }
  const linux = object(get(root, 'Linux'), 'Linux') ?? {};
  const propagatedMount = str(root, 'PropagatedMount', 'PropagatedMount');
  absolute(propagatedMount, 'PropagatedMount');

  const config: PluginConfig = {
    Description: str(root, 'Description', 'Description'),
    Documentation: str(root, 'Documentation', 'Documentation'),
    Interface: parseInterface(root),
    Entrypoint: entrypoint,
    WorkDir: workDir,
    Network: { Type: networkType },
    Linux: {
      Capabilities: parseCapabilities(linux),
      AllowAllDevices: bool(linux, 'AllowAllDevices', 'Linux.AllowAllDevices'),
      Devices: list(linux, 'Devices', 'Linux.Devices').map((d, i) => parseDevice(d, `Linux.Devices[${i}]`)),
    },
    PropagatedMount: propagatedMount,
    IpcHost: bool(root, 'IpcHost', 'IpcHost'),
    PidHost: bool(root, 'PidHost', 'PidHost'),
    Mounts: list(root, 'Mounts', 'Mounts').map((m, i) => parseMount(m, `Mounts[${i}]`)),
    Env: list(root, 'Env', 'Env').map((e, i) => parseEnv(e, `Env[${i}]`)),
    Args: parseArgs(root),
  };
  // Always present, as dockerd shows it ("User": {} when unset).
  const user: { UID?: number; GID?: number } = {};
  const u = userObj === undefined ? undefined : uid(userObj, 'UID', 'User.UID');
  const g = userObj === undefined ? undefined : uid(userObj, 'GID', 'User.GID');
  if (u !== undefined) user.UID = u;
  if (g !== undefined) user.GID = g;
  config.User = user;
  unique(config.Env.map((e) => e.Name), 'Env');
  unique(config.Mounts.map((m) => m.Name), 'Mounts');
  unique(config.Linux.Devices.map((d) => d.Name), 'Linux.Devices');
  return config;
}

/** "docker.volumedriver/1.0" → { prefix: "docker", capability: "volumedriver", version: "1.0" } */
export function parseInterfaceType(t: string): { prefix: string; capability: string; version: string } | undefined {
  const m = INTERFACE_TYPE.exec(t);
  if (m === null) return undefined;
  return { prefix: m[1] ?? '', capability: m[2] ?? '', version: m[3] ?? '' };
}
