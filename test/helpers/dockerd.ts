// The reference daemon: Debian's dockerd 20.10 (package docker.io) on
// private roots and socket, for tests that compare berth with it and for the
// benchmark. Everything it makes is removed by stop(): its processes by PID,
// its mounts, its bridges and the iptables chains and rules it added.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRequest, cliEnv, dockerBin, runCommand, sleep, unmountUnder, type CommandResult } from './berthd.js';
import { killTree, pidsMentioning, waitGone } from './procs.js';

export const DOCKERD = '/usr/sbin/dockerd';

export interface DockerdNetwork {
  /** the default bridge; `docker0` is made by dockerd from `cidr` (--bip), any other name is made here first (--bridge) */
  bridge: string;
  /** the bridge's address with prefix, e.g. 10.214.0.1/24 */
  cidr: string;
  /** where user networks (compose's) take their subnets from, e.g. 10.216.0.0/16 (/24 each); dockerd's 172.x pools otherwise */
  pool?: string;
}

export interface DockerdOptions {
  root: string;
  /** a containerd socket to use; dockerd runs its own under the root without it */
  containerd?: string;
  /** its own bridge, iptables and userland proxy; without it no networking beyond `--network none` */
  network?: DockerdNetwork;
  args?: string[];
}

export interface DockerdHandle {
  root: string;
  pid: number;
  socket: string;
  dataRoot: string;
  configFile: string;
  env: NodeJS.ProcessEnv;
  /** `dockerd <server version>` */
  version: string;
  writeConfig(config: Record<string, unknown> | string): void;
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<CommandResult>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** SIGTERM, then everything it left: processes, mounts, bridges, iptables */
  stop(): Promise<void>;
}

