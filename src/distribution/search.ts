// GET /images/search. Registries that speak the distribution API (v2) have
// no search endpoint; what they list is their catalog. So a term naming a
// registry (`registry.lan:5000/app`) is answered from that registry's
// catalog, filtered by the rest of the term; Docker Hub's search belongs to
// its v1 index, which berth does not speak, and a term without a registry
// gets a 501 that says what works instead.
import { invalidParameter, notImplemented } from '../errors/index.js';
import { Repository } from './client.js';
import type { RegistryHosts } from './hosts.js';
import type { AuthConfig } from './types.js';

/** One result, in dockerd's registry.SearchResult shape. */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

export interface SearchOptions {
  limit: number;
  filters: ReadonlyMap<string, readonly string[]>;
  auth: AuthConfig;
  signal?: AbortSignal;
}

export const SEARCH_FILTERS: readonly string[] = ['is-automated', 'is-official', 'stars'];
const HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export const HUB_SEARCH_UNSUPPORTED =
  'berth does not search Docker Hub (its v1 index search); name a registry to search its catalog: docker search REGISTRY[:PORT]/TEXT';

/** dockerd's split of a search term: a first part with '.' or ':' (or localhost) names the registry. */
export function splitSearchTerm(term: string): { registry: string | undefined; text: string } {
  const slash = term.indexOf('/');
  if (slash < 0) return { registry: undefined, text: term };
  const first = term.slice(0, slash);
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return { registry: undefined, text: term };
  return { registry: HUB_NAMES.has(first) ? undefined : first, text: term.slice(slash + 1) };
}

function boolValue(key: string, v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidParameter(`Invalid filter '${key}=${v}'`);
}

/**
 * Catalog entries matching the term's text (a substring, case-insensitive),
 * shaped as results and filtered: catalog entries have no stars and are
 * neither official nor automated.
 */
export function matchCatalog(registry: string, repositories: readonly string[], text: string, opts: Pick<SearchOptions, 'limit' | 'filters'>): SearchResult[] {
  for (const key of opts.filters.keys()) if (!SEARCH_FILTERS.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  const official = (opts.filters.get('is-official') ?? []).map((v) => boolValue('is-official', v));
  const automated = (opts.filters.get('is-automated') ?? []).map((v) => boolValue('is-automated', v));
  const stars = (opts.filters.get('stars') ?? []).map((v) => {
    if (!/^\d+$/.test(v)) throw invalidParameter(`Invalid filter 'stars=${v}'`);
    return Number(v);
  });
  if (official.includes(true) || automated.includes(true) || stars.some((n) => n > 0)) return [];
  const want = text.toLowerCase();
  return repositories
    .filter((r) => r.toLowerCase().includes(want))
    .slice(0, opts.limit)
    .map((r) => ({ name: `${registry}/${r}`, description: '', star_count: 0, is_official: false, is_automated: false }));
}

/** `limit` as dockerd checks it: 1 to 100, 25 when absent. */
export function searchLimit(raw: string | null): number {
  if (raw === null || raw === '') return 25;
  const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n)) throw invalidParameter(`invalid limit ${JSON.stringify(raw)}: use a number from 1 to 100`);
  if (n < 1 || n > 100) throw invalidParameter(`Limit ${n} is outside the range of [1, 100]`);
  return n;
}

export async function searchRegistry(hosts: RegistryHosts, term: string, opts: SearchOptions): Promise<SearchResult[]> {
  const { registry, text } = splitSearchTerm(term.trim());
  if (registry === undefined) throw notImplemented(HUB_SEARCH_UNSUPPORTED);
  // The catalog scope is the registry's; the repository part only makes the token request well-formed.
  const repo = new Repository({ hosts, domain: registry, path: text === '' ? 'library' : text.toLowerCase(), auth: opts.auth, signal: opts.signal });
  return matchCatalog(registry, await repo.catalog(), text, opts);
}
