// A probe as an exec through the exec service: output collected (capped),
// the process killed when it overruns its timeout.
import { Writable } from 'node:stream';
import type { HijackedConnection } from '../io/index.js';
import type { ExecService, ExecTarget } from '../exec/index.js';
import { MAX_OUTPUT_BYTES } from './config.js';
import type { ProbeResult, ProbeRunner } from './monitor.js';

const SIGKILL = 9;

function collector(): { conn: HijackedConnection; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const closers: Array<() => void> = [];
  let closed = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (size < MAX_OUTPUT_BYTES) {
        chunks.push(chunk.subarray(0, MAX_OUTPUT_BYTES - size));
        size += Math.min(chunk.length, MAX_OUTPUT_BYTES - size);
      }
      cb();
    },
  });
  const conn: HijackedConnection = {
    input: null,
    output,
    upgraded: true,
    close() {
      if (closed) return;
      closed = true;
      output.end();
      for (const cb of closers) cb();
    },
    onClose(cb) {
      closers.push(cb);
    },
  };
  return { conn, text: () => Buffer.concat(chunks).toString('utf8') };
}

export function execProbeRunner(execs: ExecService, targetOf: (id: string) => ExecTarget): ProbeRunner {
  return async (containerId, cmd, timeoutMs): Promise<ProbeResult> => {
    const target = targetOf(containerId);
    const { Id } = await execs.create(target, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const out = collector();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void target.client.tasks.kill(target.id, SIGKILL, { execId: Id }).catch(() => undefined);
    }, timeoutMs);
    try {
      // Tty in the start options only means raw (unframed) output here.
      await execs.start(Id, { Tty: true }, out.conn);
    } finally {
      clearTimeout(timer);
    }
    return { exitCode: execs.inspect(Id).ExitCode ?? -1, output: out.text(), timedOut };
  };
}
