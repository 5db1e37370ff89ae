// The plugins berthd knows, in memory: lookup by name, id or id prefix
// (Docker's order), and a queue per plugin so that operations on one plugin
// run one at a time.
import { invalidParameter, notFound } from '../errors/index.js';
import type { RunningTask } from './lifecycle.js';
import { isFullPluginId, tryNormalizePluginName } from './name.js';
import type { PluginObject } from './types.js';

export interface Entry {
  plugin: PluginObject;
  /** the task while it runs (enabled plugins, except while restarting) */
  run?: RunningTask;
  /** tail of the chain of operations on this plugin */
  queue: Promise<void>;
  /** crash restarts in a row, for the backoff */
  restarts: number;
  restartTimer?: NodeJS.Timeout;
}

export class PluginRegistry {
  private readonly entries = new Map<string, Entry>();
  /** names being created, so that two creates of one name cannot both pass the check */
  private readonly pendingNames = new Set<string>();

  add(plugin: PluginObject): Entry {
    const e: Entry = { plugin, queue: Promise.resolve(), restarts: 0 };
    this.entries.set(plugin.Id, e);
    return e;
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  all(): Entry[] {
    return [...this.entries.values()];
  }

  /** Whether `name` (normalized) belongs to a plugin or to a create under way. */
  nameTaken(name: string): boolean {
    return this.pendingNames.has(name) || this.all().some((e) => e.plugin.Name === name);
  }

  /** Holds `name` while a create runs; returns the release. */
  reserveName(name: string): () => void {
    this.pendingNames.add(name);
    return () => this.pendingNames.delete(name);
  }

  /** Name, full id or unique id prefix → entry. */
  resolve(ref: string): Entry {
    if (ref !== '' && isFullPluginId(ref)) {
      const e = this.entries.get(ref);
      if (e !== undefined) return e;
    }
    const name = ref === '' ? undefined : tryNormalizePluginName(ref);
    if (name !== undefined) {
      for (const e of this.entries.values()) if (e.plugin.Name === name) return e;
    }
    if (ref !== '' && /^[a-f0-9]+$/.test(ref)) {
      const matches = this.all().filter((e) => e.plugin.Id.startsWith(ref));
      if (matches.length > 1) throw invalidParameter(`multiple plugins found for "${ref}": give more of the id or the name`);
      if (matches[0] !== undefined) return matches[0];
    }
    throw notFound(`plugin "${ref}" not found`);
  }

  /** Runs `fn` after every earlier operation on this plugin, with the entry as it is then. */
  async locked<T>(ref: string, fn: (e: Entry) => Promise<T>): Promise<T> {
    const first = this.resolve(ref);
    const id = first.plugin.Id;
    let release!: () => void;
    const previous = first.queue;
    first.queue = new Promise<void>((r) => (release = r));
    try {
      await previous;
      const e = this.entries.get(id);
      if (e === undefined) throw notFound(`plugin "${ref}" not found`);
      return await fn(e);
    } finally {
      release();
    }
  }
}
