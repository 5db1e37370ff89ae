// JSON Schema of daemon.json value types. Compiled to a standalone validator
// at build time (scripts/build-config-validator.mjs), so the daemon does not
// carry a schema compiler in memory.
import { LOG_LEVELS } from '../log/index.js';

const stringArray = { type: 'array', items: { type: 'string' } };

export const DAEMON_JSON_SCHEMA = {
  type: 'object',
  properties: {
    hosts: stringArray,
    'data-root': { type: 'string', minLength: 1 },
    'exec-root': { type: 'string', minLength: 1 },
    pidfile: { type: 'string' },
    containerd: { type: 'string' },
    'containerd-namespace': { type: 'string', minLength: 1 },
    // entries are checked by the runtimes module, with messages naming the runtime
    runtimes: { type: 'object' },
    'default-runtime': { type: 'string' },
    debug: { type: 'boolean' },
    'log-level': { type: 'string', enum: [...LOG_LEVELS] },
    labels: stringArray,
    'live-restore': { type: 'boolean' },
    'shutdown-timeout': { type: 'integer', minimum: 0 },
    'max-concurrent-downloads': { type: 'integer', minimum: 0 },
    group: { type: 'string', minLength: 1 },
    'log-driver': { type: 'string' },
    'log-opts': { type: 'object', additionalProperties: { type: 'string' } },
    tls: { type: 'boolean' },
    tlsverify: { type: 'boolean' },
    tlscacert: { type: 'string', minLength: 1 },
    tlscert: { type: 'string', minLength: 1 },
    tlskey: { type: 'string', minLength: 1 },
    'registry-mirrors': stringArray,
    'insecure-registries': stringArray,
    'max-concurrent-uploads': { type: 'integer', minimum: 0 },
    'max-download-attempts': { type: 'integer', minimum: 0 },
    bip: { type: 'string', minLength: 1 },
    bridge: { type: 'string', minLength: 1, maxLength: 15 },
    'default-address-pools': {
      type: 'array',
      items: { type: 'object', required: ['base', 'size'], properties: { base: { type: 'string' }, size: { type: 'integer', minimum: 1, maximum: 30 } } },
    },
    iptables: { type: 'boolean' },
    'ip-forward': { type: 'boolean' },
    'ip-masq': { type: 'boolean' },
    icc: { type: 'boolean' },
    mtu: { type: 'integer', minimum: 0, maximum: 65535 },
    dns: stringArray,
    'dns-search': stringArray,
    'dns-opts': stringArray,
    'userland-proxy': { type: 'boolean' },
    'dns-upstream': stringArray,
    'cni-plugin-dirs': stringArray,
    'seccomp-profile': { type: 'string' },
    'no-new-privileges': { type: 'boolean' },
    'default-ulimits': {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { Name: { type: 'string' }, Soft: { type: 'integer' }, Hard: { type: 'integer' } },
      },
    },
    init: { type: 'boolean' },
    'init-path': { type: 'string' },
  },
} as const;
