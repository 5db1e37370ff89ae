// The reload race harness: `runRace` for tests and the benchmark, and a CLI
// for the long form:
//   node dist/bench/race.js [--clients 8] [--reloads 100] [--ops 200] [--gap 100] [--daemon berthd|dockerd]
// Exits non-zero on any undocumented failure or wrapper change.
import { Command, InvalidArgumentError } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBerthd, unmountUnder } from '../test/helpers/berthd.js';
import { startContainerd } from './containerd.js';
import type { DaemonUnderTest } from './daemon.js';
import { ensureDockerd, startDockerd } from './dockerd.js';
import { loadInto, writeBenchImage } from './image.js';
import { Reaper } from './procs.js';
import { raceStep } from './race-config.js';
import { formatRaceResult, runRace } from './race-harness.js';

export { formatRaceResult, runRace, failureReason, REMOVED_RUNTIME_MESSAGE, RACE_LABEL } from './race-harness.js';
export type { RaceOptions, RaceResult, FailureCount } from './race-harness.js';
export { raceStep, RACE_RUNTIMES, FLIP } from './race-config.js';
export type { WrapperViolation } from './race-wrappers.js';

/** dockerd words the refusal differently; used only when racing the reference daemon. */
const DOCKERD_REMOVED_RUNTIME = 'Unknown runtime specified flip';

const count = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} needs a whole number, got "${v}"`);
  return n;
};

async function cli(argv: string[]): Promise<number> {
  const o = new Command('race')
    .description('reloads racing container operations: zero undocumented failures, no wrapper changed')
    .option('--clients <n>', 'concurrent clients', count('--clients'), 8)
    .option('--reloads <n>', 'SIGHUP reloads', count('--reloads'), 100)
    .option('--ops <n>', 'at least this many operations', count('--ops'), 200)
    .option('--gap <ms>', 'pause after each reload event', count('--gap'), 100)
    .option('--budget <s>', 'stop starting operations after this many seconds', count('--budget'), 900)
    .option('--daemon <name>', 'berthd, or dockerd for reference', 'berthd')
    .parse(argv, { from: 'user' })
    .opts<{ clients: number; reloads: number; ops: number; gap: number; budget: number; daemon: string }>();
  if (o.daemon !== 'berthd' && o.daemon !== 'dockerd') throw new Error(`--daemon must be berthd or dockerd, not "${o.daemon}"`);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const reaper = new Reaper();
  const root = mkdtempSync('/tmp/berth-race-');
  reaper.add('remove the race root', async () => {
    await unmountUnder(root);
    rmSync(root, { recursive: true, force: true });
  });
  try {
    let daemon: DaemonUnderTest;
    if (o.daemon === 'berthd') {
      const handle = await startBerthd({ root: join(root, 'berth'), config: raceStep(0).config, timeoutMs: 60_000 });
      reaper.trackPid(handle.pid);
      reaper.add('stop berthd', () => handle.cleanup());
      daemon = handle;
    } else {
      ensureDockerd(log);
      const containerd = await startContainerd(join(root, 'containerd'), reaper);
      daemon = await startDockerd({ root: join(root, 'dockerd'), containerd: containerd.address, reaper });
    }
    await loadInto(daemon, await writeBenchImage(root));
    const result = await runRace(daemon, {
      clients: o.clients,
      reloads: o.reloads,
      minOps: o.ops,
      reloadGapMs: o.gap,
      budgetMs: o.budget * 1000,
      removedRuntimeMessage: o.daemon === 'dockerd' ? DOCKERD_REMOVED_RUNTIME : undefined,
      log,
    });
    process.stdout.write(`${formatRaceResult(result)}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await reaper.run();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`race failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}
