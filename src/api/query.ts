// Readers for query-string parameters, with 400 errors that name the parameter.
import { invalidParameter } from '../errors/index.js';

const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['', '0', 'false', 'no', 'none']);

/** Docker's boolean query values: 1/true/0/false/"" (any case); absent → fallback. */
export function boolQuery(q: URLSearchParams, name: string, fallback = false): boolean {
  const raw = q.get(name);
  if (raw === null) return fallback;
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw invalidParameter(`invalid value for query parameter ${name}: ${JSON.stringify(raw)} (use 1, true, 0 or false)`);
}

export interface IntQueryOptions {
  min?: number;
  max?: number;
}

/** An integer query parameter; absent or empty → fallback. */
export function intQuery(q: URLSearchParams, name: string, fallback: number, opts?: IntQueryOptions): number;
export function intQuery(q: URLSearchParams, name: string, fallback?: undefined, opts?: IntQueryOptions): number | undefined;
export function intQuery(
  q: URLSearchParams,
  name: string,
  fallback?: number,
  opts: IntQueryOptions = {},
): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw.trim() === '') return fallback;
  const v = raw.trim();
  if (!/^[-+]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw invalidParameter(`invalid value for query parameter ${name}: ${JSON.stringify(raw)} is not an integer`);
  }
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) {
    throw invalidParameter(`invalid value for query parameter ${name}: ${n} is below the minimum ${opts.min}`);
  }
  if (opts.max !== undefined && n > opts.max) {
    throw invalidParameter(`invalid value for query parameter ${name}: ${n} is above the maximum ${opts.max}`);
  }
  return n;
}

export type Filters = Map<string, string[]>;

const FILTER_HINT = 'the filters parameter must be a JSON object such as {"label":["key=value"]}';

/**
 * Docker's `filters` query parameter, in the current form `{"k":{"v":true}}`
 * or the legacy form `{"k":["v"]}`. Absent or empty → no filters.
 */
export function parseFilters(raw: string | null | undefined): Filters {
  const filters: Filters = new Map();
  if (raw === null || raw === undefined || raw.trim() === '') return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidParameter(`invalid filter: ${FILTER_HINT}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidParameter(`invalid filter: ${FILTER_HINT}`);
  }
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    filters.set(key, filterValues(key, value));
  }
  return filters;
}

function filterValues(key: string, value: unknown): string[] {
  if (Array.isArray(value)) {
    if (!value.every((v): v is string => typeof v === 'string')) {
      throw invalidParameter(`invalid filter '${key}': values must be strings`);
    }
    return [...new Set(value)];
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.every(([, b]) => typeof b === 'boolean')) {
      throw invalidParameter(`invalid filter '${key}': expected {"value": true} pairs`);
    }
    // dockerd keeps every key whatever its boolean; so do we.
    return entries.map(([v]) => v);
  }
  throw invalidParameter(`invalid filter '${key}': ${FILTER_HINT}`);
}

/** Refuses filter names a route does not know, naming the first one. */
export function checkFilterNames(filters: Filters, accepted: Iterable<string>): void {
  const known = new Set(accepted);
  for (const key of filters.keys()) {
    if (!known.has(key)) {
      throw invalidParameter(`invalid filter '${key}': accepted filters are ${[...known].sort().join(', ')}`);
    }
  }
}
