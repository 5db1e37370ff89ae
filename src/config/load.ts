// Flags + daemon.json text → one validated DaemonConfig (pure: no I/O).
import { join, resolve } from 'node:path';
import { LOG_LEVELS, type LogLevel } from '../log/index.js';
import { parseRuntimeEntries, validateRuntimes, type RuntimeConfig } from '../runtimes/index.js';
import { DEFAULT_DRIVER, validateLogConfig } from '../logdrivers/index.js';
import type { DaemonConfig } from './types.js';
import { ALL_FILE_KEYS, DEFAULTS, type FileKey } from './defaults.js';
import { ConfigError } from './errors.js';
import { parseConfigText, type FileValues } from './file.js';
import { parseAddRuntime, type DaemonFlags } from './flags.js';
import { plaintextTcpErrors, tlsSettings } from '../tls/index.js';
import { registryErrors } from './registry.js';
import { checkUlimits } from '../security/index.js';

/** The flag that sets each file key: its DaemonFlags field and its command-line name. */
/** Keys without a flag (the networking ones) are set in daemon.json only. */
const FLAG_OF: Partial<Record<FileKey, { field: keyof DaemonFlags; name: string }>> = {
  hosts: { field: 'hosts', name: 'host' },
  'data-root': { field: 'dataRoot', name: 'data-root' },
  'exec-root': { field: 'execRoot', name: 'exec-root' },
  pidfile: { field: 'pidfile', name: 'pidfile' },
  containerd: { field: 'containerd', name: 'containerd' },
  'containerd-namespace': { field: 'containerdNamespace', name: 'containerd-namespace' },
  runtimes: { field: 'addRuntime', name: 'add-runtime' },
  'default-runtime': { field: 'defaultRuntime', name: 'default-runtime' },
  debug: { field: 'debug', name: 'debug' },
  'log-level': { field: 'logLevel', name: 'log-level' },
  labels: { field: 'labels', name: 'label' },
  'live-restore': { field: 'liveRestore', name: 'live-restore' },
  'shutdown-timeout': { field: 'shutdownTimeout', name: 'shutdown-timeout' },
  'max-concurrent-downloads': { field: 'maxConcurrentDownloads', name: 'max-concurrent-downloads' },
  group: { field: 'group', name: 'group' },
  'log-driver': { field: 'logDriver', name: 'log-driver' },
  'log-opts': { field: 'logOpts', name: 'log-opt' },
  tls: { field: 'tls', name: 'tls' },
  tlsverify: { field: 'tlsVerify', name: 'tlsverify' },
  tlscacert: { field: 'tlsCaCert', name: 'tlscacert' },
  tlscert: { field: 'tlsCert', name: 'tlscert' },
  tlskey: { field: 'tlsKey', name: 'tlskey' },
  'registry-mirrors': { field: 'registryMirrors', name: 'registry-mirror' },
  'insecure-registries': { field: 'insecureRegistries', name: 'insecure-registry' },
  'max-concurrent-uploads': { field: 'maxConcurrentUploads', name: 'max-concurrent-uploads' },
  'max-download-attempts': { field: 'maxDownloadAttempts', name: 'max-download-attempts' },
  'seccomp-profile': { field: 'seccompProfile', name: 'seccomp-profile' },
  'no-new-privileges': { field: 'noNewPrivileges', name: 'no-new-privileges' },
  'default-ulimits': { field: 'defaultUlimits', name: 'default-ulimit' },
  init: { field: 'init', name: 'init' },
  'init-path': { field: 'initPath', name: 'init-path' },
};

/** --log-opt KEY=VALUE flags as a map. */
function logOptsOf(pairs: readonly string[], errors: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) errors.push(`invalid --log-opt '${pair}': expected KEY=VALUE`);
    else out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** Go's %v for the values dockerd prints in its conflict message. */
function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function conflictMessage(conflicts: [FileKey, string][]): string {
  // dockerd lists conflicts in flag-name order
  const byName = ([a]: [FileKey, string], [b]: [FileKey, string]): number =>
    (FLAG_OF[a]?.name ?? a) < (FLAG_OF[b]?.name ?? b) ? -1 : (FLAG_OF[a]?.name ?? a) > (FLAG_OF[b]?.name ?? b) ? 1 : 0;
  const sorted = conflicts.sort(byName);
  return `the following directives are specified both as a flag and in the configuration file: ${sorted.map(([, text]) => text).join(', ')}`;
}

const NAMESPACE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

