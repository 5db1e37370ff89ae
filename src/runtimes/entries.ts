// Shape of the `runtimes` object of daemon.json: JSON → RuntimeConfig records.
import type { RuntimeConfig } from './types.js';

const FIELDS = ['path', 'runtimeArgs', 'runtimeType', 'options'];

export interface ParsedRuntimes {
  runtimes: Record<string, RuntimeConfig>;
  errors: string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks field names and types; the rules between fields are planRuntimes' job. */
export function parseRuntimeEntries(raw: unknown): ParsedRuntimes {
  if (raw === undefined) return { runtimes: {}, errors: [] };
  if (!isPlainObject(raw)) {
    return { runtimes: {}, errors: ['runtimes must be a JSON object that maps runtime names to runtimes'] };
  }
  const errors: string[] = [];
  const entries: [string, RuntimeConfig][] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (!isPlainObject(value)) {
      errors.push(`runtime ${name}: must be a JSON object with path, runtimeArgs, runtimeType or options`);
      continue;
    }
    const entry: RuntimeConfig = {};
    for (const [field, v] of Object.entries(value)) {
      switch (field) {
        case 'path':
        case 'runtimeType':
          if (typeof v === 'string') entry[field] = v;
          else errors.push(`runtime ${name}: ${field} must be a string`);
          break;
        case 'runtimeArgs':
          if (Array.isArray(v) && v.every((a) => typeof a === 'string')) entry.runtimeArgs = [...(v as string[])];
          else errors.push(`runtime ${name}: runtimeArgs must be an array of strings`);
          break;
        case 'options':
          if (isPlainObject(v)) entry.options = { ...v };
          else errors.push(`runtime ${name}: options must be a JSON object`);
          break;
        default:
          errors.push(`runtime ${name}: unknown field '${field}'; accepted fields: ${FIELDS.join(', ')}`);
      }
    }
    entries.push([name, entry]);
  }
  return { runtimes: Object.fromEntries(entries), errors };
}
