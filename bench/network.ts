// Networking figures: the default bridge, a user network, a published port
// on 127.0.0.1 (berth: portmap's DNAT; dockerd: its userland proxy), and
// name lookups inside a container. Every figure tears down what it made.
import { request } from 'node:http';
import { runCommand, sleep } from '../test/helpers/berthd.js';
import type { BenchDaemon } from './daemon.js';
import type { BenchContext } from './figures.js';
import { BENCH_IMAGE } from './image.js';
import { describeFailure, interleave, pool, timeDocker, type Lane } from './measure.js';
import { msSince, type Summary } from './stats.js';

export const NETWORK_FIGURE_IDS = ['net-run', 'net-concurrent', 'net-port', 'net-rps', 'net-lookup', 'net-lookup-floor'] as const;

const HTTPD = ['sh', '-c', 'mkdir -p /w && echo ok > /w/index.html && exec busybox httpd -f -p 80 -h /w'];
// A new name per figure: a network dockerd could not remove in time (its
// --rm containers still leaving) must not fail the figures after it.
let netSeq = 0;
let NET = 'berth-bench-net';

async function must(d: BenchDaemon, args: string[]): Promise<string> {
  const r = await d.docker(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw describeFailure(`docker ${args.join(' ')} on ${d.name}`, r);
  return r.stdout.trim();
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function hostPort(d: BenchDaemon, id: string): Promise<number> {
  return Number((await must(d, ['port', id, '80/tcp'])).split('\n')[0]!.split(':').pop());
}

/**
 * Removes NET and whatever is still attached to it: a figure that failed half-way, or dockerd still removing the
 * last --rm containers after their clients returned, can leave endpoints behind for a moment.
 */
async function dropNetwork(d: BenchDaemon): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await d.docker(['network', 'rm', NET]).catch(() => undefined);
    if (r !== undefined && (r.code === 0 || /not found/.test(r.stderr))) return;
    const left = await d.docker(['ps', '-aq', '--filter', `network=${NET}`]).catch(() => undefined);
    const ids = left?.stdout.split('\n').filter((id) => id !== '') ?? [];
    if (ids.length > 0) await d.docker(['rm', '-f', ...ids]).catch(() => undefined);
    await sleep(200);
  }
  throw new Error(`network ${NET} on ${d.name} could not be removed`);
}

/** Per daemon: a fresh user network (and containers on it) made before and removed after the samples. */
async function withNetwork(ctx: BenchContext, containers: (d: BenchDaemon) => Promise<string[]>, lanes: (state: Map<string, string[]>) => Lane[]): Promise<Map<string, Summary>> {
  const state = new Map<string, string[]>();
  NET = `berth-bench-net-${process.pid}-${netSeq++}`;
  try {
    for (const d of ctx.daemons) {
      await dropNetwork(d);
      await must(d, ['network', 'create', NET]);
      state.set(d.name, await containers(d));
    }
    return await interleave(lanes(state), ctx.runs, ctx.warmup);
  } finally {
    for (const d of ctx.daemons) {
      const ids = state.get(d.name) ?? [];
      if (ids.length > 0) await d.docker(['rm', '-f', ...ids]).catch(() => undefined);
      await dropNetwork(d).catch(() => undefined);
    }
  }
}

export function netRun(ctx: BenchContext): Promise<Map<string, Summary>> {
  return interleave(ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['run', '--rm', BENCH_IMAGE, 'true']) })), ctx.runs, ctx.warmup);
}

export function netConcurrent(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withNetwork(
    ctx,
    async () => [],
    () =>
      ctx.daemons.map((d) => ({
        name: d.name,
        sample: async () => {
          const start = process.hrtime.bigint();
          await pool(Array.from({ length: ctx.concurrentTotal }), ctx.concurrentInFlight, () => timeDocker(d, ['run', '--rm', '--network', NET, BENCH_IMAGE, 'true'], 60_000));
          return msSince(start);
        },
      })),
  );
}

