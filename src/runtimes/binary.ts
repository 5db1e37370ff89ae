// Where a runtime's binary is, looked up the way exec would (PATH for bare names).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface BinaryStatus {
  /** absolute path found, when found */
  path?: string;
  /** why it cannot be run, in errno words: `no such file or directory`, `permission denied`, `is a directory` */
  problem?: string;
}

function checkFile(path: string): string | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return 'no such file or directory';
  if (st.isDirectory()) return 'is a directory';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return 'permission denied';
  }
  return undefined;
}

/** Absolute paths are checked as they are; bare names are searched in PATH. */
export function findBinary(name: string, envPath: string = process.env.PATH ?? ''): BinaryStatus {
  if (name.startsWith('/')) {
    const problem = checkFile(name);
    return problem === undefined ? { path: name } : { problem };
  }
  for (const dir of envPath.split(delimiter)) {
    if (dir === '' || !dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    if (checkFile(candidate) === undefined) return { path: candidate };
  }
  return { problem: 'no such file or directory' };
}
