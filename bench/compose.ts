// docker-compose figures: `up -d` and `down -v` of the two-service project
// of the end-to-end tests (test/fixtures/compose/webdb: a web service built
// from a Dockerfile, in front of a service on a named volume), images present.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCommand, sleep, type CommandResult } from '../test/helpers/berthd.js';
import type { BenchDaemon } from './daemon.js';
import type { BenchContext } from './figures.js';
import { describeFailure, interleave, type Lane } from './measure.js';
import { msSince, type Summary } from './stats.js';

export const COMPOSE_FIGURE_IDS = ['compose-up', 'compose-down'] as const;

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT = 'berthbench';
const SERVICES = 2;

function compose(d: BenchDaemon, dir: string, args: string[]): Promise<CommandResult> {
  return runCommand(COMPOSE, ['-p', PROJECT, '-f', join(dir, 'docker-compose.yml'), ...args], d.env, { timeoutMs: 180_000 });
}

async function must(d: BenchDaemon, dir: string, args: string[]): Promise<void> {
  const r = await compose(d, dir, args);
  if (r.code !== 0) throw describeFailure(`docker-compose ${args.join(' ')} on ${d.name}`, r);
}

/** `up -d`, then until every service's container reports running. */
async function up(d: BenchDaemon, dir: string): Promise<void> {
  await must(d, dir, ['up', '-d']);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await d.docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'status=running']);
    if (r.code === 0 && r.stdout.trim().split('\n').filter(Boolean).length === SERVICES) return;
    if (Date.now() > deadline) throw new Error(`${PROJECT}'s services never all ran on ${d.name}`);
    await sleep(20);
  }
}

/** Per daemon, the project's web image built before the samples; everything the project made removed after. */
async function withProject(ctx: BenchContext, lane: (d: BenchDaemon, dir: string) => Lane): Promise<Map<string, Summary>> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-compose-'));
  cpSync(join(repoRoot, 'test', 'fixtures', 'compose', 'webdb'), dir, { recursive: true });
  const built: BenchDaemon[] = [];
  try {
    for (const d of ctx.daemons) {
      built.push(d);
      await must(d, dir, ['build']);
    }
    return await interleave(ctx.daemons.map((d) => lane(d, dir)), ctx.runs, ctx.warmup);
  } finally {
    for (const d of built) await compose(d, dir, ['down', '-v', '--rmi', 'local']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function composeUp(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withProject(ctx, (d, dir) => ({
    name: d.name,
    sample: async () => {
      const start = process.hrtime.bigint();
      await up(d, dir);
      const ms = msSince(start);
      await must(d, dir, ['down', '-v']);
      return ms;
    },
  }));
}

export function composeDown(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withProject(ctx, (d, dir) => ({
    name: d.name,
    sample: async () => {
      await up(d, dir);
      const start = process.hrtime.bigint();
      await must(d, dir, ['down', '-v']);
      return msSince(start);
    },
  }));
}
