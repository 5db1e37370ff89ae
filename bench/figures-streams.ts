// Figures of the data path and of stats: 50 MB through `docker run`'s stdout
// and stdin, and `docker stats --no-stream` over 20 running containers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../test/helpers/berthd.js';
import { createMany, removeMany } from './containers.js';
import type { BenchDaemon } from './daemon.js';
import { BENCH_IMAGE } from './image.js';
import { describeFailure, interleave, timeDocker, type Lane } from './measure.js';
import { msSince, type Summary } from './stats.js';

export const STREAM_BYTES = 50_000_000;
export const STATS_CONTAINERS = 20;

interface Ctx {
  daemons: readonly BenchDaemon[];
  runs: number;
  warmup: number;
  log(line: string): void;
}

/** Wall time of a shell pipeline around the docker CLI; `check` validates its output. */
async function timeShell(d: BenchDaemon, script: string, check: (stdout: string) => boolean): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await runCommand('/bin/sh', ['-c', script], d.env, { timeoutMs: 120_000 });
  const ms = msSince(start);
  if (r.code !== 0 || !check(r.stdout)) throw describeFailure(`sh -c ${script}`, r);
  return ms;
}

/** `docker run --rm IMAGE head -c 50000000 /dev/zero | wc -c` */
export function stdoutFigure(ctx: Ctx): Promise<Map<string, Summary>> {
  const script = `docker run --rm --network none ${BENCH_IMAGE} head -c ${STREAM_BYTES} /dev/zero | wc -c`;
  const lanes: Lane[] = ctx.daemons.map((d) => ({ name: d.name, sample: () => timeShell(d, script, (out) => out.trim() === String(STREAM_BYTES)) }));
  return interleave(lanes, ctx.runs, ctx.warmup);
}

/** `docker run --rm -i IMAGE sh -c 'cat > /dev/null' < 50 MB file` */
export async function stdinFigure(ctx: Ctx): Promise<Map<string, Summary>> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-stdin-'));
  const file = join(dir, 'in.bin');
  writeFileSync(file, Buffer.alloc(STREAM_BYTES, 0x61));
  try {
    const script = `docker run --rm -i --network none ${BENCH_IMAGE} sh -c 'cat > /dev/null' < ${file}`;
    const lanes: Lane[] = ctx.daemons.map((d) => ({ name: d.name, sample: () => timeShell(d, script, () => true) }));
    return await interleave(lanes, ctx.runs, ctx.warmup);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `docker stats --no-stream` with STATS_CONTAINERS running containers on each daemon. */
export async function statsFigure(ctx: Ctx): Promise<Map<string, Summary>> {
  const started: [BenchDaemon, string[]][] = [];
  try {
    for (const d of ctx.daemons) {
      ctx.log(`  starting ${STATS_CONTAINERS} containers on ${d.name}…`);
      started.push([d, await createMany(d, { prefix: 'bench-stats', count: STATS_CONTAINERS, image: BENCH_IMAGE, cmd: ['sleep', '100000'], start: true })]);
    }
    const lanes: Lane[] = ctx.daemons.map((d) => ({
      name: d.name,
      sample: async () => {
        const ms = await timeDocker(d, ['stats', '--no-stream']);
        return ms;
      },
    }));
    return await interleave(lanes, ctx.runs, ctx.warmup);
  } finally {
    for (const [d, ids] of started) await removeMany(d, ids).catch((err: unknown) => ctx.log(`  tear-down on ${d.name} failed: ${String(err)}`));
  }
}
