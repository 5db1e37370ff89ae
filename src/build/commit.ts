// `docker commit`: the container's filesystem changes become a layer on top
// of its image (ImageService.commit, the same mechanism a build step uses).
import { conflict } from '../errors/index.js';
import type { ImageConfig } from '../daemon/images/index.js';
import type { CommitContainer, CommitDeps } from './types.js';

export interface ContainerCommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** pause a running container while its filesystem is read (default true) */
  pause?: boolean;
  /** Dockerfile instructions applied to the new config */
  changes?: string[];
  /** config fields that replace the container's (the request body) */
  config?: Partial<ImageConfig>;
}

const IMAGE_CONFIG_KEYS = [
  'User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell',
] as const;

/** What the runtime and berth create in a container's rootfs to mount over (runc's mount points, berth's /etc files). */
export const RUNTIME_PATHS = ['proc', 'sys', 'dev', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf'] as const;

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v).length === 0);

/** The image config of a container: its own fields, each replaced by a non-empty one of `over` (dockerd's merge). */
export function imageConfigOf(container: Record<string, unknown>, over: Partial<ImageConfig> = {}): ImageConfig {
  const out: Record<string, unknown> = {};
  for (const k of IMAGE_CONFIG_KEYS) {
    const v = isEmpty(over[k]) ? container[k] : over[k];
    if (!isEmpty(v) || (k === 'Cmd' && Array.isArray(v))) out[k] = structuredClone(v);
  }
  return out as ImageConfig;
}

export async function commitContainer(deps: CommitDeps, ref: string, opts: ContainerCommitOptions): Promise<{ Id: string }> {
  const c: CommitContainer = deps.containers.get(ref);
  if (c.removing || c.removed) throw conflict(`You cannot commit container ${c.id} which is being removed`);
  if (c.state.State.Dead) throw conflict(`You cannot commit container ${c.id} which is Dead`);
  const tags = opts.repo ? [opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo] : [];
  // Bad names and changes are refused before the container is touched.
  deps.images.normalizeTags(tags);
  const pause = (opts.pause ?? true) && c.isRunning() && !c.isPaused();
  if (pause) await deps.containers.pause(c.id);
  let id: string;
  try {
    const result = await deps.images.commit({
      parent: c.state.Image,
      rootfsKey: c.id,
      runtimePaths: RUNTIME_PATHS,
      config: imageConfigOf(c.state.Config as unknown as Record<string, unknown>, opts.config),
      changes: opts.changes ?? [],
      createdBy: (c.state.Config.Cmd ?? []).join(' '),
      ...(opts.comment ? { comment: opts.comment } : {}),
      ...(opts.author ? { author: opts.author } : {}),
      tags,
    });
    id = result.id;
  } finally {
    if (pause) await deps.containers.unpause(c.id).catch(() => undefined);
  }
  c.publish('commit', { comment: opts.comment ?? '', imageID: id, imageRef: tags[0] ?? '' });
  return { Id: id };
}
