// Which events a `docker events --filter` selection lets through, with
// dockerd's semantics: different keys AND together, values of one key OR;
// object filters (container, plugin, daemon…) match the actor ID by prefix or
// the `name` attribute; `label` needs every key (and value, if given).
import type { EngineEvent } from '../../events/index.js';
import { labelsSelect } from '../../filters/index.js';
import { checkFilterNames, type Filters } from '../query.js';

export const EVENT_FILTERS = [
  'config',
  'container',
  'daemon',
  'event',
  'image',
  'label',
  'network',
  'node',
  'plugin',
  'scope',
  'secret',
  'service',
  'type',
  'volume',
] as const;

// Objects matched by ID prefix or name attribute; 'image' has rules of its own.
const BY_NAME = ['config', 'container', 'daemon', 'network', 'node', 'plugin', 'secret', 'service', 'volume'] as const;

// dockerd matches these actions by prefix, as they carry a suffix (": /bin/sh -c …").
const PREFIX_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

export type EventPredicate = (event: EngineEvent) => boolean;

function values(filters: Filters, key: string): string[] {
  return filters.get(key) ?? [];
}

function exact(filters: Filters, key: string, ...sources: (string | undefined)[]): boolean {
  const want = values(filters, key);
  if (want.length === 0) return true;
  return sources.some((s) => s !== undefined && want.includes(s));
}

function fuzzy(filters: Filters, key: string, ...sources: (string | undefined)[]): boolean {
  const want = values(filters, key);
  if (want.length === 0) return true;
  return sources.some((s) => s !== undefined && s !== '' && want.some((w) => s.startsWith(w)));
}

/** `busybox:latest` → `busybox`, `r/x@sha256:…` → `r/x`; a registry port is left alone. */
export function stripTag(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

function actionMatches(filters: Filters, action: string): boolean {
  const want = values(filters, 'event');
  if (want.length === 0) return true;
  if (want.some((w) => PREFIX_ACTIONS.has(w))) return want.some((w) => action.startsWith(w));
  return want.includes(action);
}

function imageMatches(filters: Filters, event: EngineEvent): boolean {
  const id = event.Actor.ID;
  const name = event.Actor.Attributes[event.Type === 'image' ? 'name' : 'image'];
  return exact(filters, 'image', id, name, stripTag(id), name === undefined ? undefined : stripTag(name));
}

/** A predicate for the given filters; unknown filter names are refused with a 400. */
export function eventFilter(filters: Filters): EventPredicate {
  checkFilterNames(filters, EVENT_FILTERS);
  return (event) => {
    const attrs = event.Actor.Attributes;
    if (!actionMatches(filters, event.Action)) return false;
    if (!exact(filters, 'type', event.Type)) return false;
    if (!exact(filters, 'scope', event.scope)) return false;
    for (const key of BY_NAME) {
      if (!fuzzy(filters, key, event.Actor.ID, attrs.name)) return false;
    }
    return imageMatches(filters, event) && labelsSelect(attrs, values(filters, 'label'));
  };
}
