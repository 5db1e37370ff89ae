// Types of daemon.json values, checked by one ajv validator compiled once
// (reloads reuse it). Unknown keys are reported separately, by name.
import { Ajv, type ErrorObject } from 'ajv';
import { LOG_LEVELS } from '../log/index.js';

const stringArray = { type: 'array', items: { type: 'string' } };

const SCHEMA = {
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
  },
} as const;

let validator: ReturnType<Ajv['compile']> | undefined;

function where(err: ErrorObject): string {
  const parts = err.instancePath.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (parts.length === 0) return 'the configuration';
  const [key, ...rest] = parts;
  return `'${key}${rest.map((r) => (/^\d+$/.test(r) ? `[${r}]` : `.${r}`)).join('')}'`;
}

function explain(err: ErrorObject): string {
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues: unknown[] }).allowedValues;
    return `must be one of ${allowed.join(', ')}`;
  }
  if (err.keyword === 'minLength') return 'must not be empty';
  return err.message ?? 'is invalid';
}

/** Type errors of a parsed daemon.json object, one message per problem. */
export function schemaErrors(value: unknown, fileName: string): string[] {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);
  if (validator(value)) return [];
  return (validator.errors ?? []).map((err) => `invalid value for ${where(err)} in ${fileName}: ${explain(err)}`);
}
