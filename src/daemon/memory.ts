// After a burst of buffer-heavy work (an image load, import or save), one full
// garbage collection once the daemon has been quiet for a moment hands the
// burst's buffers and heap pages back to the system now, rather than whenever
// V8's memory reducer gets to them. Needs --expose-gc, which bin/berthd sets;
// without it this does nothing.
const QUIET_MS = 1000;

let timer: NodeJS.Timeout | undefined;

export function collectAfterBurst(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  // A burst that ends while one is pending starts the quiet period again.
  if (timer !== undefined) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    gc();
  }, QUIET_MS);
  timer.unref();
}
