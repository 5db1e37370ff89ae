// Command-line flags of `npm run bench`.
import { Command, InvalidArgumentError } from 'commander';
import { join } from 'node:path';
import { repoRoot } from '../test/helpers/berthd.js';
import type { DaemonName } from './daemon.js';
import { FIGURE_IDS, type FigureId } from './figures.js';

export interface BenchOptions {
  runs: number;
  warmup: number;
  quick: boolean;
  only: FigureId[];
  daemons: DaemonName[];
  psCount: number;
  rssCount: number;
  reloadRuntimes: number;
  out: string;
}

const positiveInt = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} needs a positive whole number, got "${v}"`);
  return n;
};

function listOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (v: string): T[] => {
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((i) => !(allowed as readonly string[]).includes(i));
    if (bad.length > 0 || items.length === 0) {
      throw new InvalidArgumentError(`${flag}: unknown ${bad.join(', ') || '(empty list)'}; choose from ${allowed.join(', ')}`);
    }
    return items as T[];
  };
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  const cmd = new Command('bench')
    .description('berthd against Debian\'s dockerd, side by side, on one containerd (SPEC §7)')
    .option('--runs <n>', 'recorded runs per figure (default 15, --quick 5)', positiveInt('--runs'))
    .option('--warmup <n>', 'unrecorded runs per figure first (default 2, --quick 1)', (v) => (v === '0' ? 0 : positiveInt('--warmup')(v)))
    .option('--quick', 'fewer runs and fewer containers, for a smoke run', false)
    .option('--only <figures>', `comma-separated subset of: ${FIGURE_IDS.join(', ')}`, listOf('--only', FIGURE_IDS))
    .option('--daemons <names>', 'which daemons to measure (berth,dockerd)', listOf<DaemonName>('--daemons', ['berth', 'dockerd']))
    .option('--ps-containers <n>', 'containers listed by the ps figure (default 500, --quick 100)', positiveInt('--ps-containers'))
    .option('--rss-containers <n>', 'running containers for the RSS figure (default 100, --quick 20)', positiveInt('--rss-containers'))
    .option('--reload-runtimes <n>', 'runtimes configured for the reload figure', positiveInt('--reload-runtimes'), 200)
    .option('--out <file>', 'where to write the markdown report', join(repoRoot, 'bench', 'results.md'))
    .exitOverride((err) => process.exit(err.exitCode))
    .parse(argv, { from: 'user' });
  const o = cmd.opts<{
    runs?: number;
    warmup?: number;
    quick: boolean;
    only?: FigureId[];
    daemons?: DaemonName[];
    psContainers?: number;
    rssContainers?: number;
    reloadRuntimes: number;
    out: string;
  }>();
  const daemons: DaemonName[] = ['berth', 'dockerd'].filter((n) => (o.daemons ?? ['berth', 'dockerd']).includes(n as DaemonName)) as DaemonName[];
  return {
    runs: o.runs ?? (o.quick ? 5 : 15),
    warmup: o.warmup ?? (o.quick ? 1 : 2),
    quick: o.quick,
    only: o.only ?? [...FIGURE_IDS],
    daemons,
    psCount: o.psContainers ?? (o.quick ? 100 : 500),
    rssCount: o.rssContainers ?? (o.quick ? 20 : 100),
    reloadRuntimes: o.reloadRuntimes,
    out: o.out,
  };
}
