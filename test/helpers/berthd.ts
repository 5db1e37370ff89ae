// Starts a real bin/berthd (with its own managed containerd) in a temporary
// root and tears everything down by PID, mounts and directories — even when
// the test failed.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, rmdirSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { cleanupHostNetwork } from './network.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (this file runs from dist/test/helpers). */
export const repoRoot = resolve(here, '..', '..', '..');
export const berthdBin = join(repoRoot, 'bin', 'berthd');
export const dockerBin = process.env.BERTH_TEST_DOCKER ?? '/usr/local/bin/docker';

export interface StartOptions {
  /** daemon.json contents (object or raw text) */
  config?: Record<string, unknown> | string;
  args?: string[];
  /** reuse an existing root (restart tests) */
  root?: string;
  env?: Record<string, string>;
  /** wait this long for /_ping */
  timeoutMs?: number;
  /** listening sockets passed as fds 3, 4, … with LISTEN_FDS/LISTEN_PID, as systemd's socket activation does */
  listenFds?: number[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BerthdHandle {
  root: string;
  socket: string;
  dataRoot: string;
  execRoot: string;
  configFile: string;
  pidfile: string;
  /** env for docker CLI / dockerode: DOCKER_HOST etc. */
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  pid: number;
  /** berthd's stderr+stdout so far (JSON log lines) */
  output(): string;
  writeConfig(config: Record<string, unknown> | string): void;
  /** run the real docker CLI against this daemon */
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<CommandResult>;
  /** raw HTTP request on the API socket */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
  /** stop berthd (SIGTERM, SIGKILL after timeout), keep the root */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** stop everything and remove the root */
  cleanup(): Promise<void>;
}

const live = new Set<BerthdHandle>();
process.on('exit', () => {
  for (const h of live) {
    try {
      process.kill(h.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    killRootProcesses(h.root);
  }
});

export async function startBerthd(opts: StartOptions = {}): Promise<BerthdHandle> {
  const root = opts.root ?? mkdtempSync('/tmp/berth-t-');
  const dataRoot = join(root, 'data');
  const execRoot = join(root, 'exec');
  const socket = join(root, 'berth.sock');
  const configFile = join(root, 'daemon.json');
  const pidfile = join(root, 'berthd.pid');
  mkdirSync(join(root, 'docker-config'), { recursive: true });
  const writeConfig = (config: Record<string, unknown> | string): void => {
    writeFileSync(configFile, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  };
  // The host's forwarding setting stays as it was (the traffic rule): a test
  // that wants dockerd's ip-forward says so.
  const withHostDefaults = (c: Record<string, unknown> | string): Record<string, unknown> | string =>
    typeof c === 'string' || 'ip-forward' in c ? c : { 'ip-forward': false, ...c };
  if (opts.config !== undefined) writeConfig(withHostDefaults(opts.config));
  else if (!existsSync(configFile)) writeConfig(withHostDefaults({}));

  const args = [
    '--data-root', dataRoot,
    '--exec-root', execRoot,
    '-H', `unix://${socket}`,
    '--config-file', configFile,
    '--pidfile', pidfile,
    ...(opts.args ?? []),
  ];
  // Run bin/berthd itself, as a user does, so its interpreter flags apply;
  // its `env node` finds the node running the tests first.
  const fds = opts.listenFds ?? [];
  const spawnEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...opts.env };
  // LISTEN_PID is the pid after exec: the shell's own.
  const child =
    fds.length === 0
      ? spawn(berthdBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: spawnEnv })
      : spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', berthdBin, ...args], {
          stdio: ['ignore', 'pipe', 'pipe', ...fds],
          env: { ...spawnEnv, LISTEN_FDS: String(fds.length) },
        });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const env = cliEnv(socket, root);

  const handle: BerthdHandle = {
    root,
    socket,
    dataRoot,
    execRoot,
    configFile,
    pidfile,
    env,
    child,
    pid: child.pid ?? -1,
    output: () => out,
    writeConfig,
    docker: (dargs, dopts) => runCommand(dockerBin, dargs, env, dopts),
    api: (method, path, body) => apiRequest(socket, method, path, body),
    stop: (signal = 'SIGTERM', timeoutMs = 30_000) => stopChild(child, signal, timeoutMs),
    cleanup: async () => {
      live.delete(handle);
      await stopChild(child, 'SIGTERM', 20_000);
      killRootProcesses(root);
      cleanupHostNetwork(dataRoot);
      await unmountUnder(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
  live.add(handle);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await handle.cleanup().catch(() => undefined);
      throw new Error(`berthd exited during start-up (${child.exitCode ?? child.signalCode}):\n${out}`);
    }
    try {
      const r = await apiRequest(socket, 'GET', '/_ping');
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await handle.cleanup().catch(() => undefined);
      throw new Error(`berthd did not answer /_ping within the timeout:\n${out}`);
    }
    await sleep(50);
  }
  return handle;
}

/** The docker CLI's environment for a daemon on `socket`, with its own config dir under `root` and no context or TLS from the caller. */
export function cliEnv(socket: string, root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(root, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
  };
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  return env;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function runCommand(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      file,
      args,
      // SIGKILL: `docker run` passes SIGTERM on to its container and keeps waiting.
      { env, timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        const timedOut = err !== null && (err as { killed?: boolean }).killed === true;
        resolvePromise({ code, stdout, stderr: timedOut ? `${stderr}${file} timed out after ${opts.timeoutMs ?? 60_000} ms\n` : stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export function apiRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Kill every process whose command line mentions the root (containerd, shims, runc). */
export function killRootProcesses(root: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(root)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* raced with its exit */
      }
    }
  }
  const recorded = [join(root, 'data', 'containers'), join(root, 'data', 'plugins')].flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []));
  killContainerCgroups(new Set([...recorded, ...killRuncContainers(root)]));
}

const RUNC_STATE_ROOT = '/run/containerd/runc';

/**
 * A container created but never started waits in `runc init` for its start;
 * once its shim is killed nothing deletes it. Find such containers through
 * runc's state (whose bundle lies under the root): kill the init process and
 * drop the state.
 */
function killRuncContainers(root: string): string[] {
  const found: string[] = [];
  const namespaces = existsSync(RUNC_STATE_ROOT) ? readdirSync(RUNC_STATE_ROOT) : [];
  for (const ns of namespaces) {
    let ids: string[] = [];
    try {
      ids = readdirSync(join(RUNC_STATE_ROOT, ns));
    } catch {
      continue;
    }
    for (const id of ids) {
      const dir = join(RUNC_STATE_ROOT, ns, id);
      let state: { init_process_pid?: unknown; config?: { rootfs?: unknown } };
      try {
        state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as typeof state;
      } catch {
        continue;
      }
      const rootfs = state.config?.rootfs;
      if (typeof rootfs !== 'string' || !rootfs.startsWith(root + '/')) continue;
      const pid = state.init_process_pid;
      if (typeof pid === 'number' && pid > 0) {
        try {
          // Only if it still is that container's init (pids are reused).
          if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`_LIBCONTAINER_STATEDIR=${dir}`)) process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
      found.push(id);
    }
  }
  return found;
}

/**
 * Container and plugin processes outlive a killed shim; find them through the
 * cgroups named after their ids (thawing paused ones).
 */
function killContainerCgroups(ids: ReadonlySet<string>): void {
  if (ids.size === 0) return;
  const walk = (dir: string, visit: (d: string) => void): void => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      if (ids.has(e)) visit(p);
      else walk(p, visit);
    }
  };
  for (const controller of ['freezer', 'unified']) {
    walk(join('/sys/fs/cgroup', controller), (d) => {
      try {
        if (controller === 'freezer') writeFileSync(join(d, 'freezer.state'), 'THAWED');
      } catch {
        /* not frozen or gone */
      }
    });
  }
  for (const controller of ['pids', 'memory', 'unified']) {
    walk(join('/sys/fs/cgroup', controller), (d) => {
      let procs: string[] = [];
      try {
        procs = readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return;
      }
      for (const pid of procs) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    });
  }
}

