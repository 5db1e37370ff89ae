// JSON request bodies decoded with Go's encoding/json rules, as dockerd reads
// them, before any route sees them: a key names a struct field exactly or,
// failing that, case-insensitively (clients send both `DetachKeys` and
// `detachKeys`); keys that name no field are dropped; `null` leaves a field
// absent, and a null map value or list item is its type's zero value. Map
// keys (labels, ports, network names) are data and stay as sent. A value of
// the wrong JSON type is kept as is, for the route's type checks to name.

export type Shape =
  | { kind: 'any' }
  | { kind: 'string' }
  | { kind: 'struct'; fields: Readonly<Record<string, Shape>>; folded: ReadonlyMap<string, string> }
  | { kind: 'list'; item: Shape }
  | { kind: 'map'; value: Shape };

export const ANY: Shape = { kind: 'any' };
export const STRING: Shape = { kind: 'string' };

export function struct(fields: Readonly<Record<string, Shape>>): Shape {
  // Go picks the exact name first; among case-insensitive matches the field
  // declared first (field names of one struct never fold to the same name here).
  const folded = new Map<string, string>();
  for (const name of Object.keys(fields)) if (!folded.has(name.toLowerCase())) folded.set(name.toLowerCase(), name);
  return { kind: 'struct', fields, folded };
}

export const list = (item: Shape): Shape => ({ kind: 'list', item });
export const map = (value: Shape): Shape => ({ kind: 'map', value });

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The zero value Go stores for a null map value or list item. */
function zeroOf(shape: Shape): unknown {
  if (shape.kind === 'string') return '';
  if (shape.kind === 'struct') return {};
  return null;
}

/** `value` as dockerd would see it through a Go struct of this shape. */
export function decodeAs(value: unknown, shape: Shape): unknown {
  switch (shape.kind) {
    case 'any':
    case 'string':
      return value;
    case 'list':
      return Array.isArray(value) ? value.map((item: unknown) => (item === null ? zeroOf(shape.item) : decodeAs(item, shape.item))) : value;
    case 'map': {
      if (!isObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        // defineProperty keeps a "__proto__" key as plain data.
        Object.defineProperty(out, k, { value: v === null ? zeroOf(shape.value) : decodeAs(v, shape.value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'struct': {
      if (!isObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const name = Object.hasOwn(shape.fields, key) ? key : shape.folded.get(key.toLowerCase());
        if (name === undefined) continue;
        const field = shape.fields[name] as Shape;
        // Later keys overwrite earlier ones, as Go's decoder assigns in order;
        // a null one clears what an earlier spelling set.
        if (v === null) delete out[name];
        else out[name] = decodeAs(v, field);
      }
      return out;
    }
  }
}

/**
 * A parsed body decoded for its route (`shape` undefined: a body type berth
 * does not know, where only a top-level null counts as absent).
 */
export function decodeBody(value: unknown, shape: Shape | undefined): unknown {
  if (value === null) return undefined;
  return shape === undefined ? value : decodeAs(value, shape);
}
