// Waits for a file to change: fs.watch when it works, with a short polling
// interval as a fallback (inotify may be unavailable or miss renames).
import { watch, type FSWatcher } from 'node:fs';

const POLL_MS = 75;

export class ChangeWaiter {
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private changed = false;

  constructor(private readonly path: string) {}

  /** Resolves on a change, after the polling interval, or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    this.ensureWatcher();
    if (this.changed || signal.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
      const timer = setTimeout(done, POLL_MS);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /** Wake a pending wait now (e.g. the producer has finished). */
  poke(): void {
    this.changed = true;
    this.wake?.();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.wake?.();
  }

  private ensureWatcher(): void {
    if (this.watcher !== undefined) return;
    try {
      this.watcher = watch(this.path, { persistent: false }, () => {
        this.changed = true;
        this.wake?.();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
      });
    } catch {
      // The file may not exist yet; polling covers it and the next wait retries.
    }
  }
}
