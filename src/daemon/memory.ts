// Handing memory back once the daemon goes quiet. V8 frees bytecode of
// functions that have not run for several full collections, and compacts
// pages, only as collections happen; an idle daemon hardly collects, so the
// bytecode of start-up and the buffers of a burst (an image load, a hundred
// containers) would stay resident. After QUIET_MS without activity, and only
// when the resident set grew since the last time, a short series of full collections
// runs, one per turn of the event loop so that a request arriving meanwhile
// waits for one collection at most (and stops the series).
// Needs --expose-gc, which bin/berthd sets; without it this does nothing.

const QUIET_MS = 1500;
/** enough for V8 to age out and flush unused bytecode */
const COLLECTIONS = 16;
/** growth of the resident set (bytes) since the last settle that makes another one worth it */
const GROWTH = 1024 * 1024;

type Collect = () => void;

export interface MemorySettler {
  /** Call on any activity (a request, the end of a burst of work). */
  noteActivity(): void;
  /** Stops any pending or running series. */
  stop(): void;
}

export interface SettlerOptions {
  /** default: the global gc of --expose-gc; null: none */
  gc?: Collect | null;
  quietMs?: number;
  collections?: number;
  /** resident set size now, in bytes */
  footprint?: () => number;
}

export function createMemorySettler(opts: SettlerOptions = {}): MemorySettler {
  const gc = opts.gc === undefined ? (globalThis as { gc?: Collect }).gc : (opts.gc ?? undefined);
  const quietMs = opts.quietMs ?? QUIET_MS;
  const collections = opts.collections ?? COLLECTIONS;
  const footprint = opts.footprint ?? (() => process.memoryUsage.rss());
  let lastActivity = 0;
  let activities = 0;
  let settledAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const arm = (ms: number): void => {
    timer = setTimeout(onQuiet, ms);
    timer.unref();
  };

  function onQuiet(): void {
    timer = undefined;
    const quietFor = Date.now() - lastActivity;
    if (quietFor < quietMs) {
      arm(quietMs - quietFor);
      return;
    }
    if (settledAt !== undefined && footprint() < settledAt + GROWTH) return;
    step(activities, collections);
  }

  function step(series: number, left: number): void {
    if (stopped || series !== activities || gc === undefined) return;
    gc();
    // A referenced immediate: an unreferenced one waits for other I/O to wake the loop.
    if (left > 1) setImmediate(() => step(series, left - 1));
    else settledAt = footprint();
  }

  return {
    noteActivity(): void {
      lastActivity = Date.now();
      activities++;
      if (gc === undefined || stopped || timer !== undefined) return;
      arm(quietMs);
    },
    stop(): void {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The daemon's settler: requests and bursts of buffer-heavy work (image load, import, save) note activity. */
export const memory = createMemorySettler();
