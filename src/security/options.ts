// --security-opt values as dockerd reads them from HostConfig.SecurityOpt.
import { invalidParameter } from '../errors/index.js';

/** `builtin` is berth's own profile whatever the daemon's default; `default` is the daemon's. */
export type SeccompChoice = { kind: 'default' } | { kind: 'builtin' } | { kind: 'unconfined' } | { kind: 'profile'; json: string };

export interface SecurityOpts {
  /** undefined: the daemon's choice */
  seccomp?: SeccompChoice;
  /** undefined: the daemon's default */
  noNewPrivileges?: boolean;
  apparmor?: string;
  labels: string[];
  writableCgroups?: boolean;
}

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

/** Throws dockerd's `invalid --security-opt` messages. */
export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOpts {
  const out: SecurityOpts = { labels: [] };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    // `key:value` is the deprecated spelling dockerd still takes.
    let at = opt.indexOf('=');
    if (at < 0) at = opt.indexOf(':');
    if (at < 0) throw invalidParameter(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const key = opt.slice(0, at);
    const value = opt.slice(at + 1);
    switch (key) {
      case 'label':
        out.labels.push(value);
        break;
      case 'apparmor':
        out.apparmor = value;
        break;
      case 'seccomp':
        out.seccomp =
          value === 'unconfined'
            ? { kind: 'unconfined' }
            : value === 'builtin'
              ? { kind: 'builtin' }
              : value === ''
                ? { kind: 'default' }
                : { kind: 'profile', json: value };
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.noNewPrivileges = b;
        break;
      }
      case 'writable-cgroups': {
        const b = parseBool(value);
        if (b === undefined) throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.writableCgroups = b;
        break;
      }
      default:
        throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}
