// Types of daemon.json values, checked by the validator generated from
// schema-definition.ts at build time. Unknown keys are reported separately, by name.
import type { ErrorObject } from 'ajv';
import { validate } from './daemon-json-validator.js';

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
  if (validate(value)) return [];
  return (validate.errors ?? []).map((err) => `invalid value for ${where(err)} in ${fileName}: ${explain(err)}`);
}
