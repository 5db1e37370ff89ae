// berthd's command line, dockerd-style. A flag that is not given stays
// undefined, so "given on the command line" is exactly "defined" here.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS } from '../log/index.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError } from './errors.js';

/** Command-line settings; undefined = not given. */
export interface DaemonFlags {
  configFile?: string;
  validate?: boolean;
  hosts?: string[];
  dataRoot?: string;
  execRoot?: string;
  pidfile?: string;
  containerd?: string;
  containerdNamespace?: string;
  /** raw NAME=PATH values of --add-runtime */
  addRuntime?: string[];
  defaultRuntime?: string;
  debug?: boolean;
  logLevel?: string;
  liveRestore?: boolean;
  group?: string;
  shutdownTimeout?: number;
  maxConcurrentDownloads?: number;
  labels?: string[];
  logDriver?: string;
  /** --log-opt KEY=VALUE, repeatable */
  logOpts?: string[];
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** DOCKER_CERT_PATH: the folder of the default ca.pem, cert.pem and key.pem, as dockerd reads it */
  certPath?: string;
  /** DOCKER_TLS_VERIFY set (to anything): --tlsverify by default, as dockerd */
  envTlsVerify?: boolean;
  registryMirrors?: string[];
  insecureRegistries?: string[];
  maxConcurrentUploads?: number;
  maxDownloadAttempts?: number;
  seccompProfile?: string;
  noNewPrivileges?: boolean;
  /** --default-ulimit NAME=SOFT[:HARD], keyed by name */
  defaultUlimits?: Record<string, { Name: string; Soft: number; Hard: number }>;
  init?: boolean;
  initPath?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** dockerd's boolean flags: bare (true) or `--flag=true|false`. */
function boolValue(value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('true or false is expected.');
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a non-negative integer is expected.');
  return Number(value);
}

/**
 * The berthd command with every flag (no action: the caller attaches one, and
 * may add subcommands such as `reload`). Defaults are shown in --help but are
 * applied by loadConfig, so that flags and daemon.json can be told apart.
 */
export function buildCommand(opts: { version: string; name?: string }): Command {
  return new Command(opts.name ?? 'berthd')
    .description('berth container engine daemon: the Docker Engine API on containerd')
    .version(opts.version, '-v, --version', 'print the version and exit')
    .option('--config-file <file>', `daemon configuration file (default: ${DEFAULTS.configFile})`)
    .option('-H, --host <address>', `socket to listen on, repeatable (default: ${DEFAULTS.host})`, collect)
    .option('--data-root <dir>', `root of persistent state (default: ${DEFAULTS.dataRoot})`)
    .option('--exec-root <dir>', `root of runtime state (default: ${DEFAULTS.execRoot})`)
    .option('-p, --pidfile <file>', `pid file; empty for none (default: <exec-root>/${DEFAULTS.pidfileName})`)
    .option('--containerd <address>', 'socket of an existing containerd (default: empty, berthd runs its own)')
    .option('--containerd-namespace <name>', `containerd namespace of containers (default: ${DEFAULTS.containerdNamespace})`)
    .option('--add-runtime <name=path>', 'register a runtime binary, repeatable (default: none)', collect)
    .option('--default-runtime <name>', 'runtime of containers that name none (default: runc)')
    .option('--validate', 'check the configuration and exit (default: false)')
    .option('-D, --debug', 'debug logging (default: false)')
    .addOption(new Option('-l, --log-level <level>', `log level (default: ${DEFAULTS.logLevel})`).choices(LOG_LEVELS))
    .option('--live-restore', 'keep containers running while berthd is down (default: false)')
    .option('-G, --group <group>', `group owning the API socket; root when the default group does not exist (default: ${DEFAULTS.group})`)
    .option('--shutdown-timeout <seconds>', `seconds to wait for containers to stop at shutdown (default: ${DEFAULTS.shutdownTimeout})`, nonNegativeInteger)
    .option(
      '--max-concurrent-downloads <n>',
      `layer downloads at a time (default: ${DEFAULTS.maxConcurrentDownloads})`,
      nonNegativeInteger,
    )
    .option('--label <key=value>', 'daemon label, repeatable (default: none)', collect)
    .option('--log-driver <name>', 'log driver of containers that name none: json-file, local or none (default: json-file)')
    .option('--log-opt <key=value>', 'option of the default log driver, repeatable (default: none)', collect)
    .option('--tls [bool]', 'serve TCP hosts over TLS; --tls=false allows plain TCP off loopback (default: off)', boolValue)
    .option('--tlsverify [bool]', 'TLS, and only clients with a certificate signed by --tlscacert (default: off, on when DOCKER_TLS_VERIFY is set)', boolValue)
    .option('--tlscacert <file>', `CA that signs client certificates (default: $DOCKER_CERT_PATH/ca.pem, else ${DEFAULTS.tlsCaCert})`)
    .option('--tlscert <file>', `server certificate (default: $DOCKER_CERT_PATH/cert.pem, else ${DEFAULTS.tlsCert})`)
    .option('--tlskey <file>', `server private key (default: $DOCKER_CERT_PATH/key.pem, else ${DEFAULTS.tlsKey})`)
    .option('--registry-mirror <url>', 'docker.io mirror, repeatable (default: none)', collect)
    .option('--insecure-registry <host|cidr>', 'registry reached without TLS verification, repeatable (default: loopback only)', collect)
    .option('--max-concurrent-uploads <n>', `layer uploads at a time (default: ${DEFAULTS.maxConcurrentUploads})`, nonNegativeInteger)
    .option('--max-download-attempts <n>', `attempts per layer download (default: ${DEFAULTS.maxDownloadAttempts})`, nonNegativeInteger)
    .option('--seccomp-profile <path>', 'default seccomp profile: builtin, unconfined or a JSON file (default: builtin)')
    .option('--no-new-privileges', 'run containers with no-new-privileges (default: false)')
    .option('--default-ulimit <name=soft[:hard]>', 'default ulimit of containers, repeatable (default: none)', collect)
    .option('--init', 'run an init inside containers (default: false)')
    .option('--init-path <path>', 'init binary for --init (default: docker-init or tini-static)');
}

/**
 * Commander's parsed options → DaemonFlags, with the two environment
 * variables dockerd takes its TLS defaults from (DOCKER_CERT_PATH,
 * DOCKER_TLS_VERIFY).
 */
export function flagsFromCommand(cmd: Command, env: Readonly<Record<string, string | undefined>> = {}): DaemonFlags {
  const o = cmd.opts<Record<string, unknown>>();
  const flags: DaemonFlags = {};
  const str = (key: string): string | undefined => (typeof o[key] === 'string' ? (o[key] as string) : undefined);
  const list = (key: string): string[] | undefined => (Array.isArray(o[key]) ? [...(o[key] as string[])] : undefined);
  const bool = (key: string): boolean | undefined => (o[key] === true ? true : undefined);
  const num = (key: string): number | undefined => (typeof o[key] === 'number' ? (o[key] as number) : undefined);
  const set = <K extends keyof DaemonFlags>(key: K, value: DaemonFlags[K] | undefined): void => {
    if (value !== undefined) flags[key] = value;
  };
  set('configFile', str('configFile'));
  set('validate', bool('validate'));
  set('hosts', list('host'));
  set('dataRoot', str('dataRoot'));
  set('execRoot', str('execRoot'));
  set('pidfile', str('pidfile'));
  set('containerd', str('containerd'));
  set('containerdNamespace', str('containerdNamespace'));
  set('addRuntime', list('addRuntime'));
  set('defaultRuntime', str('defaultRuntime'));
  set('debug', bool('debug'));
  set('logLevel', str('logLevel'));
  set('liveRestore', bool('liveRestore'));
  set('group', str('group'));
  set('shutdownTimeout', num('shutdownTimeout'));
  set('maxConcurrentDownloads', num('maxConcurrentDownloads'));
  set('labels', list('label'));
  set('logDriver', str('logDriver'));
  set('logOpts', list('logOpt'));
  const flag = (key: string): boolean | undefined => (o[key] === true ? true : o[key] === false ? false : undefined);
  set('tls', flag('tls'));
  set('tlsVerify', flag('tlsverify'));
  set('tlsCaCert', str('tlscacert'));
  set('tlsCert', str('tlscert'));
  set('tlsKey', str('tlskey'));
  set('certPath', env.DOCKER_CERT_PATH || undefined);
  set('envTlsVerify', env.DOCKER_TLS_VERIFY ? true : undefined);
  set('registryMirrors', list('registryMirror'));
  set('insecureRegistries', list('insecureRegistry'));
  set('maxConcurrentUploads', num('maxConcurrentUploads'));
  set('maxDownloadAttempts', num('maxDownloadAttempts'));
  set('seccompProfile', str('seccompProfile'));
  // commander's --no-* form sets `newPrivileges: false`
  set('noNewPrivileges', o.newPrivileges === false ? true : undefined);
  set('defaultUlimits', ulimitFlags(list('defaultUlimit')));
  set('init', bool('init'));
  set('initPath', str('initPath'));
  return flags;
}

function ulimitFlags(values: string[] | undefined): DaemonFlags['defaultUlimits'] {
  if (values === undefined) return undefined;
  const out: NonNullable<DaemonFlags['defaultUlimits']> = {};
  for (const v of values) {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
    if (m === null) throw new ConfigError([`invalid --default-ulimit value '${v}': expected NAME=SOFT[:HARD]`]);
    const soft = Number(m[2]);
    out[m[1] as string] = { Name: m[1] as string, Soft: soft, Hard: m[3] === undefined ? soft : Number(m[3]) };
  }
  return out;
}

/** Parses berthd's arguments (without node and script) silently; bad flags throw ConfigError. */
export function parseFlags(args: readonly string[], version = '0.0.0', env: Readonly<Record<string, string | undefined>> = {}): DaemonFlags {
  const cmd = buildCommand({ version })
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    cmd.parse([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new ConfigError([err.message.replace(/^error: /, '')]);
    throw err;
  }
  return flagsFromCommand(cmd, env);
}

/** `NAME=PATH` of --add-runtime, split at the first `=`. */
export function parseAddRuntime(value: string): { name: string; path: string } {
  const eq = value.indexOf('=');
  const name = eq < 0 ? '' : value.slice(0, eq);
  const path = eq < 0 ? '' : value.slice(eq + 1);
  if (name === '' || path === '') {
    throw new ConfigError([`invalid --add-runtime value '${value}': expected NAME=PATH, e.g. --add-runtime crun=/usr/bin/crun`]);
  }
  return { name, path };
}
