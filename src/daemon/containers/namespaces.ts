// IpcMode/PidMode `container:<id|name>`: a start joins the namespaces of the
// donor's running task through /proc/<pid>/ns, as dockerd does. Nothing is
// recorded: after a restart of berthd a running joiner is simply restored,
// and its next start looks the donor's task up again.
//
// A `shareable` container's /dev/shm is a tmpfs berthd mounts on the host
// (under its exec dir) and binds in, so that joiners can bind the same one:
// a mount inside another container's mount namespace cannot be bound.
import { execFile } from 'node:child_process';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { conflict, invalidParameter, notFound } from '../../errors/index.js';
import type { Container } from './container.js';
import { containerModeTarget, type JoinedNamespaces } from './spec.js';
import type { HostConfig } from './types.js';

const run = promisify(execFile);

type Find = (ref: string) => Container | undefined;

/** Where the /dev/shm of a shareable container is mounted on the host. */
export function shmDir(c: Pick<Container, 'execDir'>): string {
  return join(c.execDir, 'shm');
}

async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with spaces and such escaped as octal.
  return info.split('\n').some((line) => line.split(' ')[4] === path);
}

/** Mounts the tmpfs of a shareable container's /dev/shm (kept when it is there already, e.g. after a restart). */
export async function mountShareableShm(c: Container): Promise<string> {
  const dir = shmDir(c);
  await mkdir(dir, { recursive: true });
  if (!(await isMountPoint(dir))) {
    await run('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,noexec,mode=1777,size=${c.state.HostConfig.ShmSize}`, 'shm', dir]);
  }
  return dir;
}

/** Unmounts it once the container stopped (idempotent; joiners keep their own reference). */
export async function releaseShareableShm(c: Container): Promise<void> {
  if (c.state.HostConfig.IpcMode !== 'shareable') return;
  const dir = shmDir(c);
  if (await isMountPoint(dir).catch(() => false)) await run('umount', ['-l', dir]).catch(() => undefined);
}

function donor(find: Find, ref: string, what: 'IPC' | 'PID'): Container {
  const c = find(ref);
  if (c === undefined) throw notFound(`cannot join ${what} of a non running container: No such container: ${ref}`);
  if (!c.isRunning() || c.state.State.Pid <= 0) throw conflict(`cannot join ${what} of a non running container: ${c.id}`);
  if (c.state.State.Restarting) throw conflict(`cannot join ${what} of a non running container: container ${c.id} is restarting`);
  return c;
}

/** Whether other containers may join this one's IPC namespace (dockerd: it has a /dev/shm to share). */
function shareableIpc(host: HostConfig): boolean {
  return host.IpcMode === 'shareable' || host.IpcMode === 'host' || containerModeTarget(host.IpcMode) !== undefined;
}

/** The host directory a donor's /dev/shm is (through a chain of joiners, at most a few deep). */
function donorShm(c: Container, find: Find, depth = 0): string {
  const mode = c.state.HostConfig.IpcMode;
  if (mode === 'host') return '/dev/shm';
  const next = containerModeTarget(mode);
  const nextDonor = next === undefined || depth > 8 ? undefined : find(next);
  return nextDonor === undefined ? shmDir(c) : donorShm(nextDonor, find, depth + 1);
}

/** The namespace paths and /dev/shm source a start of a container with `host` joins. */
export function joinNamespaces(host: HostConfig, find: Find): JoinedNamespaces {
  const out: JoinedNamespaces = {};
  const ipcRef = containerModeTarget(host.IpcMode);
  if (ipcRef !== undefined) {
    const c = donor(find, ipcRef, 'IPC');
    if (!shareableIpc(c.state.HostConfig)) {
      throw invalidParameter(`can't join IPC of container ${c.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    out.ipc = `/proc/${c.state.State.Pid}/ns/ipc`;
    out.shmSource = donorShm(c, find);
  }
  const pidRef = containerModeTarget(host.PidMode);
  if (pidRef !== undefined) out.pid = `/proc/${donor(find, pidRef, 'PID').state.State.Pid}/ns/pid`;
  return out;
}
