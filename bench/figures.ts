// The figures of SPEC §7, each a function that sets up what it needs on
// every daemon, takes interleaved samples and tears its set-up down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectContainerd, OCI_PROCESS_TYPE_URL } from '../src/containerd/index.js';
import { FifoPool, openProcessIO } from '../src/daemon/io/index.js';
import { runCommand, sleep, type CommandResult } from '../test/helpers/berthd.js';
import { buildCached, buildCold, commit50, contextRss } from './build.js';
import type { BenchContainerd } from './containerd.js';
import { createMany, removeMany, startContainer, createContainer, removeContainer } from './containers.js';
import type { BenchDaemon } from './daemon.js';
import { isReload, subscribeEvents, type EventSubscription } from './events.js';
import { BENCH_IMAGE, BENCH_IMAGE_FULL } from './image.js';
import { interleave, pool, timeApi, timeDocker, type Lane } from './measure.js';
import { rssKiB } from './procs.js';
import { pullCold, pullPresent, pullRss, push } from './registry.js';
import { recordAnswer, startReplay, type ReplayAnswer } from './replay.js';
import { msSince, type Summary, type Unit } from './stats.js';
import { NETWORK_FIGURE_IDS, netConcurrent, netLookup, netLookupFloor, netPort, netRps, netRun } from './network.js';
import { CP_FILES, cpIn, cpOut, runVolume } from './volumes.js';
import { STATS_CONTAINERS, statsFigure, stdinFigure, stdoutFigure } from './figures-streams.js';
import { COMPOSE_FIGURE_IDS, composeDown, composeUp } from './compose.js';
import { CRI_FIGURE_IDS, CRI_STATS_CONTAINERS, criPod, criStats } from './cri.js';

export const FIGURE_IDS = ['rss-idle', 'run', 'floor', 'concurrent', 'client-floor', 'inspect', 'inspect-floor', 'api-inspect', 'exec', 'exec-floor', 'info', 'info-floor', 'api-info', 'ps', 'logs', 'stdout-50mb', 'stdin-50mb', 'stats-20', 'rss-100', 'reload', 'tls-info', 'tls-run', 'cp-in', 'cp-out', 'run-volume', 'build-cold', 'build-cached', 'build-context-rss', 'commit-50mb', 'pull-cold', 'pull-present', 'push', 'pull-rss', 'rss-after', ...NETWORK_FIGURE_IDS, ...CRI_FIGURE_IDS, ...COMPOSE_FIGURE_IDS] as const;

export type FigureId = (typeof FIGURE_IDS)[number];

export interface BenchContext {
  /** lane order: berth first when present */
  daemons: readonly BenchDaemon[];
  containerd: BenchContainerd;
  floorNamespace: string;
  /** berthd's containerd namespace */
  berthNamespace: string;
  runs: number;
  warmup: number;
  psCount: number;
  rssCount: number;
  reloadRuntimes: number;
  concurrentTotal: number;
  concurrentInFlight: number;
  log(line: string): void;
}

export interface FigureResult {
  id: FigureId;
  title: string;
  unit: Unit;
  /** keyed by lane: 'berth', 'dockerd', 'floor' */
  summaries: Map<string, Summary>;
  error?: string;
}

type FigureFn = (ctx: BenchContext) => Promise<Map<string, Summary>>;

interface FigureDef {
  title: (ctx: BenchContext) => string;
  unit: Unit;
  run: FigureFn;
}

const RUN_ARGS = ['run', '--rm', '--network', 'none', BENCH_IMAGE, 'true'];

const dockerLanes = (ctx: BenchContext, args: string[]): Lane[] =>
  ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, args) }));

/** The same docker command over TCP with mutual TLS. */
const tlsLanes = (ctx: BenchContext, args: string[]): Lane[] =>
  ctx.daemons.map((d) => {
    if (d.tlsArgs === undefined) throw new Error(`${d.name} has no TLS listener`);
    const tlsArgs = d.tlsArgs;
    return { name: d.name, sample: () => timeDocker(d, [...tlsArgs, ...args]) };
  });

const apiLanes = (ctx: BenchContext, path: string): Lane[] =>
  ctx.daemons.map((d) => ({ name: d.name, sample: () => timeApi(d, path) }));

