// The reload race (issue 4, SPEC §7): clients run, exec, stop and remove
// containers across several runtimes while a loop reloads daemon.json
// between configurations that change, drop and restore those runtimes.
// Nothing may fail except the documented refusal of a removed runtime, and
// no wrapper script may change or vanish.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../test/helpers/berthd.js';
import type { DaemonUnderTest } from './daemon.js';
import { isReload, subscribeEvents, type DaemonEvent } from './events.js';
import { pool } from './measure.js';
import { FLIP, RACE_RUNTIMES, raceStep, type RaceStep } from './race-config.js';
import { WrapperWatch, type WrapperViolation } from './race-wrappers.js';
import { msSince, summarize, type Summary } from './stats.js';

export const RACE_LABEL = 'berth-race';
/** SPEC §1.1: the one failure a request may meet while `flip` is gone. */
export const REMOVED_RUNTIME_MESSAGE = `unknown or invalid runtime name: ${FLIP}`;

export interface RaceOptions {
  clients?: number;
  reloads?: number;
  /** clients keep going until all reloads are done and at least this many operations ran */
  minOps?: number;
  /** pause after each reload event, so the reloads spread over the clients' work */
  reloadGapMs?: number;
  /** stop starting new operations after this long, whatever the counts */
  budgetMs?: number;
  image?: string;
  runc?: string;
  /** how the daemon words the refusal of a removed runtime (berth's by default) */
  removedRuntimeMessage?: string;
  log?: (line: string) => void;
}

export interface FailureCount {
  reason: string;
  count: number;
  documented: boolean;
}

export interface RaceResult {
  operations: number;
  opsByKind: Record<string, number>;
  failures: FailureCount[];
  documentedFailures: number;
  undocumentedFailures: number;
  /** the refusal counted as documented */
  allowedMessage: string;
  reloads: number;
  reloadEvents: number;
  reloadLatency?: Summary;
  wrappers: { before: number; after: number; everSeen: number; snapshots: number; violations: WrapperViolation[] };
  durationMs: number;
  ok: boolean;
}

/** Tracks whether `flip` may be absent in the daemon: between writing a config without it and the reload event of one with it. */
class FlipState {
  absentEpoch = 0;
  maybeAbsent = false;

  wrote(step: RaceStep): void {
    if (!step.flipPresent) {
      this.absentEpoch++;
      this.maybeAbsent = true;
    }
  }

  applied(step: RaceStep): void {
    if (step.flipPresent) this.maybeAbsent = false;
  }
}