export async function unmountUnder(root: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((p): p is string => p !== undefined && (p === root || p.startsWith(root + '/')))
      .map((p) => p.replace(/\\040/g, ' '))
      .sort((a, b) => b.length - a.length);
    if (mounts.length === 0) return;
    for (const m of mounts) await runCommand('umount', ['-l', m]);
    await sleep(50);
  }
}

/** Polls `check` until it holds, or fails naming what was awaited. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The end of a test that leaves containers behind: force-removes them, stops berthd, cleans its host network and root. */
export async function cleanupWithContainers(d: BerthdHandle | undefined): Promise<void> {
  if (d === undefined) return;
  const ids = (await d.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await d.docker(['rm', '-f', ...ids]).catch(() => undefined);
  await d.stop();
  cleanupHostNetwork(d.dataRoot);
  await d.cleanup();
}

/** The stdout of a command that must have succeeded. */
export function ok(r: CommandResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/**
 * The last step of a test's clean-up: kill what still runs under `root`,
 * unmount and remove it, and remove the (empty) cgroups the test named, in
 * every hierarchy.
 */
export async function removeTestRoot(root: string, cgroups: readonly string[] = []): Promise<void> {
  killRootProcesses(root);
  await unmountUnder(root);
  rmSync(root, { recursive: true, force: true });
  for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    for (const cg of cgroups) {
      const dir = join('/sys/fs/cgroup', hierarchy, cg);
      if (existsSync(dir)) rmdirSync(dir);
    }
  }
}
