// Tasks service: the running processes of containers, through their shims.
import { fromTimestamp, fromWireAny, fromWireProcess, toWireAny, toWireMount } from './convert.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient, ExitInfo, TaskMetric } from './types.js';
import type { WireAny, WireProcess, WireTimestamp } from './wire.js';

const SVC = 'containerd.services.tasks.v1.Tasks';

interface DeleteAnswer {
  id: string;
  pid: number;
  exitStatus: number;
  exitedAt: WireTimestamp | null;
}

function exitInfo(exitStatus: number, exitedAt: WireTimestamp | null): ExitInfo {
  const info: ExitInfo = { exitStatus };
  const at = fromTimestamp(exitedAt);
  if (at !== undefined) info.exitedAt = at;
  return info;
}

export function tasksApi(rpc: Rpc): ContainerdClient['tasks'] {
  return {
    async create(req) {
      const res = await rpc.unary<{ pid: number }>(
        SVC,
        'Create',
        {
          containerId: req.containerId,
          rootfs: req.rootfs.map(toWireMount),
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
          terminal: req.terminal,
          options: toWireAny(req.options),
        },
        'long',
      );
      return { pid: res.pid };
    },

    async start(containerId, execId = '') {
      const res = await rpc.unary<{ pid: number }>(SVC, 'Start', { containerId, execId }, 'long');
      return { pid: res.pid };
    },

    async delete(containerId) {
      const res = await rpc.unary<DeleteAnswer>(SVC, 'Delete', { containerId }, 'long');
      return { pid: res.pid, ...exitInfo(res.exitStatus, res.exitedAt) };
    },

    async deleteProcess(containerId, execId) {
      const res = await rpc.unary<DeleteAnswer>(SVC, 'DeleteProcess', { containerId, execId }, 'long');
      return { pid: res.pid, ...exitInfo(res.exitStatus, res.exitedAt) };
    },

    async get(containerId, execId = '') {
      const res = await rpc.unary<{ process: WireProcess | null }>(SVC, 'Get', { containerId, execId });
      return fromWireProcess(res.process, containerId);
    },

    async list() {
      const res = await rpc.unary<{ tasks: WireProcess[] }>(SVC, 'List', {});
      return res.tasks.map((t) => fromWireProcess(t));
    },

    async kill(containerId, signal, opts = {}) {
      await rpc.unary(SVC, 'Kill', { containerId, execId: opts.execId ?? '', signal, all: opts.all ?? false });
    },

    async exec(req) {
      await rpc.unary(
        SVC,
        'Exec',
        {
          containerId: req.containerId,
          execId: req.execId,
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
          terminal: req.terminal,
          spec: toWireAny(req.spec),
        },
        'long',
      );
    },

    async resizePty(containerId, width, height, execId = '') {
      await rpc.unary(SVC, 'ResizePty', { containerId, execId, width, height });
    },

    async closeIO(containerId, execId = '') {
      await rpc.unary(SVC, 'CloseIO', { containerId, execId, stdin: true });
    },

    async pause(containerId) {
      await rpc.unary(SVC, 'Pause', { containerId }, 'long');
    },

    async resume(containerId) {
      await rpc.unary(SVC, 'Resume', { containerId }, 'long');
    },

    async listPids(containerId) {
      const res = await rpc.unary<{ processes: { pid: number }[] }>(SVC, 'ListPids', { containerId });
      return res.processes.map((p) => p.pid);
    },

    async metrics(filters) {
      const res = await rpc.unary<{ metrics: { id: string; timestamp: WireTimestamp | null; data: WireAny | null }[] }>(SVC, 'Metrics', { filters });
      return res.metrics.map((m) => {
        const out: TaskMetric = { id: m.id };
        const at = fromTimestamp(m.timestamp);
        if (at !== undefined) out.timestamp = at;
        const data = fromWireAny(m.data);
        if (data !== undefined) out.data = data;
        return out;
      });
    },

    async update(containerId, resources) {
      await rpc.unary(SVC, 'Update', { containerId, resources: toWireAny(resources) }, 'long');
    },

    async wait(containerId, execId = '') {
      // No deadline: a container may run for months.
      const res = await rpc.unary<{ exitStatus: number; exitedAt: WireTimestamp | null }>(
        SVC,
        'Wait',
        { containerId, execId },
        'none',
      );
      return exitInfo(res.exitStatus, res.exitedAt);
    },
  };
}