function hostError(host: string): string | undefined {
  if (host.startsWith('unix://') && host.slice('unix://'.length).startsWith('/')) return undefined;
  if (host.startsWith('tcp://') && host.length > 'tcp://'.length) return undefined;
  if (host.startsWith('fd://')) return undefined;
  return `invalid host '${host}': use unix:///path/to/socket, tcp://HOST:PORT or fd://`;
}

function labelError(label: string): string | undefined {
  const eq = label.indexOf('=');
  return eq > 0 ? undefined : `invalid label '${label}': labels must be key=value`;
}

/** Value of a key: flag if given, else file, else undefined. */
function pick<T>(flag: T | undefined, file: unknown, isT: (v: unknown) => v is T): T | undefined {
  if (flag !== undefined) return flag;
  return isT(file) ? file : undefined;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isLogLevel = (v: unknown): v is string => typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** The file's runtimes plus --add-runtime ones (path runtimes); a name in both is a conflict. */
function mergeRuntimes(
  flags: DaemonFlags,
  file: FileValues,
): { runtimes: Record<string, RuntimeConfig>; errors: string[]; conflicts: [FileKey, string][] } {
  const errors: string[] = [];
  const conflicts: [FileKey, string][] = [];
  // A non-object `runtimes` is already a schema error.
  const raw = file.runtimes;
  const fromFile = parseRuntimeEntries(typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : undefined);
  errors.push(...fromFile.errors);
  const runtimes: [string, RuntimeConfig][] = Object.entries(fromFile.runtimes);
  const flagNames = new Set<string>();
  for (const value of flags.addRuntime ?? []) {
    let parsed;
    try {
      parsed = parseAddRuntime(value);
    } catch (err) {
      errors.push(...(err as ConfigError).errors);
      continue;
    }
    if (flagNames.has(parsed.name)) {
      errors.push(`runtime ${parsed.name} is given more than once with --add-runtime`);
      continue;
    }
    flagNames.add(parsed.name);
    if (Object.hasOwn(fromFile.runtimes, parsed.name)) {
      const entry = (raw as Record<string, unknown>)[parsed.name];
      conflicts.push(['runtimes', `runtimes.${parsed.name}: (from flag: ${parsed.path}, from file: ${goValue(entry)})`]);
      continue;
    }
    runtimes.push([parsed.name, { path: parsed.path }]);
  }
  return { runtimes: Object.fromEntries(runtimes), errors, conflicts };
}

/** The security keys (seccomp-profile, no-new-privileges, default-ulimits, init, init-path); only those set. */
function securitySettings(flags: DaemonFlags, file: FileValues, errors: string[]): Partial<DaemonConfig> {
  const out: Partial<DaemonConfig> = {};
  const seccomp = pick(flags.seccompProfile, file['seccomp-profile'], isString);
  if (seccomp !== undefined) out.seccompProfile = seccomp;
  const nnp = pick(flags.noNewPrivileges, file['no-new-privileges'], isBool);
  if (nnp !== undefined) out.noNewPrivileges = nnp;
  const init = pick(flags.init, file.init, isBool);
  if (init !== undefined) out.init = init;
  const initPath = pick(flags.initPath, file['init-path'], isString);
  if (initPath !== undefined) out.initPath = initPath;
  const rawUlimits = flags.defaultUlimits ?? file['default-ulimits'];
  if (typeof rawUlimits === 'object' && rawUlimits !== null) {
    try {
      const list = Object.entries(rawUlimits as Record<string, unknown>).map(([name, u]) => ({ Name: name, ...(u as object) }));
      out.defaultUlimits = Object.fromEntries(checkUlimits(list).map((u) => [u.Name, u]));
    } catch (err) {
      errors.push(`invalid default-ulimits: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Values of the right type that still cannot work. */
function valueErrors(config: DaemonConfig): string[] {
  const errors: string[] = [];
  for (const host of config.hosts) {
    const e = hostError(host);
    if (e !== undefined) errors.push(e);
  }
  for (const label of config.labels) {
    const e = labelError(label);
    if (e !== undefined) errors.push(e);
  }
  if (!NAMESPACE.test(config.containerdNamespace) || config.containerdNamespace.length > 76) {
    errors.push(
      `invalid containerd-namespace '${config.containerdNamespace}': use letters and digits, separated by single '.', '_' or '-'`,
    );
  }
  if (config.containerd !== '' && !config.containerd.startsWith('/') && !config.containerd.startsWith('unix:///')) {
    errors.push(`invalid containerd address '${config.containerd}': give the absolute path of containerd's socket`);
  }
  if (config.group === '') errors.push('invalid group: the group of the API socket must not be empty');
  try {
    validateLogConfig(config.logDriver, config.logOpts);
  } catch (err) {
    errors.push(`invalid log configuration: ${(err as Error).message}`);
  }
  errors.push(...plaintextTcpErrors(config.hosts, tlsSettings(config)));
  errors.push(...registryErrors(config));
  return errors;
}

type NetworkFields = Pick<DaemonConfig, 'bip' | 'bridge' | 'defaultAddressPools' | 'iptables' | 'ipForward' | 'ipMasq' | 'icc' | 'mtu' | 'dns' | 'dnsSearch' | 'dnsOpts' | 'userlandProxy' | 'dnsUpstream' | 'cniPluginDirs'>;

const IPV4_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const IPV4_PORT = /^(\d{1,3}\.){3}\d{1,3}(:\d{1,5})?$/;

/** The networking keys of the file (only the set ones), with their value errors. */
function networkFields(file: FileValues, errors: string[]): NetworkFields {
  const out: NetworkFields = {};
  const str = (k: FileKey): string | undefined => (isString(file[k]) ? (file[k] as string) : undefined);
  const bool = (k: FileKey): boolean | undefined => (isBool(file[k]) ? (file[k] as boolean) : undefined);
  const strs = (k: FileKey): string[] | undefined => (isStrings(file[k]) ? (file[k] as string[]) : undefined);
  const set = <K extends keyof NetworkFields>(k: K, v: NetworkFields[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('bip', str('bip'));
  set('bridge', str('bridge'));
  set('iptables', bool('iptables'));
  set('ipForward', bool('ip-forward'));
  set('ipMasq', bool('ip-masq'));
  set('icc', bool('icc'));
  set('userlandProxy', bool('userland-proxy'));
  set('mtu', isInt(file.mtu) ? file.mtu : undefined);
  set('dns', strs('dns'));
  set('dnsSearch', strs('dns-search'));
  set('dnsOpts', strs('dns-opts'));
  set('dnsUpstream', strs('dns-upstream'));
  set('cniPluginDirs', strs('cni-plugin-dirs'));
  const pools = file['default-address-pools'];
  if (Array.isArray(pools)) out.defaultAddressPools = pools as Array<{ base: string; size: number }>;
  if (out.bip !== undefined && !IPV4_CIDR.test(out.bip)) errors.push(`invalid bip '${out.bip}': use an IPv4 address with its prefix, e.g. 10.213.0.1/24`);
  for (const p of out.defaultAddressPools ?? []) {
    if (!IPV4_CIDR.test(p.base) || Number(p.base.split('/')[1]) > p.size) errors.push(`invalid default-address-pools entry ${JSON.stringify(p)}: base is an IPv4 CIDR whose prefix is at most size`);
  }
  // dockerd's refusal: icc=false is made of iptables rules.
  if (out.icc === false && out.iptables === false) errors.push('You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true.');
  for (const dir of out.cniPluginDirs ?? []) if (!dir.startsWith('/')) errors.push(`invalid cni-plugin-dirs entry '${dir}': use an absolute path`);
  for (const d of [...(out.dns ?? []), ...(out.dnsUpstream ?? [])]) {
    if (!IPV4_PORT.test(d)) errors.push(`invalid DNS server '${d}': use an IPv4 address (dns-upstream also takes IP:PORT)`);
  }
  return out;
}

/**
 * Builds the configuration from flags and the file's text (undefined when
 * there is no file). Every error is collected; the thrown ConfigError lists
 * them all. Only invalid JSON stops early.
 */
/** dockerd's default certificate paths: under DOCKER_CERT_PATH when it is set. */
function tlsDefault(flags: DaemonFlags, file: string, fallback: string): string {
  return flags.certPath ? join(flags.certPath, file) : fallback;
}

export function loadConfig(flags: DaemonFlags, fileText: string | undefined, fileName: string): DaemonConfig {
  const errors: string[] = [];
  let file: FileValues = {};
  if (fileText !== undefined) {
    const parsed = parseConfigText(fileText, fileName);
    file = parsed.values;
    errors.push(...parsed.errors);
  }

  const conflicts: [FileKey, string][] = [];
  const merged = mergeRuntimes(flags, file);
  errors.push(...merged.errors);
  conflicts.push(...merged.conflicts);
  for (const key of ALL_FILE_KEYS) {
    if (key === 'runtimes' || !Object.hasOwn(file, key)) continue;
    const flag = FLAG_OF[key];
    if (flag === undefined) continue;
    const flagValue = flags[flag.field];
    if (flagValue !== undefined) conflicts.push([key, `${key}: (from flag: ${goValue(flagValue)}, from file: ${goValue(file[key])})`]);
  }
  if (conflicts.length > 0) errors.push(conflictMessage(conflicts));

  for (const [flag, value] of [['--data-root', flags.dataRoot], ['--exec-root', flags.execRoot]] as const) {
    if (value === '') errors.push(`${flag} must not be empty`);
  }
  const execRoot = resolve(pick(flags.execRoot || undefined, file['exec-root'], isNonEmpty) ?? DEFAULTS.execRoot);
  const pidfileRaw = pick(flags.pidfile, file.pidfile, isString) ?? resolve(execRoot, DEFAULTS.pidfileName);
  const hostsRaw = pick(flags.hosts, file.hosts, isStrings) ?? [];
  const logLevel = pick(flags.logLevel, file['log-level'], isLogLevel) ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    errors.push(`invalid log level '${logLevel}': use one of ${LOG_LEVELS.join(', ')}`);
  }
  const config: DaemonConfig = {
    configFile: fileName,
    hosts: hostsRaw.length > 0 ? hostsRaw : [DEFAULTS.host],
    dataRoot: resolve(pick(flags.dataRoot || undefined, file['data-root'], isNonEmpty) ?? DEFAULTS.dataRoot),
    execRoot,
    pidfile: pidfileRaw === '' ? '' : resolve(pidfileRaw),
    containerd: pick(flags.containerd, file.containerd, isString) ?? '',
    containerdNamespace: pick(flags.containerdNamespace, file['containerd-namespace'], isNonEmpty) ?? DEFAULTS.containerdNamespace,
    runtimes: merged.runtimes,
    defaultRuntime: pick(flags.defaultRuntime, file['default-runtime'], isString) ?? '',
    debug: pick(flags.debug, file.debug, isBool) ?? false,
    logLevel: logLevel as LogLevel,
    labels: pick(flags.labels, file.labels, isStrings) ?? [],
    liveRestore: pick(flags.liveRestore, file['live-restore'], isBool) ?? false,
    shutdownTimeout: pick(flags.shutdownTimeout, file['shutdown-timeout'], isInt) ?? DEFAULTS.shutdownTimeout,
    maxConcurrentDownloads:
      pick(flags.maxConcurrentDownloads, file['max-concurrent-downloads'], isInt) ?? DEFAULTS.maxConcurrentDownloads,
    group: pick(flags.group, file.group, isNonEmpty) ?? DEFAULTS.group,
    logDriver: pick(flags.logDriver, file['log-driver'], isString) || DEFAULT_DRIVER,
    logOpts: flags.logOpts !== undefined ? logOptsOf(flags.logOpts, errors) : isStringMap(file['log-opts']) ? { ...file['log-opts'] } : {},
    tls: pick(flags.tls, file.tls, isBool),
    tlsVerify: pick(flags.tlsVerify, file.tlsverify, isBool) ?? (flags.envTlsVerify === true ? true : undefined),
    tlsCaCert: resolve(pick(flags.tlsCaCert || undefined, file.tlscacert, isNonEmpty) ?? tlsDefault(flags, 'ca.pem', DEFAULTS.tlsCaCert)),
    tlsCert: resolve(pick(flags.tlsCert || undefined, file.tlscert, isNonEmpty) ?? tlsDefault(flags, 'cert.pem', DEFAULTS.tlsCert)),
    tlsKey: resolve(pick(flags.tlsKey || undefined, file.tlskey, isNonEmpty) ?? tlsDefault(flags, 'key.pem', DEFAULTS.tlsKey)),
    registryMirrors: pick(flags.registryMirrors, file['registry-mirrors'], isStrings) ?? [],
    insecureRegistries: pick(flags.insecureRegistries, file['insecure-registries'], isStrings) ?? [],
    maxConcurrentUploads: pick(flags.maxConcurrentUploads, file['max-concurrent-uploads'], isInt) ?? DEFAULTS.maxConcurrentUploads,
    maxDownloadAttempts: pick(flags.maxDownloadAttempts, file['max-download-attempts'], isInt) ?? DEFAULTS.maxDownloadAttempts,
  };
  Object.assign(config, securitySettings(flags, file, errors));

  Object.assign(config, networkFields(file, errors));
  errors.push(...valueErrors(config));
  errors.push(...validateRuntimes(config.runtimes, config.defaultRuntime));

  if (errors.length > 0) throw new ConfigError(errors, fileName);
  return config;
}

