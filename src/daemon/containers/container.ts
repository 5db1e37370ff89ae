// One container in memory: its persisted record plus what only lives while
// berthd runs (the process I/O, waiters, pending attaches, the lifecycle
// lock). It is also the ExecTarget the exec service works with.
import { join } from 'node:path';
import type { ContainerdClient, RuntimeInfo } from '../../containerd/types.js';
import type { HijackedConnection } from '../io/index.js';
import type { EventBus } from '../../events/index.js';
import type { ExecTarget, OciProcess } from '../exec/index.js';
import type { AttachOptions, ProcessIO } from '../io/types.js';
import { deferred, Mutex, type Deferred } from './mutex.js';
import type { ContainerRecordState } from './types.js';

export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

export interface PendingAttach {
  conn: HijackedConnection;
  opts: AttachOptions;
  /** settles when the attach ends */
  done: Deferred<void>;
}

export type StateName = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export class Container implements ExecTarget {
  readonly lock = new Mutex();
  io: ProcessIO | undefined;
  /** the init process as started (for exec), when known */
  initProcess: OciProcess | undefined;
  /** set by a /tasks/oom event, reported at the next exit */
  oomSeen = false;
  removing = false;
  /** the runtime of the containerd record as berth last wrote it (unknown after a restart) */
  recordRuntime: RuntimeInfo | undefined;
  removed = false;
  /** a stop or kill by berth is under way: the exit is expected */
  stopping = false;
  /** a restart is under way: the exit in between must not trigger --rm */
  restarting = false;
  /** its owner removes it once it exits (a build step's container): its exit is told before its network is down, as for --rm */
  goesAfterExit = false;
  /** pending restart of the restart policy, and its current back-off */
  restartTimer: NodeJS.Timeout | undefined;
  restartDelayMs = 0;
  pendingAttaches = new Set<PendingAttach>();
  /** resolves at the end of the current run (exit handled); replaced at each start */
  private exitSignal: Deferred<WaitResult> = deferred();
  private readonly removedSignal: Deferred<WaitResult> = deferred();

  constructor(
    public state: ContainerRecordState,
    readonly client: ContainerdClient,
    private readonly bus: EventBus,
    readonly execDir: string,
    private readonly fetchProcess: (c: Container) => Promise<OciProcess>,
  ) {}

  get id(): string {
    return this.state.Id;
  }

  get name(): string {
    return this.state.Name;
  }

  get configUser(): string {
    return this.state.Config.User;
  }

  static execDirFor(execRoot: string, id: string): string {
    return join(execRoot, 'containers', id);
  }

  isRunning(): boolean {
    return this.state.State.Running;
  }

  isPaused(): boolean {
    return this.state.State.Paused;
  }

  initPid(): number {
    return this.state.State.Pid;
  }

  async processSpec(): Promise<OciProcess> {
    if (this.initProcess === undefined) this.initProcess = await this.fetchProcess(this);
    return this.initProcess;
  }

  stateName(): StateName {
    const s = this.state.State;
    if (s.Restarting) return 'restarting';
    if (s.Running) return s.Paused ? 'paused' : 'running';
    if (this.removing) return 'removing';
    if (s.Dead) return 'dead';
    if (s.StartedAt === '0001-01-01T00:00:00Z') return 'created';
    return 'exited';
  }

  /** Publishes a container event with name, image and labels, as dockerd does. */
  publish(action: string, attributes: Record<string, string> = {}): void {
    this.bus.publish('container', action, this.id, {
      ...this.state.Config.Labels,
      image: this.state.Config.Image,
      name: this.state.Name,
      ...attributes,
    });
  }

  /** Resolves at the end of the current (or next, when not running) run. */
  nextExit(): Promise<WaitResult> {
    return this.exitSignal.promise;
  }

  whenRemoved(): Promise<WaitResult> {
    return this.removedSignal.promise;
  }

  signalExit(result: WaitResult): void {
    const current = this.exitSignal;
    this.exitSignal = deferred();
    current.resolve(result);
  }

  signalRemoved(): void {
    this.removedSignal.resolve(this.waitResult());
    // Anyone still waiting for an exit learns of the removal too.
    this.exitSignal.resolve(this.waitResult());
  }

  /** dockerd reports no wait error for a process that ran or failed to start; the CLI would print it twice. */
  waitResult(): WaitResult {
    return { StatusCode: this.state.State.ExitCode, Error: null };
  }
}
