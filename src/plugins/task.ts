// One plugin's containerd container and task: create and start with a locked-in
// shim config, stop (SIGTERM, then SIGKILL), and remove leftovers. The rootfs
// is a plain directory (absolute root.path in the spec), so no snapshot.
import { OCI_SPEC_TYPE_URL, type ContainerdClient, type ExitInfo } from '../containerd/types.js';
import { isKind } from '../errors/index.js';
import type { ShimConfig } from '../runtimes/types.js';
import type { OciSpec } from './spec.js';

const SIGTERM = 15;
const SIGKILL = 9;
const KILL_WAIT_MS = 10_000;

export const PLUGIN_LABEL = 'berth.plugin';
export const PLUGIN_NAME_LABEL = 'berth.plugin.name';

/** The step of a start that failed, for an error that says where. */
export class TaskStepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TaskStepError';
  }
}

export interface StartTaskRequest {
  id: string;
  name: string;
  spec: OciSpec;
  shim: ShimConfig;
  /** host file for the plugin's stdout and stderr */
  logPath: string;
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
  }
}

/** Creates the container and task and starts it; on failure, removes what it created. */
export async function startPluginTask(client: ContainerdClient, req: StartTaskRequest): Promise<{ pid: number }> {
  const options = req.shim.options;
  try {
    await client.containers.create({
      id: req.id,
      labels: { [PLUGIN_LABEL]: req.id, [PLUGIN_NAME_LABEL]: req.name },
      image: '',
      runtime: options === undefined ? { name: req.shim.shim } : { name: req.shim.shim, options },
      spec: { typeUrl: OCI_SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(req.spec)) },
      snapshotter: '',
      snapshotKey: '',
    });
  } catch (err) {
    throw new TaskStepError('creating the containerd container', err);
  }
  let step = 'creating the task';
  try {
    const output = `file://${req.logPath}`;
    await client.tasks.create({
      containerId: req.id,
      rootfs: [],
      stdin: '',
      stdout: output,
      stderr: output,
      terminal: false,
      ...(options === undefined ? {} : { options }),
    });
    step = 'starting the task';
    return await client.tasks.start(req.id);
  } catch (err) {
    await removePluginTask(client, req.id, 0).catch(() => undefined);
    throw new TaskStepError(step, err);
  }
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
}

/**
 * Stops the task (SIGTERM, SIGKILL after graceMs; graceMs 0 kills at once) and
 * deletes task and container. Missing pieces are fine: this also sweeps leftovers.
 */
export async function removePluginTask(client: ContainerdClient, id: string, graceMs: number): Promise<ExitInfo | undefined> {
  let exit: ExitInfo | undefined;
  let running = false;
  try {
    const info = await client.tasks.get(id);
    running = info.status !== 'stopped';
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
  }
  if (running) {
    const waiting = client.tasks.wait(id).catch(() => undefined);
    if (graceMs > 0) {
      await ignoreNotFound(client.tasks.kill(id, SIGTERM, { all: true }));
      const first = await Promise.race([waiting, timeout(graceMs)]);
      if (first !== 'timeout') exit = first;
    }
    if (exit === undefined) {
      await ignoreNotFound(client.tasks.kill(id, SIGKILL, { all: true }));
      const second = await Promise.race([waiting, timeout(KILL_WAIT_MS)]);
      if (second !== 'timeout') exit = second;
    }
  }
  try {
    await client.tasks.delete(id);
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
  }
  await ignoreNotFound(client.containers.delete(id));
  return exit;
}
