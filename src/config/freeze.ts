// Recursive Object.freeze for snapshots. Buffers cannot be frozen (typed
// arrays with elements refuse), so resolveRuntime hands out copies of them.

export function deepFreeze<T>(value: T): T {
  freeze(value, new Set());
  return value;
}

function freeze(value: unknown, seen: Set<unknown>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return;
  if (value instanceof Map || value instanceof Set) {
    throw new TypeError('snapshots cannot hold a Map or Set: they stay mutable when frozen (use FrozenMap)');
  }
  // FrozenMap and similar read-only iterables: freeze what they hold.
  if (typeof (value as { values?: unknown }).values === 'function' && !Array.isArray(value)) {
    for (const v of (value as { values(): Iterable<unknown> }).values()) freeze(v, seen);
  }
  for (const key of Reflect.ownKeys(value)) freeze((value as Record<PropertyKey, unknown>)[key], seen);
  Object.freeze(value);
}
