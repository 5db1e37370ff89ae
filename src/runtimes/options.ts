// `options` of a runtime (daemon.json) → the shim's typed options message,
// protobuf-encoded with its type URL. Unlike dockerd, which drops what it does
// not know, an unknown key or a value of the wrong type is an error.
import type { AnyMessage } from '../containerd/types.js';
import { RUNC_SHIM } from './names.js';
import { optionsType, RUNC_OPTIONS_TYPE, RUNTIME_OPTIONS_TYPE } from './proto.js';

type FieldKind = 'bool' | 'string' | 'uint32' | 'bytes';

interface OptionField {
  /** the spelling daemon.json documents (Go field name, as dockerd) */
  key: string;
  /** field name in the .proto */
  proto: string;
  kind: FieldKind;
}

const RUNC_FIELDS: readonly OptionField[] = [
  { key: 'NoPivotRoot', proto: 'no_pivot_root', kind: 'bool' },
  { key: 'NoNewKeyring', proto: 'no_new_keyring', kind: 'bool' },
  { key: 'ShimCgroup', proto: 'shim_cgroup', kind: 'string' },
  { key: 'IoUid', proto: 'io_uid', kind: 'uint32' },
  { key: 'IoGid', proto: 'io_gid', kind: 'uint32' },
  { key: 'BinaryName', proto: 'binary_name', kind: 'string' },
  { key: 'Root', proto: 'root', kind: 'string' },
  { key: 'SystemdCgroup', proto: 'systemd_cgroup', kind: 'bool' },
  { key: 'CriuImagePath', proto: 'criu_image_path', kind: 'string' },
  { key: 'CriuWorkPath', proto: 'criu_work_path', kind: 'string' },
];

const GENERIC_FIELDS: readonly OptionField[] = [
  { key: 'TypeUrl', proto: 'type_url', kind: 'string' },
  { key: 'ConfigPath', proto: 'config_path', kind: 'string' },
  // A string, taken as UTF-8 text (the body is usually TOML).
  { key: 'ConfigBody', proto: 'config_body', kind: 'bytes' },
];

interface OptionsMessage {
  typeName: typeof RUNC_OPTIONS_TYPE | typeof RUNTIME_OPTIONS_TYPE;
  fields: readonly OptionField[];
  byNormalKey: ReadonlyMap<string, OptionField>;
}

/**
 * Keys match case-insensitively with `_` and `-` ignored, so `BinaryName`,
 * `binaryName`, `binary_name` and `binaryname` are one key (dockerd matches
 * case-insensitively too).
 */
function normalKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

function message(typeName: OptionsMessage['typeName'], fields: readonly OptionField[]): OptionsMessage {
  return { typeName, fields, byNormalKey: new Map(fields.map((f) => [normalKey(f.key), f])) };
}

const RUNC_MESSAGE = message(RUNC_OPTIONS_TYPE, RUNC_FIELDS);
const GENERIC_MESSAGE = message(RUNTIME_OPTIONS_TYPE, GENERIC_FIELDS);

function messageFor(shim: string): OptionsMessage {
  return shim === RUNC_SHIM ? RUNC_MESSAGE : GENERIC_MESSAGE;
}

/** The option keys a shim accepts, in daemon.json spelling. */
export function acceptedOptions(shim: string): string[] {
  return messageFor(shim).fields.map((f) => f.key);
}

const UINT32_MAX = 0xffff_ffff;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Why a value does not fit a field, or undefined when it does. */
function typeProblem(field: OptionField, value: unknown): string | undefined {
  switch (field.kind) {
    case 'bool':
      return typeof value === 'boolean' ? undefined : `must be a boolean (true or false), got ${describe(value)}`;
    case 'string':
    case 'bytes':
      return typeof value === 'string' ? undefined : `must be a string, got ${describe(value)}`;
    case 'uint32':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `must be an integer, got ${describe(value)}`;
      if (value < 0 || value > UINT32_MAX) return `${value} is out of range (0 to ${UINT32_MAX})`;
      return undefined;
  }
}

export interface EncodedOptions {
  options?: AnyMessage;
  errors: string[];
}

/**
 * Converts a runtime's `options` object for a shim into its typed message.
 * Every problem is reported, each naming the runtime, the key and the accepted keys.
 */
export function encodeShimOptions(runtimeName: string, shim: string, options: Record<string, unknown>): EncodedOptions {
  const msg = messageFor(shim);
  const accepted = msg.fields.map((f) => f.key).join(', ');
  const errors: string[] = [];
  const fail = (key: string, problem: string): void => {
    errors.push(`runtime ${runtimeName}: option ${key}: ${problem}; accepted options: ${accepted}`);
  };
  const values = new Map<string, unknown>();
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(options)) {
    const field = msg.byNormalKey.get(normalKey(key));
    if (field === undefined) {
      fail(key, `unknown option for shim ${shim}`);
      continue;
    }
    const earlier = seen.get(field.key);
    if (earlier !== undefined) {
      fail(key, `given twice (also as ${earlier})`);
      continue;
    }
    seen.set(field.key, key);
    const problem = typeProblem(field, value);
    if (problem !== undefined) {
      fail(key, problem);
      continue;
    }
    values.set(field.proto, field.kind === 'bytes' ? Buffer.from(value as string, 'utf8') : value);
  }
  if (errors.length > 0) return { errors };
  return { options: encodeMessage(msg.typeName, Object.fromEntries(values)), errors };
}

function encodeMessage(typeName: OptionsMessage['typeName'], fields: Record<string, unknown>): AnyMessage {
  const type = optionsType(typeName);
  const bytes = type.encode(type.fromObject(fields)).finish();
  return { typeUrl: typeName, value: Buffer.from(bytes) };
}

/** runc shim options that only name the binary: what path runtimes and the stock runtimes use. */
export function runcBinaryOptions(binaryName: string): AnyMessage {
  return encodeMessage(RUNC_OPTIONS_TYPE, { binary_name: binaryName });
}

/** Decodes options produced here back to plain fields (proto names); for `info` and tests. */
export function decodeShimOptions(options: AnyMessage): Record<string, unknown> {
  if (options.typeUrl !== RUNC_OPTIONS_TYPE && options.typeUrl !== RUNTIME_OPTIONS_TYPE) {
    throw new Error(`cannot decode options of type ${options.typeUrl}`);
  }
  const type = optionsType(options.typeUrl);
  return type.toObject(type.decode(options.value), { defaults: false, bytes: String }) as Record<string, unknown>;
}
