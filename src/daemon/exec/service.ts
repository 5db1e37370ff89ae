// Exec instances, kept in memory as dockerd keeps them: created, started
// once, inspected for their exit code, dropped with their container.
import { randomBytes } from 'node:crypto';
import type { HijackedConnection } from '../io/index.js';
import { jsonAny, OCI_PROCESS_TYPE_URL } from '../../containerd/index.js';
import { conflict, internal, invalidParameter, isBerthError, messageOf, notFound } from '../../errors/index.js';
import { silentLogger, type Logger } from '../../log/index.js';
import { openProcessIO, parseDetachKeys, stdcopyFrame, STDOUT, type ProcessIO, type ProcessIOOpener } from '../io/index.js';
import { buildExecProcess } from './process-spec.js';
import { startErrorExitCode } from './start-error.js';
import type { ExecCreateConfig, ExecInspect, ExecStartOptions, ExecTarget } from './types.js';
import { resolveContainerUser } from './user.js';

/** Idle (finished or never started) execs kept per container; dockerd keeps them until the container goes. */
export const MAX_IDLE_EXECS_PER_CONTAINER = 64;
/** After the process exits, how long its output may take to drain before the streams are closed (dockerd: 2 s). */
const DRAIN_GRACE_MS = 2_000;
/** How long a resize waits for the exec to start (dockerd: 10 s). */
const START_WAIT_MS = 10_000;

interface ExecRecord {
  readonly id: string;
  readonly target: ExecTarget;
  readonly cmd: string[];
  readonly env: string[];
  /** `-u` as requested ('' keeps the container's user) */
  readonly execUser: string;
  readonly workingDir: string;
  readonly tty: boolean;
  readonly openStdin: boolean;
  readonly openStdout: boolean;
  readonly openStderr: boolean;
  readonly privileged: boolean;
  /** undefined: the default keys */
  readonly detachKeys: Buffer | undefined;
  readonly consoleSize: [number, number] | undefined;
  running: boolean;
  exitCode: number | null;
  pid: number;
  started: Promise<void>;
  markStarted: () => void;
}

export interface ExecServiceOptions {
  logger?: Logger;
  maxIdlePerContainer?: number;
  /** the daemon's (with its FIFO pool); default: FIFOs made on demand */
  openProcessIO?: ProcessIOOpener;
}

/** A validated start: the HTTP layer hijacks the connection, then runs it. */
export interface ExecStartHandle {
  run(conn?: HijackedConnection): Promise<void>;
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();
  private readonly log: Logger;
  private readonly maxIdle: number;
  private readonly openIO: ProcessIOOpener;

  constructor(opts: ExecServiceOptions = {}) {
    this.log = opts.logger ?? silentLogger();
    this.maxIdle = opts.maxIdlePerContainer ?? MAX_IDLE_EXECS_PER_CONTAINER;
    this.openIO = opts.openProcessIO ?? ((o) => openProcessIO(o, this.log));
  }

  async create(target: ExecTarget, cfg: ExecCreateConfig): Promise<{ Id: string }> {
    checkActive(target);
    if (cfg.Cmd.length === 0) throw invalidParameter('No exec command specified');
    const execUser = cfg.User ?? '';
    // Fail early on an unknown user, as dockerd does (it is resolved again at start).
    if (execUser !== '') await resolveContainerUser(execUser, target.initPid());
    const detachKeys = cfg.DetachKeys !== undefined && cfg.DetachKeys !== '' ? parseDetachKeys(cfg.DetachKeys) : undefined;
    const id = randomBytes(32).toString('hex');
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const rec: ExecRecord = {
      id,
      target,
      cmd: [...cfg.Cmd],
      env: [...(cfg.Env ?? [])],
      execUser,
      workingDir: cfg.WorkingDir ?? '',
      tty: cfg.Tty === true,
      openStdin: cfg.AttachStdin === true,
      openStdout: cfg.AttachStdout === true,
      openStderr: cfg.AttachStderr === true,
      privileged: cfg.Privileged === true,
      detachKeys,
      consoleSize: cfg.ConsoleSize ?? undefined,
      running: false,
      exitCode: null,
      pid: 0,
      started,
      markStarted,
    };
    this.execs.set(id, rec);
    this.trimIdle(target.id);
    target.publish(`exec_create: ${commandLine(rec.cmd)}`, { execID: id });
    return { Id: id };
  }

