// berthd under benchmark: the test harness's start-up, on the benchmark's
// containerd and in its own namespace.
import { startBerthd } from '../test/helpers/berthd.js';
import type { BenchDaemon } from './daemon.js';
import type { Reaper } from './procs.js';
import { tlsClientArgs, tlsDaemonArgs, type BenchTls } from './tls.js';

export interface BenchBerthdOptions {
  root: string;
  containerd: string;
  namespace: string;
  reaper: Reaper;
  tls?: BenchTls;
}

export async function startBenchBerthd(opts: BenchBerthdOptions): Promise<BenchDaemon> {
  const handle = await startBerthd({
    root: opts.root,
    config: {},
    args: ['--containerd', opts.containerd, '--containerd-namespace', opts.namespace, ...(opts.tls ? tlsDaemonArgs(opts.tls) : [])],
    timeoutMs: 60_000,
  });
  opts.reaper.trackPid(handle.pid);
  opts.reaper.add('stop berthd', async () => {
    await handle.cleanup();
    opts.reaper.untrackPid(handle.pid);
  });
  const version = (await handle.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  return {
    name: 'berth',
    pid: handle.pid,
    socket: handle.socket,
    dataRoot: handle.dataRoot,
    configFile: handle.configFile,
    env: handle.env,
    version: `berthd ${version || '?'}`,
    ...(opts.tls ? { tlsArgs: tlsClientArgs(opts.tls) } : {}),
    writeConfig: (c) => handle.writeConfig(c),
    docker: (args, o) => handle.docker(args, o),
    api: (method, path, body) => handle.api(method, path, body),
  };
}
