// GET /containers/{id}/stats: a sample every second (stream), two samples
// half a second apart (stream=0, so that precpu is filled), or one at once
// (one-shot), in dockerd's JSON shape.
import { Readable } from 'node:stream';
import type { ContainerdClient } from '../../containerd/index.js';
import { invalidParameter } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { formatRfc3339Nano } from '../io/index.js';
import { readSamples } from './sampler.js';
import { dockerStats, emptyStats, type StatsSample } from './shape.js';

export interface StatsTarget {
  readonly id: string;
  readonly name: string;
  isRunning(): boolean;
  initPid(): number;
}

export interface StatsOptions {
  stream: boolean;
  oneShot: boolean;
  signal?: AbortSignal;
  /** true once the container is removed: a stream ends then */
  gone?: () => boolean;
}

const INTERVAL_MS = 1000;
/** stream=0 waits this long between its two samples (dockerd waits for two ticks of its 1 s collector). */
export const NO_STREAM_WINDOW_MS = 500;

const formatTime = (d: Date): string => formatRfc3339Nano(BigInt(d.getTime()) * 1_000_000n, false);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class StatsService {
  constructor(
    private readonly client: ContainerdClient,
    private readonly logger: Logger,
  ) {}

  /** One sample of a running container, or undefined. */
  async sample(target: StatsTarget): Promise<StatsSample | undefined> {
    if (!target.isRunning()) return undefined;
    try {
      return (await readSamples(this.client, [{ id: target.id, pid: target.initPid() }])).get(target.id);
    } catch (err) {
      this.logger.debug({ err, container: target.id }, 'reading task metrics failed');
      return undefined;
    }
  }

  /** The stats body: JSON objects, one per line. */
  stats(target: StatsTarget, opts: StatsOptions): Readable {
    if (opts.stream && opts.oneShot) throw invalidParameter('cannot have stream=true and one-shot=true');
    const name = `/${target.name.replace(/^\//, '')}`;
    const line = (o: unknown): Buffer => Buffer.from(`${JSON.stringify(o)}\n`);
    const render = (cur: StatsSample | undefined, pre: StatsSample | undefined): Buffer =>
      line(cur === undefined ? emptyStats(name, target.id) : dockerStats(name, target.id, cur, pre, formatTime));
    const self = this;
    return Readable.from(
      (async function* () {
        if (!opts.stream) {
          const first = await self.sample(target);
          if (opts.oneShot || first === undefined) {
            yield render(first, undefined);
            return;
          }
          await sleep(NO_STREAM_WINDOW_MS, opts.signal);
          yield render((await self.sample(target)) ?? first, first);
          return;
        }
        let pre: StatsSample | undefined;
        while (opts.signal?.aborted !== true && opts.gone?.() !== true) {
          const cur = await self.sample(target);
          yield render(cur, pre);
          pre = cur;
          await sleep(INTERVAL_MS, opts.signal);
        }
      })(),
      { objectMode: false },
    );
  }
}
