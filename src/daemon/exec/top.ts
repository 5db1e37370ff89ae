// `docker top`: the container's pids from containerd, described by the host's
// ps (default `-ef`), keeping the rows whose PID is one of them — as dockerd.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { conflict, internal, invalidParameter } from '../../errors/index.js';
import type { ExecTarget, TopResult } from './types.js';

const execFileAsync = promisify(execFile);
const PS_OUTPUT_LIMIT = 16 * 1024 * 1024;

export type TopTarget = Pick<ExecTarget, 'id' | 'client' | 'isRunning' | 'publish'>;

/** Refuse `-o user=PID`-style renames that would hide which column holds the pid. */
export function validatePsArgs(psArgs: string): void {
  const re = /\s+([^\s]*)=\s*(PID[^\s]*)/g;
  for (const m of psArgs.matchAll(re)) {
    if (m[1] !== 'pid') throw invalidParameter(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

const fieldsAscii = (line: string): string[] => line.split(/[\t\n\f\r ]+/).filter((f) => f !== '');

/** Parse ps output, keeping processes in `pids` (and thread rows, PID "-", that follow one). */
export function parsePsOutput(output: string, pids: number[]): TopResult {
  const lines = output.split('\n');
  const titles = fieldsAscii(lines[0] ?? '');
  const pidIndex = titles.indexOf('PID');
  if (pidIndex === -1) throw internal("Couldn't find PID field in ps output: pass ps options that print a PID column");
  const wanted = new Set(pids);
  const processes: string[][] = [];
  const add = (fields: string[]): void => {
    // The last column (the command) keeps its spaces.
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  };
  let previousKept = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const fields = fieldsAscii(line);
    const pidField = fields[pidIndex];
    if (pidField === '-') {
      if (previousKept) add(fields);
      continue;
    }
    const pid = Number(pidField);
    if (!Number.isInteger(pid)) throw internal(`Unexpected pid '${String(pidField)}' in ps output`);
    previousKept = wanted.has(pid);
    if (previousKept) add(fields);
  }
  return { Titles: titles, Processes: processes };
}

export async function top(target: TopTarget, psArgs = ''): Promise<TopResult> {
  const argsText = psArgs === '' ? '-ef' : psArgs;
  validatePsArgs(argsText);
  if (!target.isRunning()) throw conflict(`container ${target.id} is not running`);
  const pids = await target.client.tasks.listPids(target.id);
  const args = argsText.split(' ');
  let output: string;
  try {
    // -q limits ps to the container's pids; some options (e.g. f) refuse it, so retry without.
    output = (await execFileAsync('ps', [...args, `-q${pids.join(',')}`], { maxBuffer: PS_OUTPUT_LIMIT })).stdout;
  } catch {
    try {
      output = (await execFileAsync('ps', args, { maxBuffer: PS_OUTPUT_LIMIT })).stdout;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      const first = stderr.split('\n')[0] ?? '';
      throw internal(`ps: ${first !== '' ? first : (err as Error).message}`, err);
    }
  }
  const result = parsePsOutput(output, pids);
  target.publish('top', {});
  return result;
}
