// berthd's own containerd: generated config under berthd's roots, output
// piped into berthd's log, restarted with backoff when it dies, adopted
// (not duplicated) when a previous berthd left it running.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { BerthError, conflict, unavailable } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { managedLayout, renderContainerdConfig, type ManagedLayout } from './managed-config.js';
import { pipeContainerdLogs } from './managed-logs.js';
import { commandLine, isRunning, killQuietly, readPidFile, removePidFile, waitForExit, writePidFile } from './managed-process.js';
import { probeContainerd, socketAccepts } from './managed-probe.js';

export interface ManagedContainerdOptions {
  dataRoot: string;
  execRoot: string;
  debug: boolean;
  logger: Logger;
  /** containerd binary; default `containerd` from PATH */
  binary?: string;
  /** how long a (re)started containerd may take to answer Version; default 20 s */
  startTimeoutMs?: number;
}

export interface ContainerdExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when berthd asked for it (stop) */
  expected: boolean;
}

export interface ContainerdRestart {
  pid: number;
  /** restarts since berthd started */
  restarts: number;
}

export interface ManagedContainerd {
  /** socket path of containerd's gRPC API */
  readonly address: string;
  readonly configPath: string;
  /** pid of the current containerd (the last one while restarting) */
  readonly pid: number;
  /** whether the current containerd was left running by an earlier berthd and taken over */
  readonly adopted: boolean;
  readonly restarts: number;
  /** SIGTERM, then SIGKILL after timeoutMs (default 10 s); never restarts afterwards. */
  stop(timeoutMs?: number): Promise<void>;
  /** Stop supervising and leave containerd running, for the next berthd to adopt. */
  detach(): void;
  on(event: 'exit', listener: (info: ContainerdExit) => void): this;
  on(event: 'restart', listener: (info: ContainerdRestart) => void): this;
  off(event: 'exit', listener: (info: ContainerdExit) => void): this;
  off(event: 'restart', listener: (info: ContainerdRestart) => void): this;
}

const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
// A containerd that stayed up this long crashed for a new reason: restart it promptly again.
const STABLE_AFTER_MS = 10_000;
const ADOPT_PROBE_MS = 10_000;
const RECENT_LINES = 20;

// Variables meant for berthd alone: containerd would otherwise notify systemd as if it were berthd.
const PRIVATE_ENV = ['NOTIFY_SOCKET', 'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'];

interface Running {
  pid: number;
  child?: ChildProcess;
  startedAt: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** settles once a spawned child's output pipes have closed */
  drained?: Promise<void>;
}

