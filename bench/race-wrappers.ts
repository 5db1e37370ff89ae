// Watches <data-root>/runtimes during a race: a wrapper script, once seen,
// must keep its content and stay on disk until berthd stops (SPEC §2).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface WrapperViolation {
  file: string;
  problem: 'changed' | 'disappeared' | 'content does not match its name';
  /** which snapshot saw it: 'during #N' or 'after' */
  seenAt: string;
}

export type WrapperSnapshot = Map<string, string>;

/** name → sha256 of every wrapper; in-flight temporary files (dot-names) are not wrappers. */
export async function snapshotWrappers(dir: string): Promise<WrapperSnapshot> {
  const out: WrapperSnapshot = new Map();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    try {
      out.set(name, createHash('sha256').update(await readFile(join(dir, name))).digest('hex'));
    } catch (err) {
      // Listed, then gone before it could be read: the next comparison reports it.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}

/** Accumulates every wrapper ever seen and reports each violation once. */
export class WrapperWatch {
  readonly dir: string;
  readonly #seen: WrapperSnapshot = new Map();
  readonly #violations = new Map<string, WrapperViolation>();
  #snapshots = 0;
  #before = 0;
  #last = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  async before(): Promise<void> {
    const snap = await this.#take('before');
    this.#before = snap.size;
  }

  async during(): Promise<void> {
    await this.#take(`during #${++this.#snapshots}`);
  }

  async after(): Promise<void> {
    await this.#take('after');
  }

  async #take(label: string): Promise<WrapperSnapshot> {
    const snap = await snapshotWrappers(this.dir);
    for (const [file, hash] of this.#seen) {
      const now = snap.get(file);
      if (now === undefined) this.#flag({ file, problem: 'disappeared', seenAt: label });
      else if (now !== hash) this.#flag({ file, problem: 'changed', seenAt: label });
    }
    for (const [file, hash] of snap) {
      if (!this.#seen.has(file)) this.#seen.set(file, hash);
      // Content-addressed names end in the sha256 of the content.
      const m = /\.([0-9a-f]{64})$/.exec(file);
      if (m && m[1] !== hash) this.#flag({ file, problem: 'content does not match its name', seenAt: label });
    }
    this.#last = snap.size;
    return snap;
  }

  #flag(v: WrapperViolation): void {
    const key = `${v.file}\0${v.problem}`;
    if (!this.#violations.has(key)) this.#violations.set(key, v);
  }

  report(): { before: number; after: number; everSeen: number; snapshots: number; violations: WrapperViolation[] } {
    return {
      before: this.#before,
      after: this.#last,
      everSeen: this.#seen.size,
      snapshots: this.#snapshots,
      violations: [...this.#violations.values()],
    };
  }
}