const writeConfigAtomically = (file: string, config: Record<string, unknown>): void => {
  const tmp = `${file}.race-tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2));
  renameSync(tmp, file);
};

/** A failure reason with ids, names and CLI boilerplate taken out, so equal causes count together. */
export function failureReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith("See 'docker") && !l.startsWith("Run 'docker"));
  // The daemon's answer says more than the CLI's own follow-up lines (e.g. "Error waiting for container").
  let line = lines.find((l) => l.includes('Error response from daemon: ')) ?? lines[0] ?? '(no message)';
  // The CLI logs some errors through logrus: time="…" level=error msg="…".
  const logged = /^time="[^"]*" level=\w+ msg="(.*)"$/.exec(line);
  if (logged) line = logged[1]!.replace(/\\"/g, '"');
  return line
    .replace(/^.*Error response from daemon: /, '')
    .replace(/^docker: /, '')
    .replace(/\b[0-9a-f]{64}\b/g, '<id>')
    .replace(/\b[0-9a-f]{12}\b/g, '<id>')
    .replace(/race-\d+-\d+(-rm)?/g, '<name>')
    .replace(/\.$/, '')
    .slice(0, 400);
}

function attributeMentions(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  return new RegExp(`(^|[^A-Za-z0-9_.-])${name}([^A-Za-z0-9_.-]|$)`).test(value);
}

/** What in a reload event contradicts the configuration that was written, if anything. */
function eventMismatch(e: DaemonEvent, step: RaceStep): string | undefined {
  const attrs = e.Actor?.Attributes ?? {};
  if (attrs.error !== undefined) return `reload refused: ${attrs.error}`;
  const def = attrs['default-runtime'];
  if (def !== undefined && def !== step.defaultRuntime) return `reload event names default-runtime ${def}, config had ${step.defaultRuntime}`;
  const flip = attributeMentions(attrs.runtimes, FLIP);
  if (flip !== undefined && flip !== step.flipPresent) return `reload event ${flip ? 'lists' : 'lacks'} runtime ${FLIP}, config ${step.flipPresent ? 'had' : 'lacked'} it`;
  return undefined;
}

export async function runRace(daemon: DaemonUnderTest, options: RaceOptions = {}): Promise<RaceResult> {
  const clients = options.clients ?? 8;
  const reloads = options.reloads ?? 100;
  const minOps = options.minOps ?? 200;
  const gapMs = options.reloadGapMs ?? 100;
  const budgetMs = options.budgetMs ?? 600_000;
  const image = options.image ?? 'busybox:latest';
  const allowedMessage = options.removedRuntimeMessage ?? REMOVED_RUNTIME_MESSAGE;
  const log = options.log ?? (() => undefined);
  const started = process.hrtime.bigint();
  const deadline = Date.now() + budgetMs;

  const opsByKind: Record<string, number> = {};
  const failures = new Map<string, FailureCount>();
  const fail = (reason: string, documented: boolean): void => {
    const key = `${documented ? 'D' : 'U'}${reason}`;
    const f = failures.get(key) ?? { reason, count: 0, documented };
    f.count++;
    failures.set(key, f);
  };
  let operations = 0;
  const flip = new FlipState();
  const watch = new WrapperWatch(join(daemon.dataRoot, 'runtimes'));
  const latencies: number[] = [];
  let reloadsSent = 0;
  let reloadsDone = false;

  const sub = await subscribeEvents(daemon.socket, { type: ['daemon'] });
  try {
    // Step 0 in place before anything races it.
    const first = raceStep(0, options.runc);
    writeConfigAtomically(daemon.configFile, first.config);
    process.kill(daemon.pid, 'SIGHUP');
    const e0 = await sub.next(isReload, 30_000);
    const bad0 = eventMismatch(e0.event, first);
    if (bad0 !== undefined) throw new Error(`the initial race configuration did not load: ${bad0}`);
    flip.applied(first);
    await watch.before();

    const reloadLoop = async (): Promise<void> => {
      try {
        for (let i = 1; i <= reloads && Date.now() < deadline; i++) {
          const step = raceStep(i, options.runc);
          writeConfigAtomically(daemon.configFile, step.config);
          flip.wrote(step);
          const t = process.hrtime.bigint();
          process.kill(daemon.pid, 'SIGHUP');
          reloadsSent++;
          try {
            const arrival = await sub.next(isReload, 10_000);
            latencies.push(msSince(t, arrival.at));
            const bad = eventMismatch(arrival.event, step);
            if (bad !== undefined) fail(`reload: ${bad}`, false);
            else flip.applied(step);
          } catch (err) {
            fail(`reload: no reload event within 10 s of SIGHUP (${err instanceof Error ? err.message : String(err)})`, false);
          }
          await watch.during();
          await sleep(gapMs);
        }
      } finally {
        reloadsDone = true;
      }
    };

    const shouldStop = (): boolean => Date.now() > deadline || (reloadsDone && operations >= minOps);

    /** One counted operation; returns whether it succeeded. */
    const op = async (kind: string, runtime: string, args: string[]): Promise<boolean> => {
      const epoch = flip.absentEpoch;
      const absentAtStart = flip.maybeAbsent;
      const r = await daemon.docker(args, { timeoutMs: 90_000 });
      operations++;
      opsByKind[kind] = (opsByKind[kind] ?? 0) + 1;
      if (r.code === 0) return true;
      const reason = failureReason(r.stderr || r.stdout || `exit ${r.code}`);
      const flipMayBeGone = absentAtStart || flip.maybeAbsent || flip.absentEpoch !== epoch;
      const documented = runtime === FLIP && flipMayBeGone && (kind === 'run -d' || kind === 'run --rm') && reason.includes(allowedMessage);
      fail(`${kind} --runtime ${runtime === '' ? '(default)' : runtime}: ${reason}`, documented);
      return false;
    };

    // A container left behind by a refused start is not part of the count.
    const discard = (name: string): Promise<unknown> => daemon.docker(['rm', '-f', name], { timeoutMs: 60_000 });

    const client = async (c: number): Promise<void> => {
      for (let iter = 0; !shouldStop(); iter++) {
        const runtime = RACE_RUNTIMES[(c + iter) % RACE_RUNTIMES.length]!;
        const name = `race-${c}-${iter}`;
        const common = ['--label', `${RACE_LABEL}=1`, ...(runtime === '' ? [] : ['--runtime', runtime]), '--network', 'none'];
        if (await op('run -d', runtime, ['run', '-d', '--name', name, ...common, image, 'sleep', '30'])) {
          await op('exec', runtime, ['exec', name, 'true']);
          await op('stop', runtime, ['stop', '-t', '1', name]);
          if (!(await op('rm', runtime, ['rm', name]))) await discard(name);
        } else {
          await discard(name);
        }
        if (shouldStop()) break;
        if (!(await op('run --rm', runtime, ['run', '--rm', '--name', `${name}-rm`, ...common, image, 'true']))) await discard(`${name}-rm`);
      }
    };

    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await watch.during();
        await sleep(250);
      }
    })();
    log(`race: ${clients} clients, ${reloads} reloads every ~${gapMs} ms, at least ${minOps} operations`);
    await Promise.all([reloadLoop(), ...Array.from({ length: clients }, (_, c) => client(c))]);
    watching = false;
    await watcher;
    await watch.after();
  } finally {
    sub.close();
    const left = await daemon.docker(['ps', '-aq', '--filter', `label=${RACE_LABEL}=1`]);
    const ids = left.stdout.split('\n').filter(Boolean);
    await pool(ids, 4, (id) => daemon.docker(['rm', '-f', id])).catch(() => undefined);
  }

  const list = [...failures.values()].sort((a, b) => b.count - a.count);
  const documentedFailures = list.filter((f) => f.documented).reduce((n, f) => n + f.count, 0);
  const undocumentedFailures = list.filter((f) => !f.documented).reduce((n, f) => n + f.count, 0);
  const wrappers = watch.report();
  return {
    operations,
    opsByKind,
    failures: list,
    documentedFailures,
    undocumentedFailures,
    allowedMessage,
    reloads: reloadsSent,
    reloadEvents: latencies.length,
    reloadLatency: summarize(latencies),
    wrappers,
    durationMs: msSince(started),
    ok: undocumentedFailures === 0 && wrappers.violations.length === 0 && reloadsSent === reloads,
  };
}

export function formatRaceResult(r: RaceResult): string {
  const lines: string[] = [];
  const kinds = Object.entries(r.opsByKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  lines.push(`operations: ${r.operations} in ${(r.durationMs / 1000).toFixed(1)} s (${kinds})`);
  lines.push(`failures: ${r.undocumentedFailures} undocumented, ${r.documentedFailures} documented ("${r.allowedMessage}" while it was removed)`);
  for (const f of r.failures) lines.push(`  ${String(f.count).padStart(5)}  ${f.documented ? 'documented  ' : 'UNDOCUMENTED'}  ${f.reason}`);
  const lat = r.reloadLatency;
  lines.push(
    `reloads: ${r.reloads} SIGHUPs, ${r.reloadEvents} reload events` +
      (lat ? `; SIGHUP → event median ${lat.median.toFixed(1)} ms [${lat.min.toFixed(1)}–${lat.max.toFixed(1)}]` : ''),
  );
  const w = r.wrappers;
  lines.push(`wrappers on disk: ${w.before} before, ${w.after} after, ${w.everSeen} distinct seen over ${w.snapshots} snapshots; ${w.violations.length} changed or deleted`);
  for (const v of w.violations) lines.push(`  ${v.problem}: ${v.file} (${v.seenAt})`);
  lines.push(r.ok ? 'result: OK' : 'result: FAILED');
  return lines.join('\n');
}
