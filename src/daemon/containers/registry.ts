// The in-memory index of containers: by id, by name, by unique id prefix.
// Name reservation is synchronous, so two racing creates cannot both win.
import { conflict, invalidParameter, notFound } from '../../errors/index.js';
import type { Container } from './container.js';

export function nameConflict(name: string, holder: string, prefix = ''): Error {
  return conflict(
    `${prefix}Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
}

export class Registry {
  private readonly byId = new Map<string, Container>();
  /** name (without slash) → id; reserved names may have no container yet */
  private readonly names = new Map<string, string>();

  /** Claims `name` for `id` or throws the 409 dockerd gives. */
  reserveName(name: string, id: string, errorPrefix = ''): void {
    const holder = this.names.get(name);
    if (holder !== undefined && holder !== id) throw nameConflict(name, holder, errorPrefix);
    this.names.set(name, id);
  }

  tryReserveName(name: string, id: string): boolean {
    if (this.names.has(name)) return false;
    this.names.set(name, id);
    return true;
  }

  releaseName(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  add(c: Container): void {
    this.byId.set(c.id, c);
    this.names.set(c.name, c.id);
  }

  delete(c: Container): void {
    this.byId.delete(c.id);
    this.releaseName(c.name, c.id);
  }

  all(): Container[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  byExactId(id: string): Container | undefined {
    return this.byId.get(id);
  }

  /** Full id, then name (with or without `/`), then a unique id prefix. */
  find(ref: string): Container | undefined {
    if (ref === '') return undefined;
    const exact = this.byId.get(ref);
    if (exact !== undefined) return exact;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.names.get(name);
    if (byName !== undefined) {
      const c = this.byId.get(byName);
      if (c !== undefined) return c;
    }
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: Container | undefined;
    for (const [id, c] of this.byId) {
      if (!id.startsWith(ref)) continue;
      if (found !== undefined) throw invalidParameter(`multiple IDs found with provided prefix: ${ref}`);
      found = c;
    }
    return found;
  }

  get(ref: string): Container {
    const c = this.find(ref);
    if (c === undefined) throw notFound(`No such container: ${ref}`);
    return c;
  }
}
