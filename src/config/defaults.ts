// Defaults and the daemon.json key table. Defaults are chosen not to collide
// with a Docker daemon on the same host.
import type { DaemonConfig } from './types.js';
import type { LogLevel } from '../log/index.js';

export const DEFAULTS = {
  configFile: '/etc/berth/daemon.json',
  host: 'unix:///run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  /** the pid file lives in the exec root unless set */
  pidfileName: 'berthd.pid',
  containerdNamespace: 'berth',
  /**
   * Group of the API socket. When this default group does not exist the
   * socket stays root's (0660 root:root); a group named explicitly must exist.
   */
  group: 'berth',
  logLevel: 'info' as LogLevel,
  shutdownTimeout: 15,
  maxConcurrentDownloads: 3,
  tlsCaCert: '/etc/berth/ca.pem',
  tlsCert: '/etc/berth/cert.pem',
  tlsKey: '/etc/berth/key.pem',
  maxConcurrentUploads: 5,
  maxDownloadAttempts: 5,
} as const;

/** daemon.json keys (kebab-case, as dockerd) and the config field each sets. */
export const FILE_KEYS = {
  hosts: 'hosts',
  'data-root': 'dataRoot',
  'exec-root': 'execRoot',
  pidfile: 'pidfile',
  containerd: 'containerd',
  'containerd-namespace': 'containerdNamespace',
  runtimes: 'runtimes',
  'default-runtime': 'defaultRuntime',
  debug: 'debug',
  'log-level': 'logLevel',
  labels: 'labels',
  'live-restore': 'liveRestore',
  'shutdown-timeout': 'shutdownTimeout',
  'max-concurrent-downloads': 'maxConcurrentDownloads',
  group: 'group',
  'log-driver': 'logDriver',
  'log-opts': 'logOpts',
  tls: 'tls',
  tlsverify: 'tlsVerify',
  tlscacert: 'tlsCaCert',
  tlscert: 'tlsCert',
  tlskey: 'tlsKey',
  'registry-mirrors': 'registryMirrors',
  'insecure-registries': 'insecureRegistries',
  'max-concurrent-uploads': 'maxConcurrentUploads',
  'max-download-attempts': 'maxDownloadAttempts',
  bip: 'bip',
  bridge: 'bridge',
  'default-address-pools': 'defaultAddressPools',
  iptables: 'iptables',
  'ip-forward': 'ipForward',
  'ip-masq': 'ipMasq',
  icc: 'icc',
  mtu: 'mtu',
  dns: 'dns',
  'dns-search': 'dnsSearch',
  'dns-opts': 'dnsOpts',
  'userland-proxy': 'userlandProxy',
  'dns-upstream': 'dnsUpstream',
  'cni-plugin-dirs': 'cniPluginDirs',
  'seccomp-profile': 'seccompProfile',
  'no-new-privileges': 'noNewPrivileges',
  'default-ulimits': 'defaultUlimits',
  init: 'init',
  'init-path': 'initPath',
} as const satisfies Record<string, keyof DaemonConfig>;

export type FileKey = keyof typeof FILE_KEYS;

export const ALL_FILE_KEYS = Object.keys(FILE_KEYS) as FileKey[];

/**
 * Keys a reload applies. Everything else (sockets, roots, containerd) needs a
 * restart; a reload that changes them reports them as ignored.
 */
export const RELOADABLE_KEYS: readonly FileKey[] = [
  'runtimes',
  'default-runtime',
  'debug',
  'log-level',
  'labels',
  'live-restore',
  'shutdown-timeout',
  'max-concurrent-downloads',
  // applied to containers created after the reload; existing ones keep theirs
  'log-driver',
  'log-opts',
  // the files are re-read on reload (certificate rotation); tls/tlsverify need a restart
  'tlscacert',
  'tlscert',
  'tlskey',
  'registry-mirrors',
  'insecure-registries',
  'max-concurrent-uploads',
  'max-download-attempts',
];
