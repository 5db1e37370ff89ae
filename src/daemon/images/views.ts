// Docker API views of an image: /images/json entries, inspect, history.
import type { ImageEntry } from './catalog.js';
import { LABELS } from './mediatypes.js';
import { parseReference, familiarString } from './reference.js';
import type { HistoryItem, ImageConfig, ImageInspect, ImageSummary, InspectConfig } from './types.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Unix seconds of an RFC 3339 time; 0 when absent or unreadable. */
export function unixSeconds(time: string | undefined): number {
  if (!time) return 0;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

export function createdSeconds(entry: ImageEntry): number {
  return unixSeconds(entry.image.created);
}

/** RepoTags (familiar, tagged) and RepoDigests (familiar, by digest) of full names. */
export function repoTagsAndDigests(names: readonly string[]): { tags: string[]; digests: string[] } {
  const tags: string[] = [];
  const digests: string[] = [];
  for (const n of names) {
    let ref;
    try {
      ref = parseReference(n);
    } catch {
      continue;
    }
    if (ref.digest !== undefined) digests.push(familiarString({ ...ref, tag: undefined } as typeof ref));
    else tags.push(familiarString(ref));
  }
  return { tags: tags.sort(), digests: [...new Set(digests)].sort() };
}

/** Names plus `repo@digest` for each pulled name among them: the digest the registry knows the image by. */
function withPulledDigests(entry: ImageEntry, names: readonly string[]): string[] {
  const out = [...names];
  for (const r of entry.records) {
    if (r.labels[LABELS.fromRegistry] === undefined || !names.includes(r.name)) continue;
    try {
      const ref = parseReference(r.name);
      out.push(`${ref.domain ? `${ref.domain}/` : ''}${ref.path}@${r.target.digest}`);
    } catch {
      // not a name we made
    }
  }
  return out;
}

function labelsOf(config: ImageConfig | undefined): Record<string, string> | null {
  return config?.Labels && Object.keys(config.Labels).length > 0 ? config.Labels : null;
}

/** One /images/json entry; `names` restricts RepoTags (the reference filter). */
export function summaryOf(entry: ImageEntry, names: readonly string[] = entry.names): ImageSummary {
  const { tags, digests } = repoTagsAndDigests(withPulledDigests(entry, names));
  return {
    Id: entry.id,
    ParentId: '',
    RepoTags: tags,
    RepoDigests: digests,
    Created: createdSeconds(entry),
    Size: entry.size,
    VirtualSize: entry.size,
    SharedSize: -1,
    Labels: labelsOf(entry.image.config),
    Containers: -1,
  };
}

function inspectConfig(c: ImageConfig = {}): InspectConfig {
  const out: InspectConfig = {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
  };
  if (c.ExposedPorts) out.ExposedPorts = c.ExposedPorts;
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.ArgsEscaped) out.ArgsEscaped = c.ArgsEscaped;
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.Shell) out.Shell = c.Shell;
  return out;
}

function lastTagTime(entry: ImageEntry): string {
  let newest: Date | undefined;
  for (const r of entry.records) {
    if (!entry.names.includes(r.name)) continue;
    const t = r.updatedAt ?? r.createdAt;
    if (t && (!newest || t > newest)) newest = t;
  }
  return newest ? newest.toISOString() : ZERO_TIME;
}

export function inspectOf(entry: ImageEntry, snapshotter: string): ImageInspect {
  const { tags, digests } = repoTagsAndDigests(withPulledDigests(entry, entry.names));
  const img = entry.image;
  const out: ImageInspect = {
    Id: entry.id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: '',
    Comment: img.comment ?? img.history?.at(-1)?.comment ?? '',
    Created: img.created ?? ZERO_TIME,
    DockerVersion: img.docker_version ?? '',
    Author: img.author ?? '',
    Config: inspectConfig(img.config),
    ContainerConfig: inspectConfig(img.config),
    Architecture: img.architecture,
    Os: img.os,
    Size: entry.size,
    VirtualSize: entry.size,
    GraphDriver: { Name: snapshotter, Data: null },
    RootFS: { Type: img.rootfs.type || 'layers', Layers: [...img.rootfs.diff_ids] },
    Metadata: { LastTagTime: lastTagTime(entry) },
  };
  if (img.variant) out.Variant = img.variant;
  if (img['os.version']) out.OsVersion = img['os.version'];
  return out;
}

/** Newest first, as `docker history` shows it. */
export function historyOf(entry: ImageEntry): HistoryItem[] {
  const { tags } = repoTagsAndDigests(entry.names);
  const layers = entry.manifest.layers;
  const history = entry.image.history ?? [];
  const items: HistoryItem[] = [];
  if (history.length === 0) {
    items.push({ Id: entry.id, Created: createdSeconds(entry), CreatedBy: '', Tags: null, Size: entry.size, Comment: '' });
  } else {
    let layer = 0;
    for (const h of history) {
      const size = h.empty_layer ? 0 : (layers[layer++]?.size ?? 0);
      items.push({ Id: '<missing>', Created: unixSeconds(h.created), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
    }
  }
  items.reverse();
  const top = items[0]!;
  top.Id = entry.id;
  top.Tags = tags.length ? tags : null;
  return items;
}
