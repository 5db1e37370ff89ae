// Facts about the host for /info and /version, gathered once (they do not
// change while berthd runs) so that info stays cheap.
import { execFile } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import os from 'node:os';

export interface HostFacts {
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  ncpu: number;
  memTotal: number;
  hostname: string;
  cgroupVersion: '1' | '2';
}

function osRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line);
      if (m) out[m[1]!] = m[3]!;
    }
    return out;
  } catch {
    return {};
  }
}

export function hostFacts(): HostFacts {
  const rel = osRelease();
  return {
    kernelVersion: os.release(),
    operatingSystem: rel.PRETTY_NAME ?? 'Linux',
    osVersion: rel.VERSION_ID ?? '',
    ncpu: os.cpus().length,
    memTotal: os.totalmem(),
    hostname: os.hostname(),
    cgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
  };
}

/** `runc --version` → { version, commit }; undefined fields when runc is missing. */
export function runcVersion(binary = 'runc'): Promise<{ version: string; commit: string }> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve({ version: '', commit: '' });
      const version = /runc version (\S+)/.exec(stdout)?.[1] ?? '';
      const commit = /commit: (\S+)/.exec(stdout)?.[1] ?? '';
      resolve({ version, commit });
    });
  });
}