function iptables(args: string[]): string {
  try {
    return execFileSync('iptables', ['-w', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function dockerChains(): Set<string> {
  const out = new Set<string>();
  for (const table of ['nat', 'filter']) for (const m of iptables(['-t', table, '-S']).matchAll(/^-N (DOCKER\S*)$/gm)) out.add(`${table}/${m[1]!}`);
  return out;
}

function bridgesOf(prefix: string): string[] {
  try {
    return execFileSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined && n.startsWith(prefix));
  } catch {
    return [];
  }
}

/**
 * dockerd's networking leftovers (it leaves them at exit): rules naming its
 * bridges or jumping to its chains, then the DOCKER chains it added (chains
 * present before it started, `keep`, are left with their other rules).
 */
export function removeDockerdNetworking(bridges: readonly string[], keep: ReadonlySet<string> = new Set()): void {
  const names = (line: string): boolean => bridges.some((b) => line.includes(` ${b} `) || line.endsWith(` ${b}`));
  for (const table of ['nat', 'filter']) {
    const added = (chain: string): boolean => !keep.has(`${table}/${chain}`);
    for (const line of iptables(['-t', table, '-S']).split('\n')) {
      if (!line.startsWith('-A ')) continue;
      const chain = line.split(' ')[1]!;
      const jump = / -j (DOCKER\S*)/.exec(line)?.[1];
      const ours = names(line) || (jump !== undefined && added(jump));
      // Rules inside a chain it added go with the chain.
      if (!ours || (chain.startsWith('DOCKER') && added(chain))) continue;
      iptables(['-t', table, ...(line.match(/"[^"]*"|\S+/g) ?? []).map((a, i) => (i === 0 ? '-D' : a.replace(/^"|"$/g, '')))]);
    }
    const chains = [...iptables(['-t', table, '-S']).matchAll(/^-N (DOCKER\S*)$/gm)].map((m) => m[1]!).filter(added);
    for (const c of chains) iptables(['-t', table, '-F', c]);
    for (const c of chains) iptables(['-t', table, '-X', c]);
  }
  for (const b of bridges) {
    try {
      execFileSync('ip', ['link', 'del', 'dev', b], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
}

export async function startDockerd(opts: DockerdOptions): Promise<DockerdHandle> {
  const { root, network } = opts;
  const dataRoot = join(root, 'data');
  const execRoot = join(root, 'exec');
  const socket = join(root, 'docker.sock');
  const configFile = join(root, 'daemon.json');
  mkdirSync(join(root, 'docker-config'), { recursive: true });
  const writeConfig = (config: Record<string, unknown> | string): void =>
    writeFileSync(configFile, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  writeConfig({});
  const chainsBefore = dockerChains();
  const userBridgesBefore = new Set(bridgesOf('br-'));
  if (network !== undefined && network.bridge !== 'docker0') {
    // A bridge of this name is a leftover of an earlier run that could not clean up.
    if (existsSync(`/sys/class/net/${network.bridge}`)) execFileSync('ip', ['link', 'del', 'dev', network.bridge]);
    execFileSync('ip', ['link', 'add', 'name', network.bridge, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', network.cidr, 'dev', network.bridge]);
    execFileSync('ip', ['link', 'set', network.bridge, 'up']);
  }
  const args = [
    '--data-root', dataRoot,
    '--exec-root', execRoot,
    '-H', `unix://${socket}`,
    '--pidfile', join(root, 'dockerd.pid'),
    '--config-file', configFile,
    ...(opts.containerd !== undefined
      ? ['--containerd', opts.containerd, '--containerd-namespace', 'moby', '--containerd-plugins-namespace', 'plugins.moby']
      : []),
    ...(network !== undefined
      ? // Its own bridge and iptables, userland proxy on (dockerd's defaults); ip_forward and FORWARD's policy untouched.
        [
          ...(network.bridge === 'docker0' ? ['--bip', network.cidr] : ['--bridge', network.bridge]),
          ...(network.pool !== undefined ? ['--default-address-pool', `base=${network.pool},size=24`] : []),
          '--ip-forward=false',
          '--ip6tables=false',
        ]
      : // No networking work beyond what `--network none` needs.
        ['--bridge', 'none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--userland-proxy=false']),
    ...(opts.args ?? []),
  ];
  const logFd = openSync(join(root, 'dockerd.log'), 'a');
  const child = spawn(DOCKERD, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${DOCKERD} did not start`);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      child.kill('SIGTERM');
      await waitGone(pid, 20_000);
      killTree(pid);
      // Its own containerd's shims (and their containers) name the root in their command lines.
      for (const p of pidsMentioning(root)) killTree(p);
      await unmountUnder(root);
      if (network !== undefined) {
        const userBridges = bridgesOf('br-').filter((b) => !userBridgesBefore.has(b));
        removeDockerdNetworking([network.bridge, ...userBridges], chainsBefore);
      }
    })());
  const env = cliEnv(socket, root);
  const deadline = Date.now() + 60_000;
  try {
    while (true) {
      if (child.exitCode !== null) throw new Error(`dockerd exited during start-up (code ${child.exitCode}); see ${join(root, 'dockerd.log')}`);
      const ping = await apiRequest(socket, 'GET', '/_ping').catch(() => undefined);
      if (ping?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${socket} within 60 s; see ${join(root, 'dockerd.log')}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const docker = (dargs: string[], dopts?: { input?: string | Buffer; timeoutMs?: number }): Promise<CommandResult> => runCommand(dockerBin, dargs, env, dopts);
  const version = (await docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  return {
    root,
    pid,
    socket,
    dataRoot,
    configFile,
    env,
    version: `dockerd ${version}`,
    writeConfig,
    docker,
    api: (method, path, body) => apiRequest(socket, method, path, body),
    stop,
  };
}

/** Why dockerd cannot run here (or was not asked for: BERTH_TEST_DOCKERD=0), or undefined when it can. */
export function dockerdMissing(): string | undefined {
  if (process.env.BERTH_TEST_DOCKERD === '0') return 'BERTH_TEST_DOCKERD=0: the dockerd half is off';
  return existsSync(DOCKERD) ? undefined : `${DOCKERD} is not installed (Debian package docker.io)`;
}

/**
 * The machine has one dockerd networking set-up (its DOCKER chains): a test
 * running dockerd takes the same lock the benchmark runs under (`flock`),
 * BERTH_DOCKERD_LOCK or berth-dockerd.lock in the temporary folder. Resolves once held; undefined
 * when it could not be had within the timeout.
 */
export async function holdDockerdLock(timeoutMs: number): Promise<{ release(): void } | undefined> {
  const path = process.env.BERTH_DOCKERD_LOCK ?? join(tmpdir(), 'berth-dockerd.lock');
  // flock holds the lock for as long as `cat` reads its (our) stdin.
  const child = spawn('flock', ['-w', String(Math.ceil(timeoutMs / 1000)), path, '-c', 'echo held; exec cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const held = await new Promise<boolean>((resolve) => {
    child.stdout.on('data', (b: Buffer) => resolve(b.toString().includes('held')));
    child.on('exit', () => resolve(false));
    child.on('error', () => resolve(false));
  });
  if (!held) return undefined;
  return { release: () => child.stdin.end() };
}