/** Sets up per daemon, runs, tears down per daemon even when sampling failed. */
async function withSetup<T>(
  ctx: BenchContext,
  setup: (d: BenchDaemon) => Promise<T>,
  teardown: (d: BenchDaemon, state: T) => Promise<void>,
  body: () => Promise<Map<string, Summary>>,
): Promise<Map<string, Summary>> {
  const done: [BenchDaemon, T][] = [];
  try {
    for (const d of ctx.daemons) done.push([d, await setup(d)]);
    return await body();
  } finally {
    for (const [d, state] of done) await teardown(d, state).catch((err: unknown) => ctx.log(`  tear-down on ${d.name} failed: ${String(err)}`));
  }
}

const rssLanes = (ctx: BenchContext): Lane[] =>
  ctx.daemons.map((d) => ({
    name: d.name,
    sample: async () => {
      await sleep(100);
      const kib = rssKiB(d.pid);
      if (kib === undefined) throw new Error(`${d.name} (pid ${d.pid}) is gone`);
      return kib / 1024;
    },
  }));

async function rssIdle(ctx: BenchContext): Promise<Map<string, Summary>> {
  // Let start-up work (image load, first requests) settle.
  await sleep(2_000);
  return interleave(rssLanes(ctx), ctx.runs, 0);
}

async function runRm(ctx: BenchContext): Promise<Map<string, Summary>> {
  return interleave(dockerLanes(ctx, RUN_ARGS), ctx.runs, ctx.warmup);
}

/** A reference figure: one lane timing a command that involves neither daemon. */
function floorFigure(ctx: BenchContext, what: string, run: () => Promise<CommandResult>): Promise<Map<string, Summary>> {
  return interleave([{ name: 'floor', sample: () => timeCommand(what, run) }], ctx.runs, ctx.warmup);
}

