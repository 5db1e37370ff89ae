// Process bookkeeping for the benchmark: everything it starts is stopped by
// PID (with its descendants), its roots unmounted and removed — on success,
// on failure and on Ctrl-C.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ChildProcess } from 'node:child_process';
import { sleep } from '../test/helpers/berthd.js';

/** Parent PID of a process, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** Every descendant of `pid` (children first discovered, deepest last). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const parent = parentOf(p);
    if (parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(p);
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const c of children.get(next) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** PIDs whose command line mentions `text` (e.g. a root directory). */
export function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(pid);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGKILLs a process and all of its descendants (collected before the kill, which reparents them). */
export function killTree(pid: number): void {
  const tree = [pid, ...descendantsOf(pid)];
  for (const p of tree) killPid(p);
}

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

/** Waits until `pid` is gone (it may not be our child), SIGKILLing after the timeout. */
export async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && !isZombie(pid)) {
    if (Date.now() > deadline) {
      killPid(pid);
      return;
    }
    await sleep(50);
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
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
