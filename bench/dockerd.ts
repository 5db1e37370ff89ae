// The reference daemon: Debian's dockerd (package docker.io), on private
// roots and socket, using the benchmark's containerd.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiRequest, dockerBin, runCommand, sleep, unmountUnder } from '../test/helpers/berthd.js';
import type { BenchDaemon } from './daemon.js';
import { killTree, type Reaper, waitGone } from './procs.js';
import { tlsClientArgs, tlsDaemonArgs, type BenchTls } from './tls.js';
import { removeDockerdNetworking } from './network.js';

const DOCKERD = '/usr/sbin/dockerd';

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
  /** its own bridge (DOCKERD_BRIDGE on 10.214.0.0/24), iptables and userland proxy, for the networking figures */
  network?: boolean;
}

export const DOCKERD_BRIDGE = 'docker0';

export async function startDockerd(opts: DockerdOptions): Promise<BenchDaemon> {
  const { root, reaper } = opts;
  const dataRoot = join(root, 'data');
  const execRoot = join(root, 'exec');
  const socket = join(root, 'docker.sock');
  const configFile = join(root, 'daemon.json');
  mkdirSync(join(root, 'docker-config'), { recursive: true });
  const writeConfig = (config: Record<string, unknown> | string): void =>
    writeFileSync(configFile, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  writeConfig({});
  const args = [
    '--data-root', dataRoot,
    '--exec-root', execRoot,
    '-H', `unix://${socket}`,
    '--pidfile', join(root, 'dockerd.pid'),
    '--config-file', configFile,
    '--containerd', opts.containerd,
    '--containerd-namespace', 'moby',
    '--containerd-plugins-namespace', 'plugins.moby',
    ...(opts.network === true
      ? // Its own bridge and iptables, userland proxy on (dockerd's defaults); ip_forward and FORWARD's policy untouched.
        ['--bip', '10.214.0.1/24', '--ip-forward=false', '--ip6tables=false']
      : // No networking work beyond what `--network none` needs: nothing to measure there.
        ['--bridge', 'none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--userland-proxy=false']),
    ...(opts.tls ? tlsDaemonArgs(opts.tls) : []),
  ];
  const logFd = openSync(join(root, 'dockerd.log'), 'a');
  const child = spawn(DOCKERD, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${DOCKERD} did not start`);
  reaper.trackPid(pid);
  reaper.add('stop dockerd', async () => {
    child.kill('SIGTERM');
    await waitGone(pid, 20_000);
    killTree(pid);
    reaper.untrackPid(pid);
    await unmountUnder(root);
    if (opts.network === true) removeDockerdNetworking(DOCKERD_BRIDGE);
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(root, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
  };
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  const deadline = Date.now() + 60_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`dockerd exited during start-up (code ${child.exitCode}); see ${join(root, 'dockerd.log')}`);
    const ping = await apiRequest(socket, 'GET', '/_ping').catch(() => undefined);
    if (ping?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${socket} within 60 s; see ${join(root, 'dockerd.log')}`);
    await sleep(100);
  }
  const docker = (dargs: string[], dopts?: { input?: string | Buffer; timeoutMs?: number }) => runCommand(dockerBin, dargs, env, dopts);
  const version = (await docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  return {
    name: 'dockerd',
    pid,
    socket,
    dataRoot,
    configFile,
    env,
    version: `dockerd ${version}`,
    ...(opts.tls ? { tlsArgs: tlsClientArgs(opts.tls) } : {}),
    writeConfig,
    docker,
    api: (method, path, body) => apiRequest(socket, method, path, body),
  };
}
