// containerd's image records, listed once and kept until they change. Almost
// every image operation (and `docker info`, `run`, `images`) starts from the
// list, and a gRPC round trip per request was most of their cost. The list is
// kept only while a containerd event subscription for the namespace's image
// events is in place: an event (a change by anyone, ctr included) drops it,
// and berth's own writes drop it before and after they run.
//
// Beside the list it keeps which images were last found complete (every
// layer blob stored, the top snapshot unpacked), so that a pull of an image
// already there asks containerd nothing but the registry. Any removal of
// content or of a snapshot in the namespace forgets them all, as any image
// event does; what containerd's collector takes is unreferenced, which the
// blobs and snapshots of a named image are not.
import { watchEvents, type ContainerdClient, type EventWatch, type ImageRecord } from '../../containerd/index.js';
import type { Logger } from '../../log/index.js';

export class RecordCache {
  private list_: Promise<ImageRecord[]> | undefined;
  /** bumped by every change seen: a list started before it is not kept */
  private generation = 0;
  private writes = 0;
  /** image target digests found complete, since the last change seen */
  private readonly complete = new Set<string>();
  /** bumped by every change that may make an image incomplete */
  private completeGeneration = 0;
  private watching = false;
  private events: EventWatch | undefined;

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

  /** Drops the kept list (and what was found complete). */
  invalidate(): void {
    this.generation++;
    this.list_ = undefined;
    this.forgetComplete();
  }

  private forgetComplete(): void {
    this.completeGeneration++;
    this.complete.clear();
  }

  /** Whether the image with this target was found complete, with nothing changed since. */
  knownComplete(digest: string): boolean {
    return this.caching && this.complete.has(digest);
  }

  /**
   * Whether the image with this target is complete: known already, or found
   * by `check`, whose true answer is kept unless something changed while it ran.
   */
  async checkComplete(digest: string, check: () => Promise<boolean>): Promise<boolean> {
    if (this.knownComplete(digest)) return true;
    const generation = this.completeGeneration;
    const ok = await check();
    if (ok && this.caching && generation === this.completeGeneration) this.complete.add(digest);
    return ok;
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
    this.close();
    const ns = `namespace==${JSON.stringify(namespace)}`;
    // Filters are alternatives: image changes, and the removals that can make an image incomplete.
    this.events = watchEvents(this.client, [`${ns},topic~="^/images/"`, `${ns},topic=="/content/delete"`, `${ns},topic=="/snapshot/remove"`], {
      // A removed blob or snapshot leaves the image list as it was.
      onEvent: (e) => (e.topic.startsWith('/images/') ? this.invalidate() : this.forgetComplete()),
      onReady: () => {
        this.invalidate();
        this.watching = true;
      },
      onLost: (err) => {
        this.watching = false;
        this.invalidate();
        this.logger.debug({ err }, 'image event stream ended; image records are listed on every request until it is back');
      },
    });
  }

  close(): void {
    this.events?.close();
    this.events = undefined;
    this.watching = false;
    this.invalidate();
  }
}
