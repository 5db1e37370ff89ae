// Typed readers for JSON request bodies. Each failure is a 400 that names the
// field and says what was expected, so a bad body never reaches a service.
import { invalidParameter, type BerthError } from '../errors/index.js';

export type JsonObject = Record<string, unknown>;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function wrongType(field: string, expected: string, got: unknown): BerthError {
  return invalidParameter(`invalid field ${field}: expected ${expected}, got ${typeName(got)}`);
}

/** The body as an object; an empty body becomes {} only when `allowEmpty`. */
export function asObject(value: unknown, what = 'request body', allowEmpty = false): JsonObject {
  if (value === undefined && allowEmpty) return {};
  if (value === undefined) throw invalidParameter(`${what} is empty: a JSON object is required`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParameter(`${what} must be a JSON object, got ${typeName(value)}`);
  }
  return value as JsonObject;
}

export function requireString(obj: JsonObject, field: string): string {
  const v = obj[field];
  if (v === undefined || v === null) throw invalidParameter(`missing field ${field}: a string is required`);
  if (typeof v !== 'string') throw wrongType(field, 'a string', v);
  return v;
}

/** null counts as absent, as Go's decoder treats it. */
export function optionalString(obj: JsonObject, field: string): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw wrongType(field, 'a string', v);
  return v;
}

export function optionalBool(obj: JsonObject, field: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw wrongType(field, 'true or false', v);
  return v;
}

export interface IntRange {
  min?: number;
  max?: number;
}

export function optionalInt(obj: JsonObject, field: string, range: IntRange = {}): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw wrongType(field, 'an integer', v);
  if (range.min !== undefined && v < range.min) {
    throw invalidParameter(`invalid field ${field}: ${v} is below the minimum ${range.min}`);
  }
  if (range.max !== undefined && v > range.max) {
    throw invalidParameter(`invalid field ${field}: ${v} is above the maximum ${range.max}`);
  }
  return v;
}

export function optionalStringArray(obj: JsonObject, field: string): string[] | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw wrongType(field, 'an array of strings', v);
  v.forEach((item, i) => {
    if (typeof item !== 'string') throw wrongType(`${field}[${i}]`, 'a string', item);
  });
  return v as string[];
}

export function optionalStringMap(obj: JsonObject, field: string): Record<string, string> | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(field, 'an object of strings', v);
  const entries = Object.entries(v as JsonObject);
  for (const [k, item] of entries) {
    if (typeof item !== 'string') throw wrongType(`${field}.${k}`, 'a string', item);
  }
  // fromEntries defines own properties, so a "__proto__" key stays plain data.
  return Object.fromEntries(entries) as Record<string, string>;
}

/** A nested object field (e.g. HostConfig); absent or null → undefined. */
export function optionalObject(obj: JsonObject, field: string): JsonObject | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(field, 'an object', v);
  return v as JsonObject;
}
