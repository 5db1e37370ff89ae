// What the exec service needs from a container, and the shapes it speaks.
import type { ContainerdClient } from '../../containerd/index.js';

/** The OCI runtime-spec Process object (the fields exec reads or sets; others pass through). */
export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user?: { uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string };
  args?: string[];
  env?: string[];
  cwd?: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  [field: string]: unknown;
}

/**
 * A container as exec and top see it. The containers service implements it
 * over its live container object (state queries must be current).
 */
export interface ExecTarget {
  /** full 64-hex container id (also the containerd container and task id) */
  readonly id: string;
  readonly name: string;
  /** namespace-bound containerd client */
  readonly client: ContainerdClient;
  /** directory for the FIFOs of this container's exec processes */
  readonly execDir: string;
  /** the container's configured user (Config.User), shown by exec inspect when an exec sets none */
  readonly configUser?: string;
  /** the OCI process of the container's init (from the spec it was started with) */
  processSpec(): OciProcess | Promise<OciProcess>;
  isRunning(): boolean;
  isPaused(): boolean;
  /** host pid of the container's init process (0 when not running) */
  initPid(): number;
  /** publish a container event (the implementation adds name, image and labels) */
  publish(action: string, attributes: Record<string, string>): void;
}

/** Body of POST /containers/{id}/exec (already validated). */
export interface ExecCreateConfig {
  Cmd: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
  /** [height, width] */
  ConsoleSize?: [number, number] | null;
}

/** Body of POST /exec/{id}/start. */
export interface ExecStartOptions {
  Detach?: boolean;
  /** decides the output framing (raw when true), as in dockerd */
  Tty?: boolean;
  /** [height, width] */
  ConsoleSize?: [number, number] | null;
}

/** GET /exec/{id}/json */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  /** base64 of the detach key bytes, as dockerd marshals a []byte */
  DetachKeys: string;
  Pid: number;
}

/** GET /containers/{id}/top */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}
