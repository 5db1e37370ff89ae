// Figures of a Kubernetes node through cri-dockerd: the Docker API requests
// it sends for a pod (sandbox plus one application container joining it)
// and for the kubelet's stats polling, replayed against each daemon at the
// API version cri-dockerd would negotiate with it (at most 1.44).
import { BENCH_LABEL } from './containers.js';
import type { BenchDaemon } from './daemon.js';
import type { BenchContext } from './figures.js';
import { BENCH_IMAGE } from './image.js';
import { interleave, pool, type Lane } from './measure.js';
import { msSince, type Summary } from './stats.js';
import { criAppBody, criSandboxBody, PAUSE_ENTRYPOINT } from '../test/fixtures/cri.js';

export const CRI_FIGURE_IDS = ['cri-pod', 'cri-stats-20'] as const;
export const CRI_STATS_CONTAINERS = 20;

type Call = (method: string, path: string, body?: unknown, status?: number) => Promise<Record<string, unknown>>;

/** Requests at the version cri-dockerd's client negotiates with `d`. */
async function caller(d: BenchDaemon): Promise<Call> {
  const version = JSON.parse((await d.api('GET', '/version')).body) as { ApiVersion: string };
  const v = Number(version.ApiVersion) >= 1.44 ? '1.44' : version.ApiVersion;
  return async (method, path, body, status = 200) => {
    const r = await d.api(method, `/v${v}${path}`, body);
    if (r.status !== status) throw new Error(`${method} ${path} on ${d.name}: HTTP ${r.status} ${r.body.trim()}`);
    return r.body === '' ? {} : (JSON.parse(r.body) as Record<string, unknown>);
  };
}

function labelled<T extends { Labels: Record<string, string> }>(body: T): T {
  body.Labels[BENCH_LABEL] = '1';
  return body;
}

/** RunPodSandbox then CreateContainer and StartContainer, as cri-dockerd sends them; returns the ids. */
async function runPod(call: Call, n: number): Promise<string[]> {
  const pod = `bench-p${n}`;
  await call('GET', `/images/${BENCH_IMAGE}/json`);
  const sbBody = labelled(criSandboxBody(pod, BENCH_IMAGE, 'runc'));
  sbBody.Entrypoint = PAUSE_ENTRYPOINT;
  const sb = (await call('POST', `/containers/create?name=k8s_POD_${pod}_default_uid-${pod}_0`, sbBody, 201)).Id as string;
  await call('POST', `/containers/${sb}/start`, undefined, 204);
  const inspected = await call('GET', `/containers/${sb}/json`);
  const runtime = (inspected.HostConfig as { Runtime: string }).Runtime;
  await call('GET', `/containers/${sb}/json`);
  const app = (await call('POST', `/containers/create?name=k8s_c1_${pod}_default_uid-${pod}_0`, labelled(criAppBody(sb, BENCH_IMAGE, runtime, `/tmp/${pod}.log`)), 201)).Id as string;
  await call('POST', `/containers/${app}/start`, undefined, 204);
  await call('GET', `/containers/${app}/json`);
  return [app, sb];
}

async function removePod(call: Call, ids: readonly string[]): Promise<void> {
  for (const id of ids) await call('DELETE', `/containers/${id}?force=1&v=1`, undefined, 204);
}

/** 'cri-pod': a sandbox and one application container joining it, created and started through the replay. */
export async function criPod(ctx: BenchContext): Promise<Map<string, Summary>> {
  const lanes: Lane[] = [];
  for (const d of ctx.daemons) {
    const call = await caller(d);
    let n = 0;
    lanes.push({
      name: d.name,
      sample: async () => {
        const start = process.hrtime.bigint();
        const ids = await runPod(call, n++);
        const ms = msSince(start);
        await removePod(call, ids);
        return ms;
      },
    });
  }
  return interleave(lanes, ctx.runs, ctx.warmup);
}

/** 'cri-stats-20': the one-shot stats of 20 running containers, asked for together as a kubelet's poll does. */
export async function criStats(ctx: BenchContext): Promise<Map<string, Summary>> {
  const pods: Array<[Call, string[][]]> = [];
  try {
    const lanes: Lane[] = [];
    for (const d of ctx.daemons) {
      const call = await caller(d);
      const made: string[][] = [];
      pods.push([call, made]);
      ctx.log(`  starting ${CRI_STATS_CONTAINERS / 2} pods on ${d.name}…`);
      for (let i = 0; i < CRI_STATS_CONTAINERS / 2; i++) made.push(await runPod(call, 1000 + i));
      const ids = made.flat();
      lanes.push({
        name: d.name,
        sample: async () => {
          const start = process.hrtime.bigint();
          await Promise.all(ids.map((id) => call('GET', `/containers/${id}/stats?stream=0&one-shot=1`)));
          return msSince(start);
        },
      });
    }
    return await interleave(lanes, ctx.runs, ctx.warmup);
  } finally {
    for (const [call, made] of pods) await pool(made, 4, (ids) => removePod(call, ids)).catch((err: unknown) => ctx.log(`  tear-down failed: ${String(err)}`));
  }
}
