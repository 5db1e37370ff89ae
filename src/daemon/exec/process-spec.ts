// The OCI Process of an exec: the container's init process with the exec's
// command, environment, working directory, user, terminal and privileges.
import { capabilityLimits, kernelCapabilities } from '../../security/index.js';
import type { ResolvedUser } from './user.js';
import type { OciProcess } from './types.js';

export interface ExecProcessParams {
  cmd: string[];
  env: string[];
  tty: boolean;
  workingDir: string;
  privileged: boolean;
  /** resolved `-u`; undefined keeps the container's user */
  user?: ResolvedUser;
  consoleSize?: { height: number; width: number };
}

/**
 * Replace or append KEY=VALUE entries; an override without '=' removes the
 * key (as dockerd's ReplaceOrAppendEnvValues does).
 */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = [...base];
  const keyOf = (kv: string): string => {
    const i = kv.indexOf('=');
    return i === -1 ? kv : kv.slice(0, i);
  };
  for (const ov of overrides) {
    const key = keyOf(ov);
    const idx = out.findIndex((kv) => keyOf(kv) === key);
    if (!ov.includes('=')) {
      if (idx !== -1) out.splice(idx, 1);
      continue;
    }
    if (idx === -1) out.push(ov);
    else out[idx] = ov;
  }
  return out;
}

export function buildExecProcess(base: OciProcess, p: ExecProcessParams): OciProcess {
  // Everything else (capabilities, rlimits, noNewPrivileges, apparmor and
  // selinux labels, oomScoreAdj, umask) is inherited from the container.
  const proc: OciProcess = structuredClone(base);
  delete proc.consoleSize;
  proc.args = [...p.cmd];
  let env = [...(base.env ?? [])];
  if (p.tty && !env.some((kv) => kv.startsWith('TERM='))) env.push('TERM=xterm');
  env = mergeEnv(env, p.env);
  proc.env = env;
  proc.cwd = p.workingDir !== '' ? p.workingDir : base.cwd !== undefined && base.cwd !== '' ? base.cwd : '/';
  proc.terminal = p.tty;
  if (p.tty && p.consoleSize !== undefined && p.consoleSize.height > 0 && p.consoleSize.width > 0) {
    proc.consoleSize = { ...p.consoleSize };
  }
  if (p.user !== undefined) {
    const user: NonNullable<OciProcess['user']> = { uid: p.user.uid, gid: p.user.gid };
    if (p.user.additionalGids.length > 0) user.additionalGids = [...p.user.additionalGids];
    if (base.user?.umask !== undefined) user.umask = base.user.umask;
    proc.user = user;
  }
  if (p.privileged) {
    const limits = capabilityLimits();
    const all = kernelCapabilities(limits.lastCap, limits.bounding);
    proc.capabilities = { bounding: all, effective: [...all], permitted: [...all] };
  }
  return proc;
}