export function netPort(ctx: BenchContext): Promise<Map<string, Summary>> {
  const lanes: Lane[] = ctx.daemons.map((d) => ({
    name: d.name,
    sample: async () => {
      const start = process.hrtime.bigint();
      const id = await must(d, ['run', '-d', '-p', '127.0.0.1::80', BENCH_IMAGE, ...HTTPD]);
      try {
        const port = await hostPort(d, id);
        const deadline = Date.now() + 30_000;
        while (!(await answers(port))) {
          if (Date.now() > deadline) throw new Error(`port ${port} of ${d.name} never answered`);
          await sleep(5);
        }
        return msSince(start);
      } finally {
        await d.docker(['rm', '-f', id]).catch(() => undefined);
      }
    },
  }));
  return interleave(lanes, ctx.runs, ctx.warmup);
}

/** Requests per second of wrk (1 thread, 16 connections, 3 s) through a port published on 127.0.0.1. */
export async function netRps(ctx: BenchContext): Promise<Map<string, Summary>> {
  const ports = new Map<string, number>();
  const ids = new Map<string, string>();
  try {
    for (const d of ctx.daemons) {
      const id = await must(d, ['run', '-d', '-p', '127.0.0.1::80', BENCH_IMAGE, ...HTTPD]);
      ids.set(d.name, id);
      const port = await hostPort(d, id);
      const deadline = Date.now() + 30_000;
      while (!(await answers(port))) {
        if (Date.now() > deadline) throw new Error(`port ${port} of ${d.name} never answered`);
        await sleep(20);
      }
      ports.set(d.name, port);
    }
    const lanes: Lane[] = ctx.daemons.map((d) => ({
      name: d.name,
      sample: async () => {
        const r = await runCommand('wrk', ['-t1', '-c16', '-d3s', `http://127.0.0.1:${ports.get(d.name)}/`], process.env, { timeoutMs: 30_000 });
        const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
        if (r.code !== 0 || m === null) throw describeFailure('wrk', r);
        return Number(m[1]);
      },
    }));
    return await interleave(lanes, Math.min(ctx.runs, 5), Math.min(ctx.warmup, 1));
  } finally {
    for (const d of ctx.daemons) {
      const id = ids.get(d.name);
      if (id !== undefined) await d.docker(['rm', '-f', id]).catch(() => undefined);
    }
  }
}

const lookupLoop = (command: string): string => `i=0; while [ $i -lt 100 ]; do ${command} || exit 1; i=$((i+1)); done`;

/** A peer and an asker on NET, per daemon. */
const lookupContainers = async (d: BenchDaemon): Promise<string[]> => [
  await must(d, ['run', '-d', '--name', 'peer', '--network', NET, BENCH_IMAGE, 'sleep', '3600']),
  await must(d, ['run', '-d', '--name', 'asker', '--network', NET, BENCH_IMAGE, 'sleep', '3600']),
];

export function netLookup(ctx: BenchContext): Promise<Map<string, Summary>> {
  const loop = lookupLoop('busybox nslookup peer >/dev/null');
  return withNetwork(ctx, lookupContainers, () => ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['exec', 'asker', 'sh', '-c', loop]) })));
}

/**
 * What net-lookup costs without the lookups: the same exec and 100 process
 * starts in the container, with `busybox true` in place of nslookup, on
 * whichever daemon is faster at it in each round. No name server can make the
 * lookup figure cheaper than this.
 */
export function netLookupFloor(ctx: BenchContext): Promise<Map<string, Summary>> {
  const loop = lookupLoop('busybox true');
  const sample = async (): Promise<number> => {
    const times: number[] = [];
    for (const d of ctx.daemons) times.push(await timeDocker(d, ['exec', 'asker', 'sh', '-c', loop]));
    return Math.min(...times);
  };
  return withNetwork(ctx, lookupContainers, () => [{ name: 'floor', sample }]);
}