/** Wall time of a command that must succeed. */
async function timeCommand(what: string, run: () => Promise<CommandResult>): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await run();
  const ms = msSince(start);
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr.trim()}`);
  return ms;
}

function floor(ctx: BenchContext): Promise<Map<string, Summary>> {
  let n = 0;
  return floorFigure(ctx, 'ctr run --rm', () =>
    ctx.containerd.ctr(ctx.floorNamespace, ['run', '--rm', BENCH_IMAGE_FULL, `floor-${process.pid}-${n++}`, 'true'], { timeoutMs: 60_000 }),
  );
}

/** The CLI's own cost: `docker --version` talks to no daemon. */
function clientFloor(ctx: BenchContext): Promise<Map<string, Summary>> {
  return floorFigure(ctx, 'docker --version', () => runCommand('docker', ['--version']));
}

async function concurrent(ctx: BenchContext): Promise<Map<string, Summary>> {
  const lanes = ctx.daemons.map((d) => ({
    name: d.name,
    sample: async () => {
      const start = process.hrtime.bigint();
      // A deadlocked daemon fails the figure instead of stalling the benchmark.
      await pool(Array.from({ length: ctx.concurrentTotal }), ctx.concurrentInFlight, () => timeDocker(d, RUN_ARGS, 60_000));
      return msSince(start);
    },
  }));
  return interleave(lanes, ctx.runs, ctx.warmup);
}

const sleeperSetup =
  (name: string) =>
  async (d: BenchDaemon): Promise<string> => {
    const id = await createContainer(d, name, BENCH_IMAGE, ['sleep', '100000']);
    await startContainer(d, id);
    return id;
  };

/** A running `sleep` container named `name` on every daemon, sampled through `lanes` (inspect, exec). */
function withSleeper(ctx: BenchContext, name: string, lanes: Lane[]): Promise<Map<string, Summary>> {
  return withSetup(ctx, sleeperSetup(name), (d, id) => removeContainer(d, id), () => interleave(lanes, ctx.runs, ctx.warmup));
}

/**
 * A reference figure: `docker args` against a socket replaying the first
 * daemon's answers with no work per request. The CLI's own cost of the
 * command: no daemon can be faster. `extra` adds a cost the CLI does not see
 * (the shim's, for exec) to each sample.
 */
async function replayFloor(
  ctx: BenchContext,
  args: string[],
  answers: ReadonlyMap<string, ReplayAnswer>,
  extra?: () => Promise<number>,
): Promise<Map<string, Summary>> {
  const source = ctx.daemons[0];
  if (source === undefined) throw new Error('no daemon to record answers from');
  const version = JSON.parse((await recordAnswer(source, '/version')).toString()) as { ApiVersion?: string };
  const socket = join(tmpdir(), `berth-bench-replay-${process.pid}.sock`);
  const replay = await startReplay(socket, version.ApiVersion ?? '1.41', answers, source.env);
  const what = `docker ${args.join(' ')} against the replay`;
  try {
    if (extra === undefined) return await floorFigure(ctx, what, () => runCommand('docker', args, replay.env));
    const lane: Lane = {
      name: 'floor',
      sample: async () => {
        const added = await extra();
        return added + (await timeCommand(what, () => runCommand('docker', args, replay.env)));
      },
    };
    return await interleave([lane], ctx.runs, ctx.warmup);
  } finally {
    await replay.close();
  }
}

/** GET answers recorded from the first daemon, keyed for startReplay. */
async function recordGets(ctx: BenchContext, paths: string[]): Promise<Map<string, ReplayAnswer>> {
  const source = ctx.daemons[0];
  if (source === undefined) throw new Error('no daemon to record answers from');
  return new Map(await Promise.all(paths.map(async (p) => [`GET ${p}`, { body: await recordAnswer(source, p) }] as const)));
}

/** replayFloor of a command on a running container, created on the first daemon only. */
function sleeperFloor(ctx: BenchContext, name: string, body: (id: string) => Promise<Map<string, Summary>>): Promise<Map<string, Summary>> {
  return withSetup({ ...ctx, daemons: ctx.daemons.slice(0, 1) }, sleeperSetup(name), (d, id) => removeContainer(d, id), async () => {
    const id = (await ctx.daemons[0]!.api('GET', `/containers/${name}/json`).then((r) => JSON.parse(r.body) as { Id: string })).Id;
    return body(id);
  });
}

function inspectFloor(ctx: BenchContext): Promise<Map<string, Summary>> {
  const name = 'bench-inspect-floor';
  return sleeperFloor(ctx, name, async () => replayFloor(ctx, ['inspect', name], await recordGets(ctx, [`/containers/${name}/json`])));
}

/**
 * The lowest `docker exec C true` can cost: the CLI against recorded answers
 * (its five requests, the stream ending at once) plus the shim running the
 * same process through containerd's API directly (Exec, Wait, Start, its
 * output FIFOs read until they close), which every daemon has to wait for.
 */
function execFloor(ctx: BenchContext): Promise<Map<string, Summary>> {
  const name = 'bench-exec-floor';
  return sleeperFloor(ctx, name, async (id) => {
    const source = ctx.daemons[0]!;
    const answers = await recordGets(ctx, [`/containers/${name}/json`]);
    // A real exec's inspect, as the CLI reads it for the exit code.
    const created = await source.api('POST', `/containers/${name}/exec`, { Cmd: ['true'] });
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    await source.api('POST', `/exec/${execId}/start`, { Detach: true });
    let inspected = '';
    for (let i = 0; i < 100; i++) {
      inspected = (await source.api('GET', `/exec/${execId}/json`)).body;
      if ((JSON.parse(inspected) as { Running: boolean }).Running === false) break;
      await sleep(20);
    }
    answers.set(`POST /containers/${name}/exec`, { status: '201 Created', body: Buffer.from('{"Id":"replay"}\n') });
    answers.set('POST /exec/replay/start', 'upgrade');
    answers.set('GET /exec/replay/json', { body: Buffer.from(inspected.split(execId).join('replay')) });

    const client = connectContainerd(ctx.containerd.address, ctx.berthNamespace);
    const fifoDir = mkdtempSync(join(tmpdir(), 'berth-bench-fifos-'));
    const fifos = await FifoPool.open(join(fifoDir, 'pool'));
    try {
      const record = await client.containers.get(id);
      const spec = JSON.parse(Buffer.from(record.spec?.value ?? '').toString()) as { process: Record<string, unknown> };
      const processSpec = { typeUrl: OCI_PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify({ ...spec.process, args: ['true'], terminal: false })) };
      let n = 0;
      // Output through FIFOs, read until they close, as a daemon streaming it to a client must.
      const shimExec = async (): Promise<number> => {
        const execId = `floor-${process.pid}-${n++}`;
        const start = process.hrtime.bigint();
        const io = await openProcessIO({ dir: fifoDir, prefix: execId, openStdin: false, stdinOnce: false, tty: false }, undefined, (p) => fifos.make(p));
        await client.tasks.exec({ containerId: id, execId, stdin: '', stdout: io.fifos.stdout, stderr: io.fifos.stderr, terminal: false, spec: processSpec });
        const exited = client.tasks.wait(id, execId);
        await client.tasks.start(id, execId);
        await exited;
        await io.drained();
        const ms = msSince(start);
        await io.close();
        await client.tasks.deleteProcess(id, execId);
        return ms;
      };
      return await replayFloor(ctx, ['exec', name, 'true'], answers, shimExec);
    } finally {
      client.close();
      await fifos.close();
      rmSync(fifoDir, { recursive: true, force: true });
    }
  });
}

const LOG_LINES = 100_000;

/** `docker logs` of a container that printed LOG_LINES lines and exited. */
async function logs(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withSetup(
    ctx,
    async (d) => {
      const id = await createContainer(d, 'bench-logs', BENCH_IMAGE, ['seq', '1', String(LOG_LINES)]);
      await startContainer(d, id);
      const r = await d.api('POST', `/containers/${id}/wait`);
      if (r.status !== 200) throw new Error(`${d.name}: wait for the logging container: HTTP ${r.status} ${r.body.trim()}`);
      const out = await d.docker(['logs', 'bench-logs'], { timeoutMs: 120_000 });
      if (!out.stdout.endsWith(`\n${LOG_LINES}\n`)) throw new Error(`${d.name}: docker logs did not return all ${LOG_LINES} lines`);
      return id;
    },
    (d, id) => removeContainer(d, id),
    () => interleave(dockerLanes(ctx, ['logs', 'bench-logs']), ctx.runs, ctx.warmup),
  );
}

async function ps(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withSetup(
    ctx,
    async (d) => {
      ctx.log(`  creating ${ctx.psCount} containers on ${d.name}…`);
      const ids = await createMany(d, { prefix: 'bench-ps', count: ctx.psCount, image: BENCH_IMAGE, cmd: ['true'], concurrency: 16 });
      const listed = (await d.docker(['ps', '-aq'])).stdout.trim().split('\n').filter(Boolean).length;
      if (listed < ctx.psCount) throw new Error(`${d.name}: docker ps -a lists ${listed} containers, expected at least ${ctx.psCount}`);
      return ids;
    },
    (d, ids) => removeMany(d, ids, 16),
    () => interleave(dockerLanes(ctx, ['ps', '-a']), ctx.runs, ctx.warmup),
  );
}

async function rssRunning(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withSetup(
    ctx,
    async (d) => {
      ctx.log(`  starting ${ctx.rssCount} containers on ${d.name}…`);
      return createMany(d, { prefix: 'bench-rss', count: ctx.rssCount, image: BENCH_IMAGE, cmd: ['sleep', '100000'], start: true });
    },
    (d, ids) => removeMany(d, ids),
    async () => {
      await sleep(2_000);
      return interleave(rssLanes(ctx), ctx.runs, 0);
    },
  );
}

/** `count` path+args runtimes; `variant` flips every runtime's args so each reload changes the config. */
export function manyRuntimes(count: number, variant: number): Record<string, unknown> {
  const runtimes: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    runtimes[`bench-${String(i).padStart(3, '0')}`] = {
      path: '/usr/sbin/runc',
      runtimeArgs: ['--log-format', variant % 2 === 0 ? 'json' : 'text'],
    };
  }
  return { runtimes };
}

async function reload(ctx: BenchContext): Promise<Map<string, Summary>> {
  const subs = new Map<string, EventSubscription>();
  const variants = new Map<string, number>();
  const reloadOnce = async (d: BenchDaemon, config: Record<string, unknown>): Promise<number> => {
    d.writeConfig(config);
    const start = process.hrtime.bigint();
    process.kill(d.pid, 'SIGHUP');
    const arrival = await subs.get(d.name)!.next(isReload, 30_000).catch((err: unknown) => {
      throw new Error(`${d.name}: no reload event after SIGHUP (${err instanceof Error ? err.message : String(err)}); is the config valid? see its log`);
    });
    const refused = arrival.event.Actor?.Attributes?.error;
    if (refused !== undefined) throw new Error(`${d.name} refused the reload: ${refused}`);
    return msSince(start, arrival.at);
  };
  return withSetup(
    ctx,
    async (d) => {
      subs.set(d.name, await subscribeEvents(d.socket, { type: ['daemon'] }));
      variants.set(d.name, 0);
      // The first load of the runtimes (wrapper scripts written for the first time) is not the steady state.
      await reloadOnce(d, manyRuntimes(ctx.reloadRuntimes, 0));
    },
    async (d) => {
      await reloadOnce(d, {});
    },
    () => {
      const lanes = ctx.daemons.map((d) => ({
        name: d.name,
        sample: () => {
          const v = variants.get(d.name)! + 1;
          variants.set(d.name, v);
          return reloadOnce(d, manyRuntimes(ctx.reloadRuntimes, v));
        },
      }));
      return interleave(lanes, ctx.runs, ctx.warmup);
    },
  ).finally(() => {
    for (const sub of subs.values()) sub.close();
  });
}

export const FIGURES: Record<FigureId, FigureDef> = {
  'rss-idle': { title: () => 'idle daemon RSS (containerd excluded)', unit: 'MiB', run: rssIdle },
  run: { title: () => '`docker run --rm IMAGE true`', unit: 'ms', run: runRm },
  floor: { title: () => 'floor: `ctr run --rm` on the same containerd', unit: 'ms', run: floor },
  concurrent: { title: (c) => `${c.concurrentTotal} × \`docker run --rm\`, ${c.concurrentInFlight} in flight, total`, unit: 'ms', run: concurrent },
  'client-floor': { title: () => 'floor: `docker --version` (the CLI alone, no daemon)', unit: 'ms', run: clientFloor },
  inspect: { title: () => '`docker inspect` of a running container', unit: 'ms', run: (c) => withSleeper(c, 'bench-inspect', dockerLanes(c, ['inspect', 'bench-inspect'])) },
  'inspect-floor': { title: () => 'floor: `docker inspect` against recorded answers (no daemon work)', unit: 'ms', run: inspectFloor },
  'api-inspect': {
    title: () => 'API only: `GET /containers/C/json`, new connection',
    unit: 'ms',
    run: (c) => withSleeper(c, 'bench-api-inspect', apiLanes(c, '/containers/bench-api-inspect/json')),
  },
  exec: { title: () => '`docker exec C true`', unit: 'ms', run: (c) => withSleeper(c, 'bench-exec', dockerLanes(c, ['exec', 'bench-exec', 'true'])) },
  'exec-floor': {
    title: () => 'floor: `docker exec` against recorded answers, plus the shim running `true` through containerd directly',
    unit: 'ms',
    run: execFloor,
  },
  info: { title: () => '`docker info`', unit: 'ms', run: (c) => interleave(dockerLanes(c, ['info']), c.runs, c.warmup) },
  'info-floor': {
    title: () => 'floor: `docker info` against recorded answers (no daemon work)',
    unit: 'ms',
    run: async (c) => replayFloor(c, ['info'], await recordGets(c, ['/info'])),
  },
  'api-info': { title: () => 'API only: `GET /info`, new connection', unit: 'ms', run: (c) => interleave(apiLanes(c, '/info'), c.runs, c.warmup) },
  ps: { title: (c) => `\`docker ps -a\` with ${c.psCount} containers`, unit: 'ms', run: ps },
  logs: { title: () => `\`docker logs C\`, ${LOG_LINES.toLocaleString('en')} lines`, unit: 'ms', run: logs },
  'stdout-50mb': { title: () => '`docker run --rm IMAGE head -c 50000000 /dev/zero \\| wc -c`', unit: 'ms', run: stdoutFigure },
  'stdin-50mb': { title: () => "`docker run --rm -i IMAGE sh -c 'cat > /dev/null'` < 50 MB", unit: 'ms', run: stdinFigure },
  'stats-20': { title: () => `\`docker stats --no-stream\` with ${STATS_CONTAINERS} running containers`, unit: 'ms', run: statsFigure },
  'rss-100': { title: (c) => `daemon RSS with ${c.rssCount} running containers`, unit: 'MiB', run: rssRunning },
  reload: { title: (c) => `SIGHUP → \`reload\` event, ${c.reloadRuntimes} runtimes`, unit: 'ms', run: reload },
  'tls-info': { title: () => '`docker --tlsverify … info` over TCP+TLS', unit: 'ms', run: (c) => interleave(tlsLanes(c, ['info']), c.runs, c.warmup) },
  'tls-run': { title: () => '`docker --tlsverify … run --rm IMAGE true` over TCP+TLS', unit: 'ms', run: (c) => interleave(tlsLanes(c, RUN_ARGS), c.runs, c.warmup) },
  'cp-in': { title: () => `\`docker cp DIR C:/tmp/\`, ${CP_FILES.toLocaleString('en')} files (~50 MB), running container`, unit: 'ms', run: cpIn },
  'cp-out': { title: () => `\`docker cp C:/tmp/tree DIR\`, ${CP_FILES.toLocaleString('en')} files (~50 MB), running container`, unit: 'ms', run: cpOut },
  'run-volume': { title: () => '`docker run --rm -v NAME:/data IMAGE true`, existing volume', unit: 'ms', run: runVolume },
  'build-cold': { title: () => '`docker build --no-cache`, 10 steps (3 RUN, 3 COPY of ~21 MB), classic builder', unit: 'ms', run: buildCold },
  'build-cached': { title: () => '`docker build` of the same, fully cached', unit: 'ms', run: buildCached },
  'build-context-rss': { title: () => 'RSS above idle while a 200 MB build context is sent and copied (peak)', unit: 'MiB', run: contextRss },
  'commit-50mb': { title: () => '`docker commit` of a container that wrote 50 MB', unit: 'ms', run: commit50 },
  'pull-cold': { title: () => '`docker pull` of a 3-layer ~30 MB image from a loopback registry (removed between runs)', unit: 'ms', run: pullCold },
  'pull-present': { title: () => '`docker pull` of the same image, already present', unit: 'ms', run: pullPresent },
  push: { title: () => '`docker push` of the same image to an empty loopback registry', unit: 'ms', run: push },
  'pull-rss': { title: () => 'RSS above idle while a one-layer 200 MB image is pulled (peak)', unit: 'MiB', run: pullRss },
  'rss-after': { title: () => 'idle daemon RSS after all figures', unit: 'MiB', run: rssIdle },
  'cri-pod': { title: () => 'cri-dockerd replay: pod sandbox (`none` network, shareable IPC) plus one container joining it, created and started', unit: 'ms', run: criPod },
  'cri-stats-20': { title: () => `cri-dockerd replay: one-shot stats of ${CRI_STATS_CONTAINERS} running containers, asked together`, unit: 'ms', run: criStats },
  'net-run': { title: () => '`docker run --rm IMAGE true` on the default bridge', unit: 'ms', run: netRun },
  'net-concurrent': { title: (c) => `${c.concurrentTotal} × \`docker run --rm --network NET\` (user network), ${c.concurrentInFlight} in flight, total`, unit: 'ms', run: netConcurrent },
  'net-port': { title: () => '`docker run -d -p 127.0.0.1::80` until the port answers', unit: 'ms', run: netPort },
  'net-rps': { title: () => 'HTTP requests/s through a port on 127.0.0.1 (wrk -t1 -c16, busybox httpd)', unit: 'req/s', run: netRps },
  'net-lookup': { title: () => '100 × `nslookup peer` in a container (user network)', unit: 'ms', run: netLookup },
  'net-lookup-floor': {
    title: () => 'floor: the same `docker exec` loop with `busybox true` in place of `nslookup` (the faster daemon of each round; no name server work)',
    unit: 'ms',
    run: netLookupFloor,
  },
  'compose-up': { title: () => '`docker-compose up -d` of a two-service project (build, volume, two networks, port), images present, until both run', unit: 'ms', run: composeUp },
  'compose-down': { title: () => '`docker-compose down -v` of the same project', unit: 'ms', run: composeDown },
};

/** Runs one figure; a failure is recorded in the result, not thrown. */
export async function runFigure(ctx: BenchContext, id: FigureId): Promise<FigureResult> {
  const def = FIGURES[id];
  const title = def.title(ctx);
  try {
    return { id, title, unit: def.unit, summaries: await def.run(ctx) };
  } catch (err) {
    return { id, title, unit: def.unit, summaries: new Map(), error: err instanceof Error ? err.message : String(err) };
  }
}
