// Resolving `docker exec -u` (user, uid, user:group, uid:gid) against the
// container's own /etc/passwd and /etc/group, with runc's rules: a numeric id
// not in the files is used as is; a name must exist; supplementary groups come
// from /etc/group when the user was found and no group was given.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter } from '../../errors/index.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^\d+$/;

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, uid, gid });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, gid, members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return out;
}

/** Resolve a user spec against passwd/group file contents. */
export function resolveUserSpec(spec: string, passwdText: string, groupText: string): ResolvedUser {
  const colon = spec.indexOf(':');
  const userPart = colon === -1 ? spec : spec.slice(0, colon);
  const groupPart = colon === -1 ? '' : spec.slice(colon + 1);

  let uid = 0;
  let gid = 0;
  let matched: PasswdEntry | undefined;
  if (userPart !== '') {
    const passwd = parsePasswd(passwdText);
    const num = NUMERIC.test(userPart) ? Number(userPart) : undefined;
    matched = passwd.find((p) => p.name === userPart || (num !== undefined && p.uid === num));
    if (matched !== undefined) {
      uid = matched.uid;
      gid = matched.gid;
    } else if (num !== undefined) {
      uid = num;
    } else {
      throw invalidParameter(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  }

  const additionalGids: number[] = [];
  if (groupPart !== '') {
    const groups = parseGroup(groupText);
    const num = NUMERIC.test(groupPart) ? Number(groupPart) : undefined;
    const g = groups.find((e) => e.name === groupPart || (num !== undefined && e.gid === num));
    if (g !== undefined) gid = g.gid;
    else if (num !== undefined) gid = num;
    else throw invalidParameter(`unable to find group ${groupPart}: no matching entries in group file`);
  } else if (matched !== undefined) {
    for (const g of parseGroup(groupText)) {
      if (g.members.includes(matched.name) && !additionalGids.includes(g.gid)) additionalGids.push(g.gid);
    }
  }
  return { uid, gid, additionalGids };
}

/** Resolve a user spec inside a running container, through /proc/<pid>/root. */
export async function resolveContainerUser(spec: string, initPid: number): Promise<ResolvedUser> {
  const root = `/proc/${initPid}/root`;
  const read = (p: string): Promise<string> => readFile(join(root, p), 'utf8').catch(() => '');
  const [passwd, group] = await Promise.all([read('etc/passwd'), read('etc/group')]);
  return resolveUserSpec(spec, passwd, group);
}
