// Filters of GET /images/json: reference (Go path.Match globs on the
// familiar name), dangling, label, before, since.
import { invalidParameter } from '../../errors/index.js';
import { labelsSelect, untilMs } from '../../filters/index.js';
import type { ImageEntry } from './catalog.js';
import { familiarName, parseReference, familiarString } from './reference.js';
import { createdSeconds } from './views.js';

export const IMAGE_FILTERS = ['reference', 'dangling', 'label', 'before', 'since'] as const;
export const PRUNE_FILTERS: readonly string[] = ['dangling', 'label', 'label!', 'until'];

/** Go's path.Match pattern as an anchored RegExp; throws on a malformed pattern. */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw invalidParameter(`syntax error in pattern ${JSON.stringify(pattern)}`);
      re += next.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw invalidParameter(`syntax error in pattern ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body === '') throw invalidParameter(`syntax error in pattern ${JSON.stringify(pattern)}`);
      re += `[${negate ? '^/' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** dockerd's FamiliarMatch: the pattern against `name:tag`, then against the bare name. */
export function referenceMatches(pattern: RegExp, fullName: string): boolean {
  let ref;
  try {
    ref = parseReference(fullName);
  } catch {
    return false;
  }
  return pattern.test(familiarString(ref)) || pattern.test(familiarName(ref));
}

function boolFilter(values: string[]): boolean {
  const v = values[values.length - 1]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidParameter(`Invalid filter 'dangling=${values[values.length - 1]}'`);
}

export interface FilteredImage {
  entry: ImageEntry;
  /** the names to show (all, or those the reference filter matched) */
  names: string[];
}

/**
 * Applies the filters. `resolve` looks up the images named by before/since.
 */
export async function filterImages(
  entries: ImageEntry[],
  filters: Map<string, string[]>,
  resolve: (ref: string) => Promise<ImageEntry>,
): Promise<FilteredImage[]> {
  for (const key of filters.keys()) {
    if (!(IMAGE_FILTERS as readonly string[]).includes(key)) {
      throw invalidParameter(`invalid filter '${key}': accepted filters are ${IMAGE_FILTERS.join(', ')}`);
    }
  }
  const patterns = (filters.get('reference') ?? []).map(globToRegExp);
  const dangling = filters.has('dangling') ? boolFilter(filters.get('dangling')!) : undefined;
  const labels = filters.get('label') ?? [];
  let before: number | undefined;
  let since: number | undefined;
  for (const ref of filters.get('before') ?? []) before = Math.min(before ?? Infinity, createdSeconds(await resolve(ref)));
  for (const ref of filters.get('since') ?? []) since = Math.max(since ?? -Infinity, createdSeconds(await resolve(ref)));

  const out: FilteredImage[] = [];
  for (const entry of entries) {
    const isDangling = entry.names.length === 0;
    if (dangling === true && !isDangling) continue;
    if (dangling === false && isDangling) continue;
    if (!labelsSelect(entry.image.config?.Labels, labels)) continue;
    const created = createdSeconds(entry);
    if (before !== undefined && !(created < before)) continue;
    if (since !== undefined && !(created > since)) continue;
    let names = entry.names;
    if (patterns.length > 0) {
      names = names.filter((n) => patterns.some((p) => referenceMatches(p, n)));
      if (names.length === 0) continue;
    }
    out.push({ entry, names });
  }
  return out;
}

/**
 * The images POST /images/prune may remove, by its filters (dockerd's):
 * `dangling` (default true: untagged only; false: every image), `until`
 * (created before), `label` and `label!`. Images in use are the caller's check.
 */
export function pruneCandidates(entries: readonly ImageEntry[], filters: ReadonlyMap<string, readonly string[]>, now: number): ImageEntry[] {
  for (const key of filters.keys()) if (!PRUNE_FILTERS.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  const dangling = filters.has('dangling') ? boolFilter([...filters.get('dangling')!]) : true;
  const until = (filters.get('until') ?? []).map((v) => untilMs(v, now) / 1000);
  const labels = filters.get('label') ?? [];
  const notLabels = filters.get('label!') ?? [];
  return entries.filter(
    (e) =>
      (!dangling || e.names.length === 0) &&
      until.every((t) => createdSeconds(e) < t) &&
      labelsSelect(e.image.config?.Labels, labels, notLabels),
  );
}
