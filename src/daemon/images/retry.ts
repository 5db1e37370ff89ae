// Retries of registry transfers (layer downloads and uploads): which
// failures are worth another attempt, and the countdown dockerd shows
// before it.
import { BerthError } from '../../errors/index.js';
import { RegistryError } from '../../distribution/index.js';
import type { ProgressStream } from './progress.js';

/** Network failures, 5xx and 429 are worth another attempt; bad content and refusals are not. */
export function retryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.retryable;
  if (err instanceof BerthError) return err.kind === 'unavailable' && !/cancelled/.test(err.message);
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT' || (err as Error).message === 'aborted';
}

/** `Retrying in N seconds` on the layer's line, counting down. */
export async function sleepCounting(out: ProgressStream, id: string, seconds: number, signal: AbortSignal): Promise<void> {
  for (let s = seconds; s > 0; s--) {
    if (signal.aborted) return;
    out.update(id, `Retrying in ${s} second${s === 1 ? '' : 's'}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
