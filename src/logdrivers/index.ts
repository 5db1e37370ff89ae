// Container log drivers: which drivers berth has, how a container's
// LogConfig is completed from the daemon default and checked (dockerd's
// messages), what rotation a driver's options ask for, and the attributes
// (labels, env, tag) each json-file entry carries. Pure: no I/O.
import { invalidParameter } from '../errors/index.js';

export const DRIVERS = ['json-file', 'local', 'none'] as const;
export type DriverName = (typeof DRIVERS)[number];

export const DEFAULT_DRIVER: DriverName = 'json-file';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** What the daemon configuration says for containers that name no driver. */
export interface DaemonLogDefaults {
  driver: string;
  opts: Readonly<Record<string, string>>;
}

const OPTIONS: Readonly<Record<DriverName, readonly string[] | 'any'>> = {
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-size', 'max-file', 'compress'],
  none: 'any',
};

/** dockerd's local driver keeps 5 compressed files of 20 MiB by default. */
const LOCAL_DEFAULTS: Readonly<Record<string, string>> = { 'max-size': String(20 * 1024 * 1024), 'max-file': '5', compress: 'true' };

export function isDriver(name: string): name is DriverName {
  return (DRIVERS as readonly string[]).includes(name);
}

export function noSuchDriver(name: string): Error {
  return invalidParameter(`logger: no log driver named '${name}' is registered`);
}

/** dockerd's text when `docker logs` meets a driver that cannot be read back. */
export const READ_NOT_SUPPORTED = 'configured logging driver does not support reading';

/** Go's units.FromHumanSize: decimal multiples, an optional i and b after the unit. */
export function parseHumanSize(text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text.trim());
  if (m === null) throw invalidParameter(`invalid size: '${text}'`);
  const mult = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}

/**
 * The LogConfig a new container keeps (and inspect shows): an empty type is
 * the daemon's default, whose options fill the ones the container does not
 * set. Unknown drivers and options are refused with dockerd's messages, and
 * option values are checked now rather than at start.
 */
export function resolveLogConfig(requested: Partial<LogConfig> | undefined, defaults: DaemonLogDefaults): LogConfig {
  const type = requested?.Type === undefined || requested.Type === '' ? defaults.driver : requested.Type;
  const config: Record<string, string> = { ...(requested?.Config ?? {}) };
  if (type === defaults.driver) {
    for (const [k, v] of Object.entries(defaults.opts)) if (!Object.hasOwn(config, k)) config[k] = v;
  }
  validateLogConfig(type, config);
  return { Type: type, Config: config };
}

/** Throws invalid-parameter for an unknown driver, an unknown option or a bad value. */
export function validateLogConfig(type: string, config: Readonly<Record<string, string>>): void {
  if (!isDriver(type)) throw noSuchDriver(type);
  const allowed = OPTIONS[type];
  if (allowed !== 'any') {
    for (const key of Object.keys(config)) {
      if (!allowed.includes(key)) throw invalidParameter(`unknown log opt '${key}' for ${type} log driver`);
    }
  }
  if (type !== 'none') rotationOf(type, config);
  for (const key of ['labels-regex', 'env-regex']) {
    const re = config[key];
    if (re === undefined) continue;
    try {
      new RegExp(re);
    } catch {
      throw invalidParameter(`invalid log opt ${key}: ${JSON.stringify(re)} is not a regular expression`);
    }
  }
}

export interface Rotation {
  /** bytes per file; undefined: one file that grows without bound */
  maxSize: number | undefined;
  /** files kept, the current one included */
  maxFile: number;
  /** gzip rotated files */
  compress: boolean;
}

/** The rotation a driver's options ask for (dockerd's json-file rules and messages). */
export function rotationOf(type: string, config: Readonly<Record<string, string>>): Rotation {
  const opts = type === 'local' ? { ...LOCAL_DEFAULTS, ...config } : config;
  let maxSize: number | undefined;
  if (opts['max-size'] !== undefined) {
    maxSize = parseHumanSize(opts['max-size']);
    if (maxSize <= 0) throw invalidParameter('max-size must be a positive number');
  }
  let maxFile = 1;
  if (opts['max-file'] !== undefined) {
    const raw = opts['max-file'];
    if (!/^[+-]?\d+$/.test(raw)) throw invalidParameter(`strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
    maxFile = Number(raw);
    if (maxFile < 1) throw invalidParameter('max-file cannot be less than 1');
  }
  // local compresses by default, where there is something to rotate.
  let compress = type === 'local' && config.compress === undefined ? maxFile > 1 && maxSize !== undefined : false;
  if (opts.compress !== undefined && !(type === 'local' && config.compress === undefined)) {
    const b = parseGoBool(opts.compress);
    if (b === undefined) throw invalidParameter(`strconv.ParseBool: parsing ${JSON.stringify(opts.compress)}: invalid syntax`);
    compress = b;
    if (compress && (maxFile === 1 || maxSize === undefined)) {
      throw invalidParameter('compress cannot be true when max-file is less than 2 or max-size is not set');
    }
  }
  return { maxSize, maxFile, compress };
}

function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** The container facts a log tag template and the attributes can use. */
export interface LogSubject {
  id: string;
  name: string;
  imageName: string;
  imageId: string;
  command: string;
  labels: Readonly<Record<string, string>>;
  env: readonly string[];
  daemonName: string;
}

/** A --log-opt tag template: Go template fields as dockerd offers them. */
export function expandTag(template: string, s: LogSubject): string {
  const bare = s.imageId.replace(/^sha256:/, '');
  const fields: Record<string, string> = {
    ID: s.id.slice(0, 12),
    FullID: s.id,
    Name: s.name.replace(/^\//, ''),
    ImageID: bare.slice(0, 12),
    ImageFullID: s.imageId,
    ImageName: s.imageName,
    DaemonName: s.daemonName,
    Command: s.command,
  };
  return template.replace(/\{\{\s*\.([A-Za-z]+)\s*\}\}/g, (whole, name: string) => fields[name] ?? whole);
}

function listOpt(v: string | undefined): string[] {
  return v === undefined ? [] : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * The `attrs` json-file writes with every entry: the labels and environment
 * variables the options name (or match), and the tag when one is set.
 * Empty when nothing is asked for.
 */
export function logAttributes(config: Readonly<Record<string, string>>, s: LogSubject): Record<string, string> {
  const attrs: Record<string, string> = {};
  const labelNames = listOpt(config.labels);
  const labelRe = config['labels-regex'] !== undefined ? new RegExp(config['labels-regex']) : undefined;
  for (const [k, v] of Object.entries(s.labels)) {
    if (labelNames.includes(k) || labelRe?.test(k) === true) attrs[k] = v;
  }
  const envNames = listOpt(config.env);
  const envRe = config['env-regex'] !== undefined ? new RegExp(config['env-regex']) : undefined;
  for (const pair of s.env) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const k = pair.slice(0, eq);
    if (envNames.includes(k) || envRe?.test(k) === true) attrs[k] = pair.slice(eq + 1);
  }
  if (config.tag !== undefined && config.tag !== '') attrs.tag = expandTag(config.tag, s);
  return attrs;
}
