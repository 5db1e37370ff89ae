// GET /events: past events from the bus's ring first (when since or until is
// given), then live ones, as newline-delimited JSON. With `until` the stream
// ends at that time; without it, when the client leaves.
import { Readable } from 'node:stream';
import { invalidParameter } from '../../errors/index.js';
import type { EngineEvent, EventBus } from '../../events/index.js';
import { parseFilters } from '../query.js';
import { timestampQuery } from '../timestamp.js';
import type { RequestContext, Reply, Route } from '../types.js';
import { eventFilter } from './event-filter.js';

function line(event: EngineEvent): string {
  return `${JSON.stringify(event)}\n`;
}

function nowNs(): number {
  return Date.now() * 1e6;
}

export function eventsRoute(bus: EventBus): Route {
  return {
    method: 'GET',
    path: '/events',
    handler: async (ctx: RequestContext): Promise<Reply> => {
      const since = timestampQuery(ctx.query, 'since');
      const until = timestampQuery(ctx.query, 'until');
      if (since !== undefined && until !== undefined && since > until) {
        throw invalidParameter(
          `\`since\` time (${ctx.query.get('since')}) cannot be after \`until\` time (${ctx.query.get('until')})`,
        );
      }
      const include = eventFilter(parseFilters(ctx.query.get('filters')));

      let unsubscribe: (() => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        unsubscribe?.();
        unsubscribe = undefined;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        ctx.signal.removeEventListener('abort', onAbort);
      };
      const body = new Readable({
        read() {
          // Pushed as events happen.
        },
        destroy(err, done) {
          cleanup();
          done(err);
        },
      });
      const finish = (): void => {
        cleanup();
        body.push(null);
      };
      const onAbort = (): void => {
        cleanup();
        body.destroy();
      };

      // History and subscription are taken in the same tick, so no event falls
      // between them and none comes twice.
      if (since !== undefined || until !== undefined) {
        // Infinity rather than the bus's default bound: nanosecond timestamps are above MAX_SAFE_INTEGER.
        for (const event of bus.history(since ?? 0, until ?? Number.POSITIVE_INFINITY)) {
          if (include(event)) body.push(line(event));
        }
      }
      const start = nowNs();
      if (until !== undefined && until <= start) {
        finish();
      } else {
        unsubscribe = bus.subscribe((event) => {
          if (until !== undefined && event.timeNano > until) {
            finish();
            return;
          }
          if (include(event)) body.push(line(event));
        });
        if (until !== undefined) timer = setTimeout(finish, Math.ceil((until - start) / 1e6));
        if (ctx.signal.aborted) onAbort();
        else ctx.signal.addEventListener('abort', onAbort, { once: true });
      }
      return { kind: 'stream', contentType: 'application/json', body };
    },
  };
}
