// A live subscription to a daemon's /events stream, for timing reloads to
// the moment their `daemon` `reload` event arrives.
import { request, type ClientRequest } from 'node:http';

export interface DaemonEvent {
  Type: string;
  Action: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export interface Arrival {
  event: DaemonEvent;
  /** process.hrtime.bigint() when the line was read */
  at: bigint;
}

export interface EventSubscription {
  /** Resolves with the next event matching `match` (already received ones count), or rejects after `timeoutMs`. */
  next(match: (e: DaemonEvent) => boolean, timeoutMs: number): Promise<Arrival>;
  /** Every event received so far, oldest first. */
  received(): readonly Arrival[];
  close(): void;
}

/** Opens GET /events?filters=… and resolves once the daemon has answered the headers. */
export function subscribeEvents(socketPath: string, filters: Record<string, string[]> = { type: ['daemon'] }): Promise<EventSubscription> {
  return new Promise((resolve, reject) => {
    const all: Arrival[] = [];
    let cursor = 0;
    const waiters = new Set<() => void>();
    let buffered = '';
    let ended: Error | undefined;
    const wake = (): void => {
      for (const w of [...waiters]) w();
    };
    const path = `/events?filters=${encodeURIComponent(JSON.stringify(filters))}`;
    const req: ClientRequest = request({ socketPath, method: 'GET', path }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /events answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = process.hrtime.bigint();
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          try {
            all.push({ event: JSON.parse(line) as DaemonEvent, at });
          } catch {
            /* not an event line */
          }
        }
        wake();
      });
      res.on('end', () => {
        ended = new Error('the /events stream ended');
        wake();
      });
      res.on('error', (err) => {
        ended = err;
        wake();
      });
      resolve({
        next(match, timeoutMs) {
          return new Promise<Arrival>((res2, rej2) => {
            const check = (): boolean => {
              while (cursor < all.length) {
                const a = all[cursor++]!;
                if (match(a.event)) {
                  done();
                  res2(a);
                  return true;
                }
              }
              if (ended) {
                done();
                rej2(ended);
                return true;
              }
              return false;
            };
            const timer = setTimeout(() => {
              done();
              rej2(new Error(`no matching event within ${timeoutMs} ms`));
            }, timeoutMs);
            const done = (): void => {
              clearTimeout(timer);
              waiters.delete(waiter);
            };
            const waiter = (): void => {
              check();
            };
            if (!check()) waiters.add(waiter);
          });
        },
        received: () => all,
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      ended = err;
      wake();
      reject(err);
    });
    // A daemon that holds back the response headers until the first event would hang the caller.
    req.setTimeout(10_000, () => {
      if (all.length === 0) req.destroy(new Error(`GET /events on ${socketPath}: no response headers within 10 s`));
    });
    req.once('response', () => req.setTimeout(0));
    req.end();
  });
}

export const isReload = (e: DaemonEvent): boolean => e.Type === 'daemon' && e.Action === 'reload';