  /** Validate a start (404/409 here, before any connection is hijacked) and mark the exec running. */
  beginStart(id: string, opts: ExecStartOptions): ExecStartHandle {
    const rec = this.get(id);
    checkActive(rec.target);
    if (rec.exitCode !== null) throw conflict(`exec command ${id} has already run`);
    if (rec.running) throw conflict(`exec command ${id} is already running`);
    rec.running = true;
    return { run: (conn) => this.run(rec, opts, conn) };
  }

  /** Start an exec; with a connection, resolves once the process ended and the connection is closed. */
  start(id: string, opts: ExecStartOptions, conn?: HijackedConnection): Promise<void> {
    return this.beginStart(id, opts).run(conn);
  }

  inspect(id: string): ExecInspect {
    const rec = this.get(id);
    return {
      ID: rec.id,
      Running: rec.running,
      ExitCode: rec.exitCode,
      ProcessConfig: {
        tty: rec.tty,
        entrypoint: rec.cmd[0] as string,
        arguments: rec.cmd.slice(1),
        privileged: rec.privileged,
        user: rec.execUser !== '' ? rec.execUser : (rec.target.configUser ?? ''),
      },
      OpenStdin: rec.openStdin,
      OpenStderr: rec.openStderr,
      OpenStdout: rec.openStdout,
      CanRemove: false,
      ContainerID: rec.target.id,
      DetachKeys: (rec.detachKeys ?? Buffer.alloc(0)).toString('base64'),
      Pid: rec.pid,
    };
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const rec = this.get(id);
    checkActive(rec.target);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), START_WAIT_MS)));
    const res = await Promise.race([rec.started, timeout]);
    clearTimeout(timer);
    if (res === 'timeout') throw conflict(`exec ${id} is not started: start it before resizing its TTY`);
    if (!rec.running) throw conflict(`exec ${id} is not running`);
    await rec.target.client.tasks.resizePty(rec.target.id, width, height, rec.id);
  }

  /** Ids of the running execs of a container (container inspect's ExecIDs). */
  runningExecIds(containerId: string): string[] {
    return [...this.execs.values()].filter((r) => r.target.id === containerId && r.running).map((r) => r.id);
  }

  /** Drop every exec of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, rec] of this.execs) if (rec.target.id === containerId) this.execs.delete(id);
  }

  private get(id: string): ExecRecord {
    const rec = this.execs.get(id);
    if (rec === undefined) throw notFound(`No such exec instance: ${id}`);
    return rec;
  }

  private async run(rec: ExecRecord, opts: ExecStartOptions, conn: HijackedConnection | undefined): Promise<void> {
    const target = rec.target;
    const tasks = target.client.tasks;
    target.publish(`exec_start: ${commandLine(rec.cmd)}`, { execID: rec.id });
    let io: ProcessIO | undefined;
    let created = false;
    let exitRecorded!: () => void;
    const recorded = new Promise<void>((resolve) => (exitRecorded = resolve));
    let detached = false;
    // The client sees the end of the stream only once the exit code is
    // recorded, so `docker exec` can read it right away.
    const client = conn === undefined ? undefined : closeAfter(conn, recorded, () => detached);
    try {
      const base = await target.processSpec();
      const user = rec.execUser !== '' ? await resolveContainerUser(rec.execUser, target.initPid()) : undefined;
      const size = opts.ConsoleSize ?? rec.consoleSize;
      const spec = buildExecProcess(base, {
        cmd: rec.cmd,
        env: rec.env,
        tty: rec.tty,
        workingDir: rec.workingDir,
        privileged: rec.privileged,
        ...(user !== undefined ? { user } : {}),
        ...(size !== undefined ? { consoleSize: { height: size[0], width: size[1] } } : {}),
      });
      io = await this.openIO({
        dir: target.execDir,
        prefix: rec.id,
        openStdin: rec.openStdin,
        stdinOnce: true,
        tty: rec.tty,
        // The shim holds its own writer on the stdin FIFO: EOF needs CloseIO, after start.
        onStdinClosed: () => {
          void rec.started.then(async () => {
            if (!rec.running) return;
            await tasks.closeIO(target.id, rec.id).catch((err: unknown) => this.log.debug({ err, exec: rec.id }, 'closing exec stdin failed'));
          });
        },
      });
      const attached =
        client === undefined
          ? undefined
          : io.attach(client, {
              stdin: rec.openStdin,
              stdout: rec.openStdout,
              stderr: rec.openStderr,
              logs: false,
              stream: true,
              multiplexed: opts.Tty !== true,
              ...(rec.detachKeys !== undefined ? { detachKeys: rec.detachKeys } : {}),
              onDetach: () => {
                detached = true;
                target.publish('exec_detach', { execID: rec.id });
              },
            });
      await tasks.exec({
        containerId: target.id,
        execId: rec.id,
        stdin: io.fifos.stdin,
        stdout: io.fifos.stdout,
        stderr: io.fifos.stderr,
        terminal: rec.tty,
        spec: jsonAny(OCI_PROCESS_TYPE_URL, spec),
      });
      created = true;
      io.shimReady();
      const exited = tasks.wait(target.id, rec.id);
      exited.catch(() => undefined);
      const { pid } = await tasks.start(target.id, rec.id);
      rec.pid = pid;
      rec.markStarted();
      const finished = this.finish(rec, io, exited, exitRecorded).catch((err: unknown) => {
        this.log.warn({ err, exec: rec.id }, 'finishing an exec failed');
      });
      if (attached === undefined) return;
      await attached;
      // A detached client leaves the process running; otherwise the output ended with it.
      if (!detached) await finished;
    } catch (err) {
      if (rec.pid !== 0) {
        // Started: the exit is tracked by finish(); only this client is lost.
        this.log.warn({ err, exec: rec.id }, 'exec client failed');
        conn?.close();
        return;
      }
      rec.running = false;
      rec.exitCode = startErrorExitCode(err);
      rec.markStarted();
      this.log.warn({ err, exec: rec.id, container: target.id }, 'exec failed to start');
      if (conn !== undefined && !conn.output.destroyed) {
        // The connection is already hijacked: the error goes into the stream
        // (before anything may close it), as dockerd does.
        const text = Buffer.from(`${messageOf(err)}\r\n`);
        conn.output.write(opts.Tty === true ? text : stdcopyFrame(STDOUT, text));
      }
      exitRecorded();
      if (created) await tasks.deleteProcess(target.id, rec.id).catch(() => undefined);
      await io?.close().catch(() => undefined);
      if (conn === undefined) throw startError(err, rec.exitCode);
      conn.close();
    }
  }

  private async finish(rec: ExecRecord, io: ProcessIO, exited: Promise<{ exitStatus: number }>, exitRecorded: () => void): Promise<void> {
    const target = rec.target;
    let code: number;
    try {
      code = (await exited).exitStatus;
    } catch (err) {
      code = await target.client.tasks
        .get(target.id, rec.id)
        .then((p) => (p.status === 'stopped' ? p.exitStatus : 137))
        .catch(() => 137);
      this.log.warn({ err, exec: rec.id, exitCode: code }, 'lost track of an exec process; recording it as killed');
    }
    rec.exitCode = code;
    rec.running = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([io.drained(), new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_GRACE_MS)))]);
    clearTimeout(timer);
    exitRecorded();
    await io.close().catch((err: unknown) => this.log.warn({ err, exec: rec.id }, 'closing exec I/O failed'));
    await target.client.tasks.deleteProcess(target.id, rec.id).catch((err: unknown) => {
      this.log.debug({ err, exec: rec.id }, 'deleting the exec process failed');
    });
    target.publish('exec_die', { execID: rec.id, exitCode: String(code) });
    this.trimIdle(target.id);
  }

  /** Keep at most maxFinished idle (finished or never started) execs per container, dropping the oldest. */
  private trimIdle(containerId: string): void {
    const idle = [...this.execs.values()].filter((r) => r.target.id === containerId && !r.running);
    // Map iteration is insertion order: the oldest go first.
    for (const rec of idle.slice(0, Math.max(0, idle.length - this.maxIdle))) this.execs.delete(rec.id);
  }
}

function checkActive(target: ExecTarget): void {
  if (!target.isRunning()) throw conflict(`container ${target.id} is not running`);
  if (target.isPaused()) throw conflict(`Container ${target.id} is paused, unpause the container before exec`);
}

/** dockerd's event text: entrypoint, a space, the arguments joined by spaces. */
function commandLine(cmd: string[]): string {
  return `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}

function startError(err: unknown, exitCode: number): Error {
  if (exitCode === 126 || exitCode === 127) return invalidParameter(messageOf(err), err);
  return isBerthError(err) ? err : internal(messageOf(err), err);
}

/** The same connection, but closing it waits for `until` (unless the client detached). */
function closeAfter(conn: HijackedConnection, until: Promise<void>, detached: () => boolean): HijackedConnection {
  return {
    input: conn.input,
    output: conn.output,
    upgraded: conn.upgraded,
    onClose: (cb) => conn.onClose(cb),
    close: () => {
      if (detached()) conn.close();
      else void until.then(() => conn.close());
    },
  };
}
