// The reference daemon of the benchmark: test/helpers/dockerd.ts's dockerd
// on the benchmark's containerd, stopped by the reaper.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DOCKERD, startDockerd as startReferenceDockerd } from '../test/helpers/dockerd.js';
import type { BenchDaemon } from './daemon.js';
import type { Reaper } from './procs.js';
import { tlsClientArgs, tlsDaemonArgs, type BenchTls } from './tls.js';

/** Installs docker.io when dockerd is missing (the package may try to start a service: harmless here). */
export function ensureDockerd(log: (line: string) => void): void {
  if (existsSync(DOCKERD)) return;
  log('dockerd is missing: installing Debian\'s docker.io (apt-get install -y docker.io)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): number | null =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'docker.io'], { stdio: 'inherit', env }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
  if (!existsSync(DOCKERD)) throw new Error(`${DOCKERD} is still missing after apt-get install docker.io: install it by hand and rerun`);
}

export interface DockerdOptions {
  root: string;
  containerd: string;
  reaper: Reaper;
  tls?: BenchTls;
  /** its own bridge (DOCKERD_BRIDGE on 10.214.0.0/24), iptables and userland proxy, for the networking and compose figures */
  network?: boolean;
}

export const DOCKERD_BRIDGE = 'docker0';

export async function startDockerd(opts: DockerdOptions): Promise<BenchDaemon> {
  const { reaper } = opts;
  const d = await startReferenceDockerd({
    root: opts.root,
    containerd: opts.containerd,
    ...(opts.network === true ? { network: { bridge: DOCKERD_BRIDGE, cidr: '10.214.0.1/24', pool: '10.215.0.0/16' } } : {}),
    args: opts.tls ? tlsDaemonArgs(opts.tls) : [],
  });
  reaper.trackPid(d.pid);
  reaper.add('stop dockerd', async () => {
    await d.stop();
    reaper.untrackPid(d.pid);
  });
  return {
    name: 'dockerd',
    pid: d.pid,
    socket: d.socket,
    dataRoot: d.dataRoot,
    configFile: d.configFile,
    env: d.env,
    version: d.version,
    ...(opts.tls ? { tlsArgs: tlsClientArgs(opts.tls) } : {}),
    writeConfig: d.writeConfig,
    docker: d.docker,
    api: d.api,
  };
}
