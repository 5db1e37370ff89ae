// Running samples: A/B interleaving (so drift on a busy machine hits both
// daemons alike), a bounded worker pool, and timing of one docker command.
import { request } from 'node:http';
import type { CommandResult } from '../test/helpers/berthd.js';
import type { DaemonUnderTest } from './daemon.js';
import { msSince, summarize, type Summary } from './stats.js';

export interface Lane {
  name: string;
  /** one measurement (ms, MiB…) */
  sample(): Promise<number>;
}

/**
 * `warmup` unrecorded rounds, then `runs` recorded rounds; each round takes
 * one sample per lane in order (berth, dockerd, berth, dockerd…).
 */
export async function interleave(lanes: readonly Lane[], runs: number, warmup: number): Promise<Map<string, Summary>> {
  const samples = new Map<string, number[]>(lanes.map((l) => [l.name, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const lane of lanes) {
      const v = await lane.sample();
      if (round >= warmup) samples.get(lane.name)!.push(v);
    }
  }
  const out = new Map<string, Summary>();
  for (const [name, list] of samples) {
    const s = summarize(list);
    if (s) out.set(name, s);
  }
  return out;
}

/** Runs `fn` over `items` with at most `concurrency` in flight; rejects with the first error after all settle. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (firstError !== undefined) throw firstError;
  return results;
}

export function describeFailure(what: string, r: CommandResult): Error {
  return new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
}

/** Wall time of one docker CLI invocation; a failed command is an error, not a sample. */
export async function timeDocker(daemon: DaemonUnderTest, args: string[], timeoutMs = 120_000): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await daemon.docker(args, { timeoutMs });
  const ms = msSince(start);
  if (r.code !== 0) throw describeFailure(`docker ${args.join(' ')}`, r);
  return ms;
}

/**
 * Wall time of one Engine API request on a fresh connection (as each CLI run
 * makes one), up to the last byte of the answer: the daemon's own share of a
 * CLI command, without the CLI's start-up.
 */
export function timeApi(daemon: DaemonUnderTest, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request({ socketPath: daemon.socket, path, method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}`));
        else resolve(msSince(start));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
