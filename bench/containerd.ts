// The one containerd both daemons share during the benchmark, so that the
// comparison is about the daemons, not about two containerd instances.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, sleep, type CommandResult } from '../test/helpers/berthd.js';
import { killTree, pidsMentioning, type Reaper, waitGone } from './procs.js';

export interface BenchContainerd {
  address: string;
  pid: number;
  root: string;
  /** `ctr -a ADDRESS -n NAMESPACE args…` */
  ctr(namespace: string, args: string[], opts?: { timeoutMs?: number }): Promise<CommandResult>;
}

function configToml(root: string, address: string): string {
  return [
    'version = 2',
    `root = "${join(root, 'root')}"`,
    `state = "${join(root, 'state')}"`,
    // The CRI plugin is not needed and costs memory and start-up time.
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '',
    '[grpc]',
    `  address = "${address}"`,
    '',
    '[ttrpc]',
    `  address = "${address}.ttrpc"`,
    '',
    '[debug]',
    '  address = ""',
    '  level = "warn"',
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(root, 'opt')}"`,
    '',
  ].join('\n');
}

export async function startContainerd(root: string, reaper: Reaper): Promise<BenchContainerd> {
  mkdirSync(root, { recursive: true });
  const address = join(root, 'containerd.sock');
  const config = join(root, 'config.toml');
  writeFileSync(config, configToml(root, address));
  const logFd = openSync(join(root, 'containerd.log'), 'a');
  const child = spawn('containerd', ['--config', config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('containerd did not start: is it installed (apt-get install containerd)?');
  reaper.trackPid(pid);
  reaper.add('stop containerd', async () => {
    // Shims outlive containerd; they and their containers are found by the socket address they were given.
    child.kill('SIGTERM');
    await waitGone(pid, 10_000);
    for (const p of pidsMentioning(address)) killTree(p);
    reaper.untrackPid(pid);
  });
  const ctr = (namespace: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> =>
    runCommand('ctr', ['-a', address, '-n', namespace, ...args], process.env, opts);
  const deadline = Date.now() + 20_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`containerd exited during start-up (code ${child.exitCode}); see ${join(root, 'containerd.log')}`);
    if (existsSync(address) && (await ctr('default', ['version'], { timeoutMs: 5_000 })).code === 0) break;
    if (Date.now() > deadline) throw new Error(`containerd did not answer on ${address} within 20 s; see ${join(root, 'containerd.log')}`);
    await sleep(100);
  }
  return { address, pid, root, ctr };
}
