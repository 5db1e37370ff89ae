// A containerd event subscription kept in place: whenever it ends (containerd
// may be restarted by its supervisor) a new one follows after a growing
// backoff. Each new subscription is announced once it has had a moment to be
// in place, which is when a watcher catches up on what it may have missed.
import type { ContainerdClient, ContainerdEvent, Subscription } from './types.js';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Time for a new subscription to be in place before it is announced. */
const SETTLE_MS = 150;

export interface EventWatchHandlers {
  onEvent(e: ContainerdEvent): void;
  /** The subscription is in place. A rejection keeps the backoff growing for the next one. */
  onReady(): void | Promise<void>;
  /** The subscription ended (not by close); a new one follows. */
  onLost(err?: Error): void;
}

export interface EventWatch {
  close(): void;
}

export function watchEvents(client: ContainerdClient, filters: string[], handlers: EventWatchHandlers): EventWatch {
  let sub: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoff = MIN_BACKOFF_MS;
  let closed = false;

  const later = (fn: () => void, ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
    timer.unref();
  };

  const subscribe = (): void => {
    if (closed) return;
    let ended = false;
    const lost = (err?: Error): void => {
      if (ended || closed) return;
      ended = true;
      handlers.onLost(err);
      later(subscribe, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    };
    try {
      sub = client.events.subscribe(filters, handlers.onEvent, lost);
    } catch (err) {
      // A client closed under the watch (berthd aborting its start) throws
      // here, from a timer: that must not take the process down.
      lost(err as Error);
      return;
    }
    later(() => {
      if (ended || closed) return;
      Promise.resolve()
        .then(() => handlers.onReady())
        .then(
          () => (backoff = MIN_BACKOFF_MS),
          () => undefined,
        );
    }, SETTLE_MS);
  };
  subscribe();

  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      sub?.close();
      sub = undefined;
    },
  };
}
