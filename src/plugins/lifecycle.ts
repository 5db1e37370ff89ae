// Starting, adopting and stopping one plugin's task, with errors that say which
// step failed. The caller (PluginService) serializes calls per plugin.
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerdClient, ExitInfo } from '../containerd/types.js';
import { BerthError, internal, unavailable } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { ShimConfig } from '../runtimes/types.js';
import { activatePlugin } from './activate.js';
import { pluginDevices } from './devices.js';
import { buildPluginSpec } from './spec.js';
import type { PluginStore } from './store.js';
import { removePluginTask, startPluginTask, TaskStepError } from './task.js';
import type { PluginObject } from './types.js';

const LOG_TAIL_BYTES = 2048;

export interface LifecycleDeps {
  /** bound to the plugins namespace */
  client: ContainerdClient;
  namespace: string;
  store: PluginStore;
  execRoot: string;
  logger: Logger;
  stopGraceMs: number;
}

/** The runtime a plugin's task was started with: locked in until it stops. */
export interface LockedRuntime {
  /** runtime name as configured ('' when adopted from containerd after a restart) */
  name: string;
  shim: ShimConfig;
}

export interface RunningTask {
  runtime: LockedRuntime;
  pid: number;
  /** settles when the task's process exits (rejects if the wait itself fails) */
  exit: Promise<ExitInfo>;
  /** set before a deliberate stop, so that its exit is not taken for a crash */
  stopping: boolean;
  /** Date.now() when berthd started or adopted it */
  startedAt: number;
}

export function socketDir(execRoot: string, id: string): string {
  return join(execRoot, 'plugins', id);
}

/** The last lines the plugin wrote, for error messages and the log. */
export async function outputTail(store: PluginStore, id: string): Promise<string> {
  try {
    const path = store.logPath(id);
    const size = (await stat(path)).size;
    const fh = await open(path, 'r');
    try {
      const length = Math.min(size, LOG_TAIL_BYTES);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      return buf.toString('utf8').trim();
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

function exitText(e: ExitInfo): string {
  return `exit status ${e.exitStatus}`;
}

function watchExit(client: ContainerdClient, id: string): Promise<ExitInfo> {
  const exit = client.tasks.wait(id);
  // Observed by the service; never an unhandled rejection.
  exit.catch(() => undefined);
  return exit;
}

async function prepareDirs(deps: LifecycleDeps, plugin: PluginObject): Promise<void> {
  const dir = socketDir(deps.execRoot, plugin.Id);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (plugin.Config.PropagatedMount !== '') await mkdir(deps.store.propagatedMountDir(plugin.Id), { recursive: true, mode: 0o755 });
  // One log per run keeps it bounded across restarts.
  await (await open(deps.store.logPath(plugin.Id), 'w', 0o600)).close();
}

async function activationFailure(deps: LifecycleDeps, plugin: PluginObject, err: unknown, runtime: LockedRuntime): Promise<BerthError> {
  const tail = await outputTail(deps.store, plugin.Id);
  const output = tail === '' ? '' : `; its last output: ${tail.split('\n').slice(-5).join(' | ')}`;
  const what = err instanceof Error ? err.message : String(err);
  return unavailable(
    `plugin ${plugin.Name} did not activate on runtime ${runtime.name || runtime.shim.shim}: ${what}${output}; its task was removed and the plugin stays disabled`,
    err,
  );
}

/**
 * Starts the plugin's task with `runtime` and waits for the activation
 * handshake. On any failure the task and container are removed and a
 * BerthError says which step failed.
 */
export async function launch(deps: LifecycleDeps, plugin: PluginObject, runtime: LockedRuntime, timeoutMs: number): Promise<RunningTask> {
  const id = plugin.Id;
  const spec = buildPluginSpec(plugin, {
    rootfs: deps.store.rootfs(id),
    socketDir: socketDir(deps.execRoot, id),
    propagatedMountDir: deps.store.propagatedMountDir(id),
    cgroupsPath: `/${deps.namespace}/${id}`,
  }, pluginDevices(plugin));
  // A leftover from a crash would make the create below fail with "already exists".
  await removePluginTask(deps.client, id, 0).catch((err: unknown) => deps.logger.warn({ err, plugin: plugin.Name }, 'could not remove a leftover plugin task'));
  await prepareDirs(deps, plugin);

  let pid: number;
  try {
    ({ pid } = await startPluginTask(deps.client, { id, name: plugin.Name, spec, shim: runtime.shim, logPath: deps.store.logPath(id) }));
  } catch (err) {
    const step = err instanceof TaskStepError ? err.step : 'starting the task';
    const cause = err instanceof TaskStepError ? err.cause : err;
    const tail = await outputTail(deps.store, id);
    throw internal(
      `cannot enable plugin ${plugin.Name} on runtime ${runtime.name || runtime.shim.shim} (shim ${runtime.shim.shim}): ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}${tail === '' ? '' : `; plugin output: ${tail}`}`,
      err,
    );
  }
  const exit = watchExit(deps.client, id);
  try {
    await activatePlugin(
      { dir: socketDir(deps.execRoot, id), socket: plugin.Config.Interface.Socket },
      { timeoutMs, exited: exit.then(exitText) },
    );
  } catch (err) {
    await removePluginTask(deps.client, id, 0).catch((e: unknown) => deps.logger.error({ err: e, plugin: plugin.Name }, 'could not remove the task of a plugin that failed to activate'));
    await rm(socketDir(deps.execRoot, id), { recursive: true, force: true });
    throw await activationFailure(deps, plugin, err, runtime);
  }
  return { runtime, pid, exit, stopping: false, startedAt: Date.now() };
}

/**
 * Takes over a task that outlived berthd (live restore): it must still be
 * running and answer the handshake. Returns undefined, with the leftovers
 * removed, when it cannot be adopted.
 */
export async function adopt(deps: LifecycleDeps, plugin: PluginObject, timeoutMs: number): Promise<RunningTask | undefined> {
  const id = plugin.Id;
  try {
    const info = await deps.client.tasks.get(id);
    if (info.status !== 'running') throw new Error(`its task is ${info.status}`);
    const record = await deps.client.containers.get(id);
    const shim: ShimConfig = record.runtime.options === undefined ? { shim: record.runtime.name } : { shim: record.runtime.name, options: record.runtime.options };
    const exit = watchExit(deps.client, id);
    await activatePlugin({ dir: socketDir(deps.execRoot, id), socket: plugin.Config.Interface.Socket }, { timeoutMs, exited: exit.then(exitText) });
    return { runtime: { name: '', shim }, pid: info.pid, exit, stopping: false, startedAt: Date.now() };
  } catch (err) {
    deps.logger.info({ plugin: plugin.Name, reason: (err as Error).message }, 'not adopting the plugin task left from before: starting a fresh one');
    await removePluginTask(deps.client, id, 0).catch(() => undefined);
    return undefined;
  }
}

/** Stops the task (SIGTERM, then SIGKILL) and removes task, container and socket directory. */
export async function halt(deps: LifecycleDeps, id: string, run: RunningTask | undefined): Promise<void> {
  if (run !== undefined) run.stopping = true;
  await removePluginTask(deps.client, id, deps.stopGraceMs);
  await rm(socketDir(deps.execRoot, id), { recursive: true, force: true });
}

/** Reads what the plugin wrote (for tests and diagnostics). */
export async function readOutput(store: PluginStore, id: string): Promise<string> {
  try {
    return await readFile(store.logPath(id), 'utf8');
  } catch {
    return '';
  }
}
