// `npm run bench`: berthd and Debian's dockerd side by side on one
// containerd, same runc, same image, same client (SPEC §7). Prints a
// markdown table and writes it to bench/results.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { unmountUnder } from '../test/helpers/berthd.js';
import { startBenchBerthd } from './berthd.js';
import { removeAll } from './containers.js';
import { startContainerd } from './containerd.js';
import type { BenchDaemon } from './daemon.js';
import { ensureDockerd, startDockerd } from './dockerd.js';
import { FIGURE_IDS, runFigure, type BenchContext, type FigureResult } from './figures.js';
import { importIntoCtr, loadInto, writeBenchImage } from './image.js';
import { parseBenchOptions } from './options.js';
import { Reaper, removeEmptyCgroups } from './procs.js';
import { renderReport } from './report.js';
import { formatSummary } from './stats.js';
import { benchTls } from './tls.js';

const BERTH_NAMESPACE = 'berth-bench';
const FLOOR_NAMESPACE = 'berth-bench-floor';

const t0 = Date.now();
const log = (line: string): void => {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
};

async function main(): Promise<number> {
  const opts = parseBenchOptions(process.argv.slice(2));
  // Other work on the machine skews every figure: the report says how busy it was.
  const loadAtStart = loadavg();
  const reaper = new Reaper();
  const root = mkdtempSync('/tmp/berth-bench-');
  reaper.add('remove the benchmark root', async () => {
    await unmountUnder(root);
    rmSync(root, { recursive: true, force: true });
  });
  try {
    if (opts.daemons.includes('dockerd')) ensureDockerd(log);
    log(`root ${root}; starting containerd…`);
    // Empty parent cgroups named after the namespaces are left by runc; rmdir only removes empty ones.
    reaper.add('remove empty namespace cgroups', () => removeEmptyCgroups([BERTH_NAMESPACE, FLOOR_NAMESPACE]));
    const containerd = await startContainerd(join(root, 'containerd'), reaper);
    const archive = await writeBenchImage(root);

    const daemons: BenchDaemon[] = [];
    // Both daemons also listen on 127.0.0.1 with mutual TLS, with the same certificates.
    const tlsBerth = await benchTls(root);
    const tlsDockerd = await benchTls(root, tlsBerth.certs);
    if (opts.daemons.includes('berth')) {
      log('starting berthd…');
      daemons.push(await startBenchBerthd({ root: join(root, 'berth'), containerd: containerd.address, namespace: BERTH_NAMESPACE, reaper, tls: tlsBerth }));
    }
    if (opts.daemons.includes('dockerd')) {
      log('starting dockerd…');
      // Compose projects make user networks and publish a port: they need dockerd's networking too.
      const network = opts.only.some((f) => f.startsWith('net-') || f.startsWith('compose-'));
      daemons.push(await startDockerd({ root: join(root, 'dockerd'), containerd: containerd.address, reaper, tls: tlsDockerd, network }));
    }
    for (const d of daemons) {
      // Runs before the daemon is stopped: containers go through the daemon's own removal path.
      reaper.add(`remove containers on ${d.name}`, () => removeAll(d));
      log(`${d.version} (pid ${d.pid}): loading the image…`);
      // Figures that need no container (RSS, info, reload) still say something about a daemon that cannot load images.
      await loadInto(d, archive).catch((err: unknown) => log(`  ${err instanceof Error ? err.message : String(err)}: figures that run containers will fail on ${d.name}`));
    }
    if (opts.only.includes('floor')) await importIntoCtr(containerd, FLOOR_NAMESPACE, archive);

    const ctx: BenchContext = {
      daemons,
      containerd,
      floorNamespace: FLOOR_NAMESPACE,
      berthNamespace: BERTH_NAMESPACE,
      runs: opts.runs,
      warmup: opts.warmup,
      psCount: opts.psCount,
      rssCount: opts.rssCount,
      reloadRuntimes: opts.reloadRuntimes,
      concurrentTotal: 20,
      concurrentInFlight: 8,
      log,
    };
    const startedAt = new Date();
    const results: FigureResult[] = [];
    for (const id of FIGURE_IDS.filter((f) => opts.only.includes(f))) {
      if (reaper.aborted) throw new Error('interrupted: no report written');
      log(`figure ${id}…`);
      const r = await runFigure(ctx, id);
      results.push(r);
      if (r.error !== undefined) log(`  failed: ${r.error}`);
      else log(`  ${[...r.summaries].map(([lane, s]) => `${lane} ${formatSummary(s, r.unit)}`).join(' | ')}`);
    }
    if (reaper.aborted) throw new Error('interrupted: no report written');
    const report = renderReport(ctx, results, daemons.map((d) => d.version), startedAt, loadAtStart);
    process.stdout.write(`\n${report}`);
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, report);
    log(`report written to ${opts.out}`);
    return results.some((r) => r.error !== undefined) ? 1 : 0;
  } finally {
    log('stopping everything the benchmark started…');
    await reaper.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
