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
