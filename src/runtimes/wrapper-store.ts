// The folder of content-addressed wrapper scripts (<data-root>/runtimes).
// A script is written once, atomically, and never modified or deleted while
// berthd runs: a snapshot taken before any number of reloads can still use it.
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomicfile/index.js';
import { internal, messageOf } from '../errors/index.js';
import { wrapperFileName, wrapperScript } from './wrapper-script.js';

const MODE = 0o700;

export class WrapperStore {
  readonly dir: string;
  /** paths known to hold their content, checked or written by this process */
  readonly #known = new Set<string>();
  readonly #pending = new Map<string, Promise<string>>();
  #dirReady: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Where the wrapper for this runtime, binary and args lives (nothing is written). */
  pathFor(runtimeName: string, binary: string, args: readonly string[]): string {
    return join(this.dir, wrapperFileName(runtimeName, wrapperScript(binary, args)));
  }

  /**
   * Makes sure the wrapper exists and returns its path. A wrapper already
   * seen by this process costs no file system access at all.
   */
  ensure(runtimeName: string, binary: string, args: readonly string[]): Promise<string> {
    const content = wrapperScript(binary, args);
    const path = join(this.dir, wrapperFileName(runtimeName, content));
    if (this.#known.has(path)) return Promise.resolve(path);
    let pending = this.#pending.get(path);
    if (pending === undefined) {
      pending = this.#materialize(path, content).then(
        () => {
          this.#known.add(path);
          this.#pending.delete(path);
          return path;
        },
        (err: unknown) => {
          this.#pending.delete(path);
          throw internal(`cannot write runtime wrapper ${path}: ${messageOf(err)}`, err);
        },
      );
      this.#pending.set(path, pending);
    }
    return pending;
  }

  /** Every wrapper this process wrote or verified: the start-up clean-up keeps them. */
  written(): Set<string> {
    return new Set(this.#known);
  }

  #ensureDir(): Promise<void> {
    this.#dirReady ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: MODE });
      await chmod(this.dir, MODE);
    })().catch((err: unknown) => {
      this.#dirReady = undefined;
      throw err;
    });
    return this.#dirReady;
  }

  async #materialize(path: string, content: string): Promise<void> {
    await this.#ensureDir();
    let existing: string | undefined;
    try {
      existing = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // A file left by an earlier run is trusted once its bytes are checked;
    // a damaged one is replaced (atomically) with the same content.
    if (existing === content) {
      await chmod(path, MODE);
      return;
    }
    // Executable by its owner; the folder is flushed so the new name survives a crash.
    await writeFileAtomic(path, content, { mode: MODE, syncFolder: true });
  }
}

/**
 * Start-up only: removes every file of `dir` that is not in `keep` (absolute
 * paths or file names), such as scripts of runtimes no longer configured and
 * temporary files of an interrupted write. Returns the removed paths.
 */
export async function cleanupStaleWrappers(dir: string, keep: ReadonlySet<string>): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (keep.has(path) || keep.has(entry.name)) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}
