// rename and prune: changes to the set of containers that need no task.
import { invalidParameter } from '../../errors/index.js';
import type { Container } from './container.js';
import type { ServiceContext } from './context.js';
import { normalizeName } from './names.js';
import { timestampMs } from './status.js';
import type { ListFilters } from './filters.js';

export async function renameContainer(ctx: ServiceContext, c: Container, rawName: string): Promise<void> {
  if (rawName === '') throw invalidParameter('Neither old nor new names may be empty');
  const name = normalizeName(rawName);
  const old = c.name;
  if (name === old) throw invalidParameter('Renaming a container with the same name as its current name');
  ctx.registry.reserveName(name, c.id, 'Error when allocating new name: ');
  c.state.Name = name;
  try {
    await ctx.persist(c);
  } catch (err) {
    c.state.Name = old;
    ctx.registry.releaseName(name, c.id);
    throw err;
  }
  ctx.registry.releaseName(old, c.id);
  c.publish('rename', { oldName: `/${old}` });
}

export interface PruneResult {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

const PRUNE_FILTERS = new Set(['until', 'label', 'label!']);

/** `until` as dockerd takes it: unix seconds, an RFC 3339 time or a duration like 10m. */
function untilMs(v: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return now - Number(d[1]) * (unit[d[2] as string] as number);
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidParameter(`invalid filter 'until=${v}': use a timestamp or a duration such as 10m`);
  return t;
}

function labelMatches(labels: Record<string, string>, wanted: string): boolean {
  const i = wanted.indexOf('=');
  if (i < 0) return Object.prototype.hasOwnProperty.call(labels, wanted);
  return labels[wanted.slice(0, i)] === wanted.slice(i + 1);
}

export async function pruneContainers(
  ctx: ServiceContext,
  filters: ListFilters,
  /** removes the container; may answer the bytes that freed */
  remove: (c: Container) => Promise<number | void>,
): Promise<PruneResult> {
  for (const key of filters.keys()) {
    if (!PRUNE_FILTERS.has(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
  const now = Date.now();
  const until = (filters.get('until') ?? []).map((v) => untilMs(v, now));
  const labels = filters.get('label') ?? [];
  const notLabels = filters.get('label!') ?? [];
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of ctx.registry.all()) {
    if (c.isRunning() || c.removing || c.removed) continue;
    const created = timestampMs(c.state.Created);
    if (until.some((t) => created >= t)) continue;
    if (!labels.every((l) => labelMatches(c.state.Config.Labels, l))) continue;
    if (notLabels.some((l) => labelMatches(c.state.Config.Labels, l))) continue;
    try {
      reclaimed += (await remove(c)) ?? 0;
      deleted.push(c.id);
    } catch (err) {
      ctx.log.warn({ err, container: c.id }, 'prune could not remove container %s', c.id);
    }
  }
  ctx.deps.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
  return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
}
