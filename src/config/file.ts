// daemon.json text → a checked object of known keys (no defaults applied).
import { ALL_FILE_KEYS, type FileKey } from './defaults.js';
import { ConfigError } from './errors.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { schemaErrors } from './schema.js';

export type FileValues = Partial<Record<FileKey, unknown>>;

const KNOWN = new Set<string>(ALL_FILE_KEYS);

function parseJson(text: string, fileName: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // An empty file configures nothing, as for dockerd.
  if (body.trim() === '') return {};
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    const at = findJsonSyntaxError(body);
    const message =
      at === undefined
        ? `invalid JSON in ${fileName}: ${(err as Error).message}`
        : `invalid JSON in ${fileName} at line ${at.line}, column ${at.column}: ${at.reason}`;
    throw new ConfigError([message], fileName);
  }
}

/**
 * Parses and checks a configuration file's text. Invalid JSON throws at
 * once; unknown keys and type errors are all returned together.
 */
export function parseConfigText(text: string, fileName: string): { values: FileValues; errors: string[] } {
  const parsed = parseJson(text, fileName);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`invalid configuration in ${fileName}: the top level must be a JSON object`], fileName);
  }
  const errors: string[] = [];
  const unknown = Object.keys(parsed).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) errors.push(`unknown configuration keys in ${fileName}: ${unknown.join(', ')}`);
  errors.push(...schemaErrors(parsed, fileName));
  const values = Object.fromEntries(Object.entries(parsed).filter(([k]) => KNOWN.has(k))) as FileValues;
  return { values, errors };
}
