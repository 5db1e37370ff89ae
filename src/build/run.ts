// RUN: the command runs in a container made through berth's own container
// service (runtime resolution, network mode, process I/O), its output
// streamed into the build's answer as it comes.
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import { FrameDecoder } from '../stdcopy/index.js';
import type { Ulimit } from './options.js';
import type { BuildOutput } from './output.js';
import type { BuildContainers } from './types.js';

export interface RunSpec {
  image: string;
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  networkMode: string;
  extraHosts: string[];
  /** HostConfig resource fields (memory, CPU, shm size, cgroup parent) */
  resources: Record<string, number | string>;
  ulimits: Ulimit[];
}

/** The connection type the container service's attach takes. */
type AttachConnection = Parameters<BuildContainers['attach']>[1];

export interface RunResult {
  id: string;
  exitCode: number;
}

/** A connection that turns the attach stream's frames into build output lines. */
function outputConnection(out: BuildOutput): AttachConnection {
  const frames = new FrameDecoder();
  const decoders = new Map<number, StringDecoder>();
  const closers: Array<() => void> = [];
  const text = (stream: number, payload: Buffer): string => {
    let d = decoders.get(stream);
    if (!d) decoders.set(stream, (d = new StringDecoder('utf8')));
    return d.write(payload);
  };
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      let keepUp = true;
      for (const f of frames.push(chunk)) keepUp = out.stream(text(f.stream, f.payload)) && keepUp;
      // A slow client slows the command's output down instead of filling memory.
      if (keepUp) cb();
      else void out.drained().then(() => cb());
    },
    final(cb) {
      for (const d of decoders.values()) out.stream(d.end());
      cb();
    },
  });
  return {
    input: null,
    output,
    upgraded: false,
    close: () => {
      output.end();
      for (const c of closers.splice(0)) c();
    },
    onClose: (cb) => closers.push(cb),
  };
}

/**
 * Creates and runs the step's container (named to `created` at once); the
 * caller commits and, when `removes`, removes it: then the commit need not
 * wait for the container's network to come down.
 */
export async function runStep(containers: BuildContainers, spec: RunSpec, out: BuildOutput, signal: AbortSignal, created: (id: string) => void, removes: boolean): Promise<RunResult> {
  const { Id: id } = await containers.create({
    Image: spec.image,
    Cmd: spec.cmd,
    Entrypoint: [''],
    Env: spec.env,
    WorkingDir: spec.workdir,
    User: spec.user,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    Labels: {},
    HostConfig: {
      ...spec.resources,
      NetworkMode: spec.networkMode,
      ExtraHosts: spec.extraHosts.length ? spec.extraHosts : null,
      ...(spec.ulimits.length ? { Ulimits: spec.ulimits } : {}),
    },
  });
  created(id);
  if (removes) containers.removesAfterExit(id);
  out.stream(` ---> Running in ${id.slice(0, 12)}\n`);
  const conn = outputConnection(out);
  const attached = containers.attach(id, conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
  const exited = containers.wait(id, 'next-exit').result;
  const kill = (): void => void containers.kill(id, 'SIGKILL').catch(() => undefined);
  signal.addEventListener('abort', kill, { once: true });
  try {
    if (signal.aborted) throw new Error('the build was cancelled');
    await containers.start(id);
    // A cancel that came while the task was starting found nothing to kill.
    if (signal.aborted) kill();
    const { StatusCode } = await exited;
    await attached.catch(() => undefined);
    return { id, exitCode: StatusCode };
  } catch (err) {
    conn.close();
    throw err;
  } finally {
    signal.removeEventListener('abort', kill);
  }
}
