// rename and prune: changes to the set of containers that need no task.
import { invalidParameter } from '../../errors/index.js';
import { labelsSelect, untilMs } from '../../filters/index.js';
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
    if (!labelsSelect(c.state.Config.Labels, labels, notLabels)) continue;
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