type State = 'starting' | 'running' | 'stopping' | 'stopped' | 'detached';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Supervisor extends EventEmitter implements ManagedContainerd {
  readonly address: string;
  readonly configPath: string;
  restarts = 0;
  private readonly binary: string;
  private readonly log: Logger;
  private readonly startTimeoutMs: number;
  private current: Running | undefined;
  private lastPid = 0;
  private adoptedPid = 0;
  private state: State = 'starting';
  private launching = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly recent: string[] = [];

  constructor(
    private readonly layout: ManagedLayout,
    private readonly opts: ManagedContainerdOptions,
  ) {
    super();
    this.address = layout.socket;
    this.configPath = layout.config;
    this.binary = opts.binary ?? 'containerd';
    this.log = opts.logger.child({ component: 'containerd' });
    this.startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  }

  get pid(): number {
    return this.current?.pid ?? this.lastPid;
  }

  get adopted(): boolean {
    return this.current !== undefined && this.current.pid === this.adoptedPid;
  }

  async begin(): Promise<void> {
    const { layout } = this;
    mkdirSync(layout.dir, { recursive: true, mode: 0o711 });
    mkdirSync(layout.root, { recursive: true, mode: 0o711 });
    const tmp = `${layout.config}.${process.pid}.tmp`;
    writeFileSync(tmp, renderContainerdConfig(layout, this.opts.debug), { mode: 0o644 });
    renameSync(tmp, layout.config);

    if (await this.tryAdopt()) {
      this.state = 'running';
      return;
    }
    await this.refuseForeignContainerd();
    await this.launch();
    this.state = 'running';
  }

  /** A containerd from our pidfile, running our config and answering: a previous berthd's, keep it. */
  private async tryAdopt(): Promise<boolean> {
    const pid = readPidFile(this.layout.pidFile);
    if (pid === undefined || !isRunning(pid) || !commandLine(pid).includes(this.layout.config)) return false;
    try {
      await probeContainerd(this.layout.socket, ADOPT_PROBE_MS, () => !isRunning(pid));
    } catch (err) {
      this.log.warn({ containerdPid: pid, err: (err as Error).message }, 'containerd left by a previous berthd does not answer; killing it');
      killQuietly(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
      return false;
    }
    this.current = { pid, startedAt: Date.now() };
    this.lastPid = pid;
    this.adoptedPid = pid;
    this.watchAdopted(pid);
    this.log.info({ containerdPid: pid }, 'adopted the containerd left running by a previous berthd');
    return true;
  }

  private async refuseForeignContainerd(): Promise<void> {
    if (!existsSync(this.layout.socket)) return;
    let answers = false;
    if (await socketAccepts(this.layout.socket)) {
      answers = await probeContainerd(this.layout.socket, 2_000, () => false).then(
        () => true,
        () => false,
      );
    }
    // A stale socket file from a containerd that died: launch() replaces it.
    if (!answers) return;
    throw conflict(
      `a containerd not started by this berthd already serves ${this.layout.socket}; stop it, or use it with --containerd ${this.layout.socket}`,
    );
  }

  /**
   * Adopted containerd is not our child: poll for its death. The timer keeps
   * the process alive, as a spawned child's pipes do, until stop() or detach().
   */
  private watchAdopted(pid: number): void {
    this.watchTimer = setInterval(() => {
      if (isRunning(pid)) return;
      clearInterval(this.watchTimer);
      this.watchTimer = undefined;
      this.onExit(pid, null, null);
    }, 500);
  }

  private env(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const k of PRIVATE_ENV) delete env[k];
    return env;
  }

  private remember = (line: string): void => {
    this.recent.push(line);
    if (this.recent.length > RECENT_LINES) this.recent.shift();
  };

  /** Spawns containerd and resolves once it answers Version; on failure nothing is left running. */
  private async launch(): Promise<void> {
    this.launching = true;
    this.recent.length = 0;
    let running: Running | undefined;
    try {
      // Only a stale file can be there now (tryAdopt and refuseForeignContainerd ran); probes must not hit it.
      rmSync(this.layout.socket, { force: true });
      const child = spawn(this.binary, ['--config', this.layout.config], {
        cwd: this.layout.dir,
        env: this.env(),
        // Its own session: a Ctrl-C meant for berthd must not take containerd down with it.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const spawned = new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const pid = child.pid ?? 0;
      const r: Running = { pid, child, startedAt: Date.now() };
      const drained = new Promise<void>((resolve) => child.once('close', () => resolve()));
      r.drained = drained;
      child.once('exit', (code, signal) => {
        r.exit = { code, signal };
        this.onExit(pid, code, signal);
      });
      await spawned.catch((err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'ENOENT'
            ? 'install containerd (apt-get install containerd) or use a running one with --containerd SOCKET'
            : 'check the binary and its permissions';
        throw unavailable(`cannot run containerd binary '${this.binary}': ${err.message}; ${hint}`, err);
      });
      child.on('error', (err) => this.log.error({ err: err.message }, 'containerd process error'));
      running = r;
      this.current = r;
      this.lastPid = pid;
      if (child.stdout !== null) pipeContainerdLogs(child.stdout, this.log, this.remember);
      if (child.stderr !== null) pipeContainerdLogs(child.stderr, this.log, this.remember);
      writePidFile(this.layout.pidFile, pid);
      await probeContainerd(this.layout.socket, this.startTimeoutMs, () => r.exit !== undefined || this.state === 'stopping');
      this.log.debug({ containerdPid: pid }, 'containerd is answering');
    } catch (err) {
      // Its last words explain a crash: let them arrive before quoting them.
      if (running?.exit !== undefined && running.drained !== undefined) await Promise.race([running.drained, sleep(1_000)]);
      // Judge the failure before our own SIGKILL below makes it look like a crash.
      const failure = this.launchError(err, running);
      // When berthd is stopping, shutdown() terminates it gracefully instead.
      if (running !== undefined && running.exit === undefined && this.state !== 'stopping') {
        killQuietly(running.pid, 'SIGKILL');
        await waitForExit(running.pid, 5_000);
      }
      if (running !== undefined) removePidFile(this.layout.pidFile, running.pid);
      throw failure;
    } finally {
      this.launching = false;
    }
  }

  private launchError(err: unknown, running: Running | undefined): BerthError {
    if (err instanceof BerthError && running === undefined) return err;
    const output = this.recent.length > 0 ? `; its last output:\n${this.recent.join('\n')}` : '';
    if (running?.exit !== undefined && this.state !== 'stopping') {
      const how = running.exit.signal !== null ? `signal ${running.exit.signal}` : `code ${running.exit.code}`;
      return unavailable(`containerd (${this.configPath}) exited with ${how} before answering on ${this.address}${output}`, err);
    }
    const why = err instanceof Error ? err.message : String(err);
    return unavailable(`containerd (${this.configPath}) did not become ready: ${why}${output}`, err);
  }

  private onExit(pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    const cur = this.current;
    if (cur === undefined || cur.pid !== pid) return;
    this.current = undefined;
    const expected = this.state === 'stopping' || this.state === 'stopped' || this.state === 'detached';
    // After detach() the pidfile belongs to whichever berthd adopts this containerd.
    if (this.state !== 'detached') removePidFile(this.layout.pidFile, pid);
    this.emit('exit', { pid, code, signal, expected } satisfies ContainerdExit);
    // A launch in progress reports its own failure; only a running containerd is restarted here.
    if (expected || this.launching || this.state !== 'running') return;
    this.log.error({ containerdPid: pid, code, signal }, 'containerd exited unexpectedly; restarting it');
    if (Date.now() - cur.startedAt > STABLE_AFTER_MS) this.backoffMs = FIRST_BACKOFF_MS;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(delay * 2, MAX_BACKOFF_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delay);
  }

  private async restart(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.launch();
    } catch (err) {
      if (this.state !== 'running') return;
      this.log.error({ err: (err as Error).message }, 'containerd restart failed; trying again');
      this.scheduleRestart();
      return;
    }
    if (this.state !== 'running') return;
    this.restarts += 1;
    this.log.warn({ containerdPid: this.pid, restarts: this.restarts }, 'containerd restarted');
    this.emit('restart', { pid: this.pid, restarts: this.restarts } satisfies ContainerdRestart);
  }

  private clearTimers(): void {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.restartTimer = undefined;
    this.watchTimer = undefined;
  }

  stop(timeoutMs: number = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    this.stopping ??= this.shutdown(timeoutMs);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.state = 'stopping';
    this.clearTimers();
    const cur = this.current;
    if (cur !== undefined && isRunning(cur.pid)) {
      killQuietly(cur.pid, 'SIGTERM');
      if (!(await waitForExit(cur.pid, timeoutMs))) {
        this.log.warn({ containerdPid: cur.pid, timeoutMs }, 'containerd did not stop in time; killing it');
        killQuietly(cur.pid, 'SIGKILL');
        await waitForExit(cur.pid, 5_000);
      }
    }
    if (cur !== undefined) {
      // An adopted containerd is not our child: no exit event comes for it.
      if (cur.child === undefined) this.onExit(cur.pid, null, null);
      removePidFile(this.layout.pidFile, cur.pid);
    }
    this.current = undefined;
    this.state = 'stopped';
  }

  detach(): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'detached';
    this.clearTimers();
    const child = this.current?.child;
    if (child !== undefined) {
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
    }
  }
}

/**
 * Starts (or adopts) berthd's own containerd under `<execRoot>/containerd/`
 * with its data under `<dataRoot>/containerd`, and resolves once it answers.
 */
export async function startManagedContainerd(opts: ManagedContainerdOptions): Promise<ManagedContainerd> {
  const supervisor = new Supervisor(managedLayout(opts.dataRoot, opts.execRoot), opts);
  await supervisor.begin();
  return supervisor;
}
