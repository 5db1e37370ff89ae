// docker build and docker commit figures (SPEC §8): a 10-step Dockerfile
// (3 RUN, 3 COPY of a ~20 MB context, config steps) cold and fully cached,
// and a commit of a container that wrote 50 MB. The docker CLI without
// buildx uses the classic builder on both daemons.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchDaemon } from './daemon.js';
import { BENCH_IMAGE } from './image.js';
import { describeFailure, interleave, timeDocker } from './measure.js';
import { rssKiB } from './procs.js';
import type { Summary } from './stats.js';

interface Ctx {
  daemons: readonly BenchDaemon[];
  runs: number;
  warmup: number;
}

const DOCKERFILE = [
  `FROM ${BENCH_IMAGE}`,
  'ENV STAGE=bench',
  'WORKDIR /app',
  'COPY part1 /app/p1',
  'RUN cat /app/p1/* | wc -c > /app/n1',
  'COPY part2 /app/p2',
  'RUN echo two > /app/two',
  'COPY part3 /app/p3',
  'RUN ls -R /app > /app/list',
  'CMD ["sh"]',
  '',
].join('\n');

/** A context of three directories of 7 MiB of random bytes each (~21 MB). */
function writeContext(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  for (const part of ['part1', 'part2', 'part3']) {
    mkdirSync(join(dir, part));
    for (let i = 0; i < 7; i++) writeFileSync(join(dir, part, `f${i}.bin`), randomBytes(1024 * 1024));
  }
  return dir;
}

async function must(d: BenchDaemon, args: string[]): Promise<void> {
  const r = await d.docker(args, { timeoutMs: 300_000 });
  if (r.code !== 0) throw describeFailure(`docker ${args.join(' ')} on ${d.name}`, r);
}

async function cleanBuilds(d: BenchDaemon, tag: string): Promise<void> {
  await d.docker(['rmi', '-f', tag]).catch(() => undefined);
  await d.docker(['image', 'prune', '-f'], { timeoutMs: 300_000 }).catch(() => undefined);
  await d.docker(['builder', 'prune', '-f'], { timeoutMs: 300_000 }).catch(() => undefined);
}

async function withContext(ctx: Ctx, tag: string, body: (dir: string) => Promise<Map<string, Summary>>): Promise<Map<string, Summary>> {
  const dir = writeContext();
  try {
    return await body(dir);
  } finally {
    for (const d of ctx.daemons) await cleanBuilds(d, tag);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function buildCold(ctx: Ctx): Promise<Map<string, Summary>> {
  const tag = 'bench-build-cold';
  return withContext(ctx, tag, (dir) =>
    interleave(
      ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['build', '-q', '--no-cache', '-t', tag, dir], 300_000) })),
      ctx.runs,
      ctx.warmup,
    ),
  );
}

export function buildCached(ctx: Ctx): Promise<Map<string, Summary>> {
  const tag = 'bench-build-cached';
  return withContext(ctx, tag, async (dir) => {
    for (const d of ctx.daemons) await must(d, ['build', '-q', '-t', tag, dir]);
    return interleave(
      ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['build', '-q', '-t', tag, dir], 300_000) })),
      ctx.runs,
      ctx.warmup,
    );
  });
}

export async function commit50(ctx: Ctx): Promise<Map<string, Summary>> {
  const name = 'bench-commit';
  const tag = 'bench-commit-image';
  try {
    for (const d of ctx.daemons) {
      await d.docker(['rm', '-f', name]).catch(() => undefined);
      await must(d, ['run', '--name', name, '--network', 'none', BENCH_IMAGE, 'sh', '-c', 'head -c 52428800 /dev/urandom > /big']);
    }
    return await interleave(
      ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['commit', name, tag], 300_000) })),
      ctx.runs,
      ctx.warmup,
    );
  } finally {
    for (const d of ctx.daemons) {
      await d.docker(['rm', '-f', name]).catch(() => undefined);
      await cleanBuilds(d, tag);
    }
  }
}

/**
 * Peak RSS above idle while a 200 MB context is sent and copied (sampled
 * every 20 ms): the context must stream to disk, not into memory. Three
 * samples per daemon, whatever --runs says (each sends 200 MB).
 */
export async function contextRss(ctx: Ctx): Promise<Map<string, Summary>> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-context-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${BENCH_IMAGE}\nCOPY big /big\n`);
    mkdirSync(join(dir, 'big'));
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, 'big', `f${i}`), randomBytes(4 * 1024 * 1024));
    const lanes = ctx.daemons.map((d) => ({
      name: d.name,
      sample: async () => {
        await new Promise((r) => setTimeout(r, 1500));
        const idle = rssKiB(d.pid) ?? 0;
        let peak = idle;
        const timer = setInterval(() => (peak = Math.max(peak, rssKiB(d.pid) ?? 0)), 20);
        try {
          await timeDocker(d, ['build', '-q', '--no-cache', dir], 300_000);
        } finally {
          clearInterval(timer);
        }
        return (peak - idle) / 1024;
      },
    }));
    return await interleave(lanes, Math.min(ctx.runs, 3), 0);
  } finally {
    for (const d of ctx.daemons) await d.docker(['image', 'prune', '-f'], { timeoutMs: 300_000 }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
