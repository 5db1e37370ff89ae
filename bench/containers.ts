// Bulk container set-up through the Engine API (faster than one CLI process
// per container): the figures time the CLI, not this.
import type { DaemonUnderTest } from './daemon.js';
import { pool } from './measure.js';

export const BENCH_LABEL = 'berth-bench';

export async function createContainer(d: DaemonUnderTest, name: string, image: string, cmd: string[]): Promise<string> {
  const r = await d.api('POST', `/containers/create?name=${encodeURIComponent(name)}`, {
    Image: image,
    Cmd: cmd,
    Labels: { [BENCH_LABEL]: '1' },
    HostConfig: { NetworkMode: 'none' },
  });
  if (r.status !== 201) throw new Error(`create ${name}: HTTP ${r.status} ${r.body.trim()}`);
  return (JSON.parse(r.body) as { Id: string }).Id;
}

export async function startContainer(d: DaemonUnderTest, id: string): Promise<void> {
  const r = await d.api('POST', `/containers/${id}/start`);
  if (r.status !== 204 && r.status !== 304) throw new Error(`start ${id}: HTTP ${r.status} ${r.body.trim()}`);
}

export async function removeContainer(d: DaemonUnderTest, id: string): Promise<void> {
  const r = await d.api('DELETE', `/containers/${id}?force=1`);
  if (r.status !== 204 && r.status !== 404) throw new Error(`remove ${id}: HTTP ${r.status} ${r.body.trim()}`);
}

/** Creates `count` containers named `prefix-N` (and starts them when `start`). Returns their IDs. */
export async function createMany(
  d: DaemonUnderTest,
  opts: { prefix: string; count: number; image: string; cmd: string[]; start?: boolean; concurrency?: number },
): Promise<string[]> {
  const names = Array.from({ length: opts.count }, (_, i) => `${opts.prefix}-${i}`);
  return pool(names, opts.concurrency ?? 8, async (name) => {
    const id = await createContainer(d, name, opts.image, opts.cmd);
    if (opts.start) await startContainer(d, id);
    return id;
  });
}

export async function removeMany(d: DaemonUnderTest, ids: readonly string[], concurrency = 8): Promise<void> {
  await pool(ids, concurrency, (id) => removeContainer(d, id));
}

/** IDs of every container the daemon knows (all states). */
export async function listAll(d: DaemonUnderTest): Promise<string[]> {
  const r = await d.api('GET', '/containers/json?all=1');
  if (r.status !== 200) throw new Error(`list containers: HTTP ${r.status} ${r.body.trim()}`);
  return (JSON.parse(r.body) as { Id: string }[]).map((c) => c.Id);
}

/** Removes every container of the daemon (clean-up before it is stopped). */
export async function removeAll(d: DaemonUnderTest): Promise<void> {
  await removeMany(d, await listAll(d), 8);
}
