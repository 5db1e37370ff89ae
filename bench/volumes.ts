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

async function withCpContainers(ctx: VolumeBenchContext, body: (tree: string, dir: string) => Promise<Map<string, Summary>>): Promise<Map<string, Summary>> {
  const { dir, tree } = makeTree();
  const ids: Array<[BenchDaemon, string]> = [];
  try {
    for (const d of ctx.daemons) {
      const id = await createContainer(d, 'bench-cp', BENCH_IMAGE, ['sleep', '100000']);
      ids.push([d, id]);
      await startContainer(d, id);
      // the tree the cp-out figure reads
      await timeDocker(d, ['cp', tree, 'bench-cp:/tmp/']);
    }
    return await body(tree, dir);
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
  return withCpContainers(ctx, (tree) => {
    const lanes: Lane[] = ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['cp', tree, `bench-cp:/tmp/in-${freshName(d)}`]) }));
    return interleave(lanes, ctx.runs, ctx.warmup);
  });
}

export function cpOut(ctx: VolumeBenchContext): Promise<Map<string, Summary>> {
  return withCpContainers(ctx, (_tree, dir) => {
    const lanes: Lane[] = ctx.daemons.map((d) => ({
      name: d.name,
      sample: () => timeDocker(d, ['cp', 'bench-cp:/tmp/tree', join(dir, `out-${freshName(d)}`)]),
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
