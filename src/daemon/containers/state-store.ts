// Container records on disk: <data-root>/containers/<id>/state.json, written
// atomically (temp file, fsync, rename) so that a crash leaves either the old
// or the new record, never half of one. Writes of one container are chained
// so that an older write can never land after a newer one.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../atomicfile/index.js';
import type { Logger } from '../../log/index.js';
import type { ContainerRecordState } from './types.js';

const STATE_FILE = 'state.json';
const TOMBSTONE_PREFIX = '.removing-';

export class StateStore {
  readonly root: string;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(dataRoot: string, private readonly logger: Logger) {
    this.root = join(dataRoot, 'containers');
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o710 });
  }

  /** Persists a copy of `state` taken now; resolves once it is on disk. */
  save(state: ContainerRecordState): Promise<void> {
    const text = JSON.stringify(state);
    const prev = this.chains.get(state.Id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.write(state.Id, text));
    this.chains.set(state.Id, next);
    void next.finally(() => {
      if (this.chains.get(state.Id) === next) this.chains.delete(state.Id);
    }).catch(() => undefined);
    return next;
  }

  private async write(id: string, text: string): Promise<void> {
    const dir = this.dir(id);
    await mkdir(dir, { recursive: true, mode: 0o710 });
    await writeFileAtomic(join(dir, STATE_FILE), text);
  }

  /** Every readable record; unreadable ones are logged and skipped. Also finishes interrupted removals. */
  async loadAll(): Promise<{ states: ContainerRecordState[]; interruptedRemovals: string[] }> {
    const states: ContainerRecordState[] = [];
    const interruptedRemovals: string[] = [];
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return { states, interruptedRemovals };
    }
    await Promise.all(
      entries.map(async (name) => {
        if (name.startsWith(TOMBSTONE_PREFIX)) {
          interruptedRemovals.push(name.slice(TOMBSTONE_PREFIX.length));
          await rm(join(this.root, name), { recursive: true, force: true });
          return;
        }
        if (!/^[0-9a-f]{64}$/.test(name)) return;
        try {
          const parsed = JSON.parse(await readFile(join(this.root, name, STATE_FILE), 'utf8')) as ContainerRecordState;
          if (parsed.Id !== name) throw new Error(`record names container ${parsed.Id}`);
          states.push(parsed);
        } catch (err) {
          this.logger.error({ err, container: name }, 'cannot read the state of container %s; it is ignored', name);
        }
      }),
    );
    return { states, interruptedRemovals };
  }

  /**
   * Removes a container's directory (state, log, etc files): renamed away
   * first, so that a crash midway never leaves a half-removed container that
   * would come back at the next start.
   */
  async remove(id: string): Promise<void> {
    await (this.chains.get(id) ?? Promise.resolve()).catch(() => undefined);
    const tomb = join(this.root, `${TOMBSTONE_PREFIX}${id}`);
    try {
      await rename(this.dir(id), tomb);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return;
    }
    await rm(tomb, { recursive: true, force: true });
  }
}
