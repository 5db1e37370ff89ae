// The configuration store: one current snapshot, replaced as a whole by
// reloads (read-copy-update). Readers take current() once per operation and
// keep that snapshot; nothing it references is ever changed or removed.
import { performance } from 'node:perf_hooks';
import { messageOf } from '../errors/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { cleanupStaleWrappers, WrapperStore, wrapperDir } from '../runtimes/index.js';
import type { Snapshot } from './types.js';
import { isConfigError } from './errors.js';
import type { DaemonFlags } from './flags.js';
import { loadConfig } from './load.js';
import { configFileOf, readConfigFile, readDaemonConfig } from './read.js';
import { mergeReloadable, type ReloadOutcome } from './reload.js';
import { buildSnapshot } from './snapshot.js';

/** Side effect of a successful reload, run after the swap (e.g. the log level). */
export type CommitHook = (next: Snapshot, previous: Snapshot) => void | Promise<void>;
/**
 * A reload step that may refuse: it prepares what the next snapshot needs
 * (e.g. reads new TLS files) and throws to refuse the reload; the function it
 * returns, if any, is run once the swap is done.
 */
export type PrepareHook = (next: Snapshot, previous: Snapshot) => Promise<(() => void) | void>;
export type ReloadListener = (outcome: ReloadOutcome) => void;
export type ConfigReader = (fileName: string, explicit: boolean) => Promise<string | undefined>;

export interface ConfigStoreOptions {
  flags: DaemonFlags;
  initial: Snapshot;
  wrappers: WrapperStore;
  logger?: Logger;
  /** how the configuration file is read; defaults to the file system */
  readFile?: ConfigReader;
}

export class ConfigStore {
  readonly flags: DaemonFlags;
  readonly wrappers: WrapperStore;
  #snapshot: Snapshot;
  readonly #logger: Logger;
  readonly #read: ConfigReader;
  readonly #commitHooks = new Set<CommitHook>();
  readonly #prepareHooks = new Set<PrepareHook>();
  readonly #listeners = new Set<ReloadListener>();
  /** the latest reload started or queued; the next one waits for it */
  #tail: Promise<unknown> = Promise.resolve();
  /** a reload queued but not started yet: callers arriving now share it */
  #queued: Promise<ReloadOutcome> | undefined;

  constructor(opts: ConfigStoreOptions) {
    this.flags = opts.flags;
    this.wrappers = opts.wrappers;
    this.#snapshot = opts.initial;
    this.#logger = opts.logger ?? silentLogger();
    this.#read = opts.readFile ?? readConfigFile;
  }

  /** Loads the configuration named by the flags, writes its wrappers and returns a store at generation 1. */
  static async open(flags: DaemonFlags, opts: { logger?: Logger; readFile?: ConfigReader } = {}): Promise<ConfigStore> {
    const { fileName, explicit } = configFileOf(flags);
    const config =
      opts.readFile === undefined
        ? await readDaemonConfig(flags)
        : loadConfig(flags, await opts.readFile(fileName, explicit), fileName);
    const wrappers = new WrapperStore(wrapperDir(config.dataRoot));
    const initial = await buildSnapshot(config, 1, wrappers);
    return new ConfigStore({ flags, initial, wrappers, ...opts });
  }

  /** The snapshot in force. Take it once per operation and pass it down. */
  current(): Snapshot {
    return this.#snapshot;
  }

  onCommit(hook: CommitHook): () => void {
    this.#commitHooks.add(hook);
    return () => this.#commitHooks.delete(hook);
  }

  onPrepare(hook: PrepareHook): () => void {
    this.#prepareHooks.add(hook);
    return () => this.#prepareHooks.delete(hook);
  }

  /** Called after every reload attempt, refused ones included (to publish the `reload` event). */
  onReload(listener: ReloadListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Re-reads the configuration file and swaps in a new snapshot if all of it
   * is valid. Reloads run one at a time; callers that arrive while one is
   * waiting to start share it, so every caller's outcome reflects a read of
   * the file made after its call. Never rejects: a refused reload is an
   * outcome with errors, and the current snapshot stays the same object.
   */
  reload(): Promise<ReloadOutcome> {
    if (this.#queued !== undefined) return this.#queued;
    const run: Promise<ReloadOutcome> = this.#tail.then(() => {
      if (this.#queued === run) this.#queued = undefined;
      return this.#attempt();
    });
    this.#queued = run;
    this.#tail = run;
    return run;
  }

  /**
   * Start-up only, before reloads are enabled: removes wrapper scripts that
   * neither the current configuration nor `keep` (scripts of containers that
   * survived the restart) uses. Runs in the reload queue, so no reload races it.
   */
  cleanupStaleWrappers(keep: Iterable<string> = []): Promise<string[]> {
    const run = this.#tail.then(async () => {
      const all = this.wrappers.written();
      for (const path of keep) all.add(path);
      return cleanupStaleWrappers(this.wrappers.dir, all);
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #attempt(): Promise<ReloadOutcome> {
    const started = performance.now();
    const previous = this.#snapshot;
    const { fileName, explicit } = configFileOf(this.flags);
    let outcome: ReloadOutcome;
    try {
      const loaded = loadConfig(this.flags, await this.#read(fileName, explicit), fileName);
      const { config, changed, ignored } = mergeReloadable(previous.config, loaded);
      const next = await buildSnapshot(config, previous.generation + 1, this.wrappers);
      const commits: (() => void)[] = [];
      for (const prepare of this.#prepareHooks) {
        const commit = await prepare(next, previous);
        if (commit) commits.push(commit);
      }
      this.#snapshot = next;
      for (const commit of commits) commit();
      for (const hook of this.#commitHooks) {
        try {
          await hook(next, previous);
        } catch (err) {
          // The swap stands: a failing side effect must not leave half a configuration.
          this.#logger.error({ err: messageOf(err) }, 'a reload side effect failed');
        }
      }
      outcome = { ok: true, configFile: fileName, snapshot: next, previous, errors: [], changed, ignored, durationMs: 0 };
    } catch (err) {
      const errors = isConfigError(err) ? [...err.errors] : [messageOf(err)];
      outcome = { ok: false, configFile: fileName, snapshot: previous, previous, errors, changed: [], ignored: [], durationMs: 0 };
    }
    outcome.durationMs = performance.now() - started;
    this.#log(outcome);
    for (const listener of this.#listeners) {
      try {
        listener(outcome);
      } catch (err) {
        this.#logger.error({ err: messageOf(err) }, 'a reload listener failed');
      }
    }
    return outcome;
  }

  #log(o: ReloadOutcome): void {
    if (!o.ok) {
      this.#logger.error(
        { configFile: o.configFile, errors: o.errors },
        `configuration reload from ${o.configFile} refused; the running configuration is unchanged`,
      );
      return;
    }
    this.#logger.info(
      { configFile: o.configFile, generation: o.snapshot.generation, changed: o.changed, durationMs: Math.round(o.durationMs * 10) / 10 },
      'configuration reloaded',
    );
    if (o.ignored.length > 0) {
      this.#logger.warn({ keys: o.ignored }, `ignored changes that need a restart of berthd: ${o.ignored.join(', ')}`);
    }
  }
}
