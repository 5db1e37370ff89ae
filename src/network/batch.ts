// Coalesces requests of one kind of work: the first runs at once; those
// that arrive while a run is under way wait and go together in the next one.
// Used where one process can do many items (umount takes several paths), so
// that concurrent container stops spawn fewer processes.

export class Batcher<T> {
  private queue: Array<{ item: T; done: () => void }> = [];
  private running = false;

  /** run: does every item of a batch; its failure is the batch's callers' concern, not the batcher's (every caller settles). */
  constructor(private readonly run: (items: T[]) => Promise<void>) {}

  add(item: T): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ item, done: resolve });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      await this.run(batch.map((b) => b.item)).catch(() => undefined);
      for (const b of batch) b.done();
    }
    this.running = false;
  }
}
