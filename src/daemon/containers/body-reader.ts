// Type checks for the JSON body of a container create: each field has a kind,
// and a mismatch is a 400 that names the field (never a crash later on).
import { invalidParameter, type BerthError } from '../../errors/index.js';

export type FieldKind =
  | 'string'
  | 'bool'
  | 'int'
  | 'int?'
  | 'bool?'
  | 'strings'
  | 'strslice'
  | 'map'
  | 'object'
  | 'array'
  | 'ints';

export type Json = Record<string, unknown>;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' && !Number.isInteger(v)) return 'a fractional number';
  return `a ${typeof v}`;
}

const EXPECTED: Record<FieldKind, string> = {
  string: 'a string',
  bool: 'true or false',
  int: 'an integer',
  'int?': 'an integer or null',
  'bool?': 'true, false or null',
  strings: 'an array of strings',
  strslice: 'a string or an array of strings',
  map: 'an object of strings',
  object: 'an object',
  array: 'an array',
  ints: 'an array of integers',
};

export function wrongType(field: string, kind: FieldKind, got: unknown): BerthError {
  return invalidParameter(`invalid field ${field}: expected ${EXPECTED[kind]}, got ${typeName(got)}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isPlainObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks one value against its kind; null is accepted everywhere (Go's decoder treats it as absent). */
export function checkField(field: string, kind: FieldKind, v: unknown): void {
  if (v === undefined || v === null) return;
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw wrongType(field, kind, v);
      return;
    case 'bool':
    case 'bool?':
      if (typeof v !== 'boolean') throw wrongType(field, kind, v);
      return;
    case 'int':
    case 'int?':
      if (!isInt(v)) throw wrongType(field, kind, v);
      return;
    case 'strings':
      if (!Array.isArray(v)) throw wrongType(field, kind, v);
      v.forEach((item, i) => {
        if (typeof item !== 'string') throw wrongType(`${field}[${i}]`, 'string', item);
      });
      return;
    case 'strslice':
      if (typeof v === 'string') return;
      if (!Array.isArray(v)) throw wrongType(field, kind, v);
      checkField(field, 'strings', v);
      return;
    case 'map':
      if (!isPlainObject(v)) throw wrongType(field, kind, v);
      for (const [k, item] of Object.entries(v)) {
        if (typeof item !== 'string') throw wrongType(`${field}.${k}`, 'string', item);
      }
      return;
    case 'object':
      if (!isPlainObject(v)) throw wrongType(field, kind, v);
      return;
    case 'array':
      if (!Array.isArray(v)) throw wrongType(field, kind, v);
      return;
    case 'ints':
      if (!Array.isArray(v)) throw wrongType(field, kind, v);
      v.forEach((item, i) => {
        if (!isInt(item)) throw wrongType(`${field}[${i}]`, 'int', item);
      });
      return;
  }
}

/** Checks every listed field of `obj`; unknown fields are ignored, as dockerd does. */
export function checkFields(obj: Json, schema: Readonly<Record<string, FieldKind>>, prefix = ''): void {
  for (const [name, kind] of Object.entries(schema)) {
    if (Object.prototype.hasOwnProperty.call(obj, name)) checkField(prefix + name, kind, obj[name]);
  }
}

export function asObject(value: unknown, what: string): Json {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw invalidParameter(`${what} must be a JSON object, got ${typeName(value)}`);
  return value;
}

export function str(obj: Json, name: string, fallback = ''): string {
  const v = obj[name];
  return typeof v === 'string' ? v : fallback;
}

export function bool(obj: Json, name: string, fallback = false): boolean {
  const v = obj[name];
  return typeof v === 'boolean' ? v : fallback;
}

export function int(obj: Json, name: string, fallback = 0): number {
  const v = obj[name];
  return isInt(v) ? v : fallback;
}

export function strings(obj: Json, name: string): string[] | null {
  const v = obj[name];
  return Array.isArray(v) ? (v as string[]).slice() : null;
}

/** Docker's StrSlice: a bare string is a one-element list. */
export function strslice(obj: Json, name: string): string[] | null {
  const v = obj[name];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? (v as string[]).slice() : null;
}

export function stringMap(obj: Json, name: string): Record<string, string> | null {
  const v = obj[name];
  // fromEntries keeps a "__proto__" key as plain data.
  return isPlainObject(v) ? (Object.fromEntries(Object.entries(v)) as Record<string, string>) : null;
}
