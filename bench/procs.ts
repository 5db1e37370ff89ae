// Process bookkeeping for the benchmark: everything it starts is stopped by
// PID (with its descendants), its roots unmounted and removed — on success,
// on failure and on Ctrl-C.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ChildProcess } from 'node:child_process';
import { killTree } from '../test/helpers/procs.js';

export { descendantsOf, isAlive, killPid, killTree, pidsMentioning, waitGone } from '../test/helpers/procs.js';

/** Resident set size of one process in KiB (VmRSS), or undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** rmdir of `/sys/fs/cgroup/<controller>/<name>` (cgroup v1 and v2) when empty; anything in use stays. */
export function removeEmptyCgroups(names: readonly string[]): void {
  const base = '/sys/fs/cgroup';
  const dirs = existsSync(join(base, 'cgroup.controllers')) ? [base] : readdirSync(base).map((c) => join(base, c));
  for (const dir of dirs) {
    for (const name of names) {
      try {
        rmdirSync(join(dir, name));
      } catch {
        /* absent or still in use */
      }
    }
  }
}

type Step = { name: string; run: () => Promise<void> | void };

/**
 * Clean-up steps run last-registered-first, once, whatever ended the run:
 * normal completion, an exception, SIGINT/SIGTERM. A last synchronous pass
 * at process exit SIGKILLs the registered PIDs should the async steps not
 * have finished.
 */
export class Reaper {
  readonly #steps: Step[] = [];
  readonly #pids = new Set<number>();
  #running: Promise<void> | undefined;
  #signals = 0;

  constructor() {
    const onSignal = (sig: NodeJS.Signals): void => {
      this.#signals++;
      if (this.#signals > 1) {
        // A second Ctrl-C: no more waiting.
        this.#killRegistered();
        process.exit(130);
      }
      process.stderr.write(`\n${sig}: stopping everything the benchmark started…\n`);
      void this.run().finally(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('exit', () => this.#killRegistered());
  }

  /** A PID to SIGKILL (with its descendants) at exit if nothing stopped it before. */
  trackPid(pid: number): void {
    this.#pids.add(pid);
  }

  untrackPid(pid: number): void {
    this.#pids.delete(pid);
  }

  /** Set once a signal asked to stop: the run must not go on (nor report) on daemons being torn down. */
  get aborted(): boolean {
    return this.#signals > 0;
  }

  add(name: string, run: () => Promise<void> | void): void {
    this.#steps.push({ name, run });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#steps.length > 0) {
        const step = this.#steps.pop()!;
        try {
          await step.run();
        } catch (err) {
          process.stderr.write(`clean-up step "${step.name}" failed: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    })();
    return this.#running;
  }

  #killRegistered(): void {
    for (const pid of this.#pids) killTree(pid);
  }
}
