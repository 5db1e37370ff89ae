// A counting semaphore: at most `n` downloads or uploads at a time.
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly n: number) {}

  /** Whether a caller now would have to wait. */
  get full(): boolean {
    return this.active >= Math.max(1, this.n);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.full) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
