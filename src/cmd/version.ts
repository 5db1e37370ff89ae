// berth's own version (package.json) and the versions of the parts it drives.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'berth') return dir;
    } catch {
      /* keep walking up */
    }
    dir = dirname(dir);
  }
  return dir;
}

export const BERTH_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

function firstLine(binary: string, args: string[]): string {
  try {
    return execFileSync(binary, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch {
    return 'not found';
  }
}

/** `berthd --version`: berthd, containerd and runc. */
export function versionReport(): string {
  return [`berthd ${BERTH_VERSION}`, `containerd: ${firstLine('containerd', ['--version'])}`, `runc: ${firstLine('runc', ['--version'])}`].join('\n');
}
