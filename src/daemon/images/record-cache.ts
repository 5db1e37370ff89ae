// containerd's image records, listed once and kept until they change. Almost
// every image operation (and `docker info`, `run`, `images`) starts from the
// list, and a gRPC round trip per request was most of their cost. The list is
// kept only while a containerd event subscription for the namespace's image
// events is in place: an event (a change by anyone, ctr included) drops it,
// and berth's own writes drop it before and after they run.
import type { ContainerdClient, ImageRecord, Subscription } from '../../containerd/index.js';
import type { Logger } from '../../log/index.js';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Time for a new subscription to be in place before the list may be kept. */
const SETTLE_MS = 150;

export class RecordCache {
  private list_: Promise<ImageRecord[]> | undefined;
  /** bumped by every change seen: a list started before it is not kept */
  private generation = 0;
  private writes = 0;
  private watching = false;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff = MIN_BACKOFF_MS;
  private closed = true;

  constructor(
    private readonly client: ContainerdClient,
    private readonly logger: Logger,
  ) {}

  /** True while lists may be answered from memory. */
  get caching(): boolean {
    return this.watching && this.writes === 0;
  }

  /** The records; `fresh` asks containerd whatever is kept. */
  list(fresh = false): Promise<ImageRecord[]> {
    if (!fresh && this.list_ !== undefined && this.caching) return this.list_.then((records) => [...records]);
    const generation = this.generation;
    const listed = this.client.images.list();
    if (this.caching) {
      this.list_ = listed;
      listed.then(
        () => {
          if (generation !== this.generation && this.list_ === listed) this.list_ = undefined;
        },
        () => {
          if (this.list_ === listed) this.list_ = undefined;
        },
      );
    }
    return listed.then((records) => [...records]);
  }

  /** Drops the kept list. */
  invalidate(): void {
    this.generation++;
    this.list_ = undefined;
  }

  /** Runs a write to image records: nothing is kept while it runs, and the list is dropped around it. */
  async write<T>(op: () => Promise<T>): Promise<T> {
    this.writes++;
    this.invalidate();
    try {
      return await op();
    } finally {
      this.writes--;
      this.invalidate();
    }
  }

  /** Starts watching `namespace`'s image events; until then nothing is kept. */
  watch(namespace: string): void {
    this.closed = false;
    this.subscribe(namespace);
  }

  close(): void {
    this.closed = true;
    this.watching = false;
    clearTimeout(this.timer);
    this.sub?.close();
    this.sub = undefined;
    this.invalidate();
  }

  private subscribe(namespace: string): void {
    if (this.closed) return;
    let ended = false;
    this.sub = this.client.events.subscribe(
      [`namespace==${JSON.stringify(namespace)},topic~="^/images/"`],
      () => this.invalidate(),
      (err) => {
        if (ended) return;
        ended = true;
        this.watching = false;
        this.invalidate();
        if (this.closed) return;
        this.logger.debug({ err }, 'image event stream ended; image records are listed on every request until it is back');
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.subscribe(namespace), this.backoff);
        this.timer.unref();
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      },
    );
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (ended || this.closed) return;
      this.invalidate();
      this.watching = true;
      this.backoff = MIN_BACKOFF_MS;
    }, SETTLE_MS);
    this.timer.unref();
  }
}
