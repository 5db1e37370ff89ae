// Figures of the volumes issue: docker cp of a 2,000-file tree (~50 MB) into
// and out of a running container, and docker run --rm with an existing named
// volume.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContainer, removeContainer, startContainer } from './containers.js';
import type { BenchDaemon } from './daemon.js';
import { BENCH_IMAGE } from './image.js';
import { interleave, timeDocker, type Lane } from './measure.js';
import type { Summary } from './stats.js';

/** Only what the figures here need of the benchmark's context. */
export interface VolumeBenchContext {
  daemons: readonly BenchDaemon[];
  runs: number;
  warmup: number;
  log(line: string): void;
}

export const CP_FILES = 2_000;
const FILE_BYTES = 25_000;

/** 2,000 files of random bytes in 20 directories under a new temporary directory; returns the tree's root. */
function makeTree(): { dir: string; tree: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-cp-'));
  const tree = join(dir, 'tree');
  for (let i = 0; i < CP_FILES; i++) {
    const sub = join(tree, `d${String(i % 20).padStart(2, '0')}`);
    if (i < 20) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}`), randomBytes(FILE_BYTES));
  }
  return { dir, tree };
}

/**
 * Two containers per daemon, made in opposite orders (berth's first, then
 * dockerd's first), and each lane's samples alternate between them: where a
 * new container's files land on disk, and so how dear creating them is,
 * depends on what was made and deleted just before, not on the daemon.
 */
async function withCpContainers(ctx: VolumeBenchContext, body: (tree: string, dir: string, container: (d: BenchDaemon) => string) => Promise<Map<string, Summary>>): Promise<Map<string, Summary>> {
  const { dir, tree } = makeTree();
  const ids: Array<[BenchDaemon, string]> = [];
  const orders = [ctx.daemons, [...ctx.daemons].reverse()];
  try {
    for (const [set, order] of orders.entries()) {
      for (const d of order) {
        const name = `bench-cp-${set}`;
        const id = await createContainer(d, name, BENCH_IMAGE, ['sleep', '100000']);
        ids.push([d, id]);
        await startContainer(d, id);
        // the tree the cp-out figure reads
        await timeDocker(d, ['cp', tree, `${name}:/tmp/`]);
      }
    }
    const taken = new Map<string, number>();
    return await body(tree, dir, (d) => {
      const n = taken.get(d.name) ?? 0;
      taken.set(d.name, n + 1);
      return `bench-cp-${n % orders.length}`;
    });
  } finally {
    for (const [d, id] of ids) await removeContainer(d, id).catch((err: unknown) => ctx.log(`  tear-down on ${d.name} failed: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

// Every sample copies to a path that does not exist yet, on both sides: a
// copy over the last one would first delete 2,000 files, and on ext4 without
// a journal (this machine's) creating files next to recently deleted inodes
// costs up to ten times more, by where the inodes lie rather than by which
// daemon writes them. Nothing is deleted until the figure ends.
let cpSample = 0;
const freshName = (d: BenchDaemon): string => `${d.name}-${process.pid}-${cpSample++}`;

export function cpIn(ctx: VolumeBenchContext): Promise<Map<string, Summary>> {
  return withCpContainers(ctx, (tree, _dir, container) => {
    const lanes: Lane[] = ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['cp', tree, `${container(d)}:/tmp/in-${freshName(d)}`]) }));
    return interleave(lanes, ctx.runs, ctx.warmup);
  });
}

export function cpOut(ctx: VolumeBenchContext): Promise<Map<string, Summary>> {
  return withCpContainers(ctx, (_tree, dir, container) => {
    const lanes: Lane[] = ctx.daemons.map((d) => ({
      name: d.name,
      sample: () => timeDocker(d, ['cp', `${container(d)}:/tmp/tree`, join(dir, `out-${freshName(d)}`)]),
    }));
    return interleave(lanes, ctx.runs, ctx.warmup);
  });
}

export async function runVolume(ctx: VolumeBenchContext): Promise<Map<string, Summary>> {
  const made: BenchDaemon[] = [];
  try {
    for (const d of ctx.daemons) {
      await timeDocker(d, ['volume', 'create', 'bench-vol']);
      made.push(d);
    }
    const args = ['run', '--rm', '--network', 'none', '-v', 'bench-vol:/data', BENCH_IMAGE, 'true'];
    return await interleave(ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, args) })), ctx.runs, ctx.warmup);
  } finally {
    for (const d of made) await d.docker(['volume', 'rm', 'bench-vol']).catch(() => undefined);
  }
}
