// `--user` resolution against the container's own /etc/passwd and
// /etc/group: uid, uid:gid, name, name:group, with dockerd's messages.
import { invalidParameter } from '../../errors/index.js';

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** home directory from passwd, when found */
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;
const isId = (s: string): boolean => /^\d+$/.test(s) && Number(s) <= MAX_ID;

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text)
    .filter((f) => f.length >= 4 && isId(f[2] ?? '') && isId(f[3] ?? ''))
    .map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text)
    .filter((f) => f.length >= 3 && isId(f[2] ?? ''))
    .map((f) => ({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

export interface UserFiles {
  /** contents of /etc/passwd, or undefined when the image has none */
  passwd?: string;
  group?: string;
}

/**
 * Resolves `spec` (`""`, `uid`, `uid:gid`, `name`, `name:group`, plus extra
 * groups from GroupAdd). A name that is not in the image's files is an error.
 */
export function resolveUser(spec: string, files: UserFiles, groupAdd: readonly string[] = []): ProcessUser {
  const [userPart = '', groupPart] = spec.split(':', 2) as [string?, string?];
  const passwd = files.passwd === undefined ? [] : parsePasswd(files.passwd);
  const groups = files.group === undefined ? [] : parseGroup(files.group);

  const wantUser = userPart === '' ? 'root' : userPart;
  let entry = isId(wantUser)
    ? passwd.find((p) => p.uid === Number(wantUser))
    : passwd.find((p) => p.name === wantUser);
  if (entry === undefined && !isId(wantUser)) {
    if (wantUser !== 'root') {
      throw invalidParameter(`unable to find user ${wantUser}: no matching entries in passwd file`);
    }
    entry = { name: 'root', uid: 0, gid: 0, home: '/root' };
  }
  const uid = entry?.uid ?? Number(wantUser);
  let gid = entry?.gid ?? 0;
  let explicitGroup = false;
  if (groupPart !== undefined && groupPart !== '') {
    gid = lookupGroup(groupPart, groups);
    explicitGroup = true;
  }
  // As dockerd: the user's memberships plus its primary group, or just the
  // group named explicitly; then the extra groups.
  const extra: number[] = [];
  if (entry !== undefined && !explicitGroup) {
    for (const g of groups) if (g.members.includes(entry.name)) extra.push(g.gid);
  }
  extra.push(gid);
  for (const g of groupAdd) extra.push(lookupGroup(g, groups));
  const additionalGids = [...new Set(extra)];
  const user: ProcessUser = { uid, gid, additionalGids };
  if (entry?.home) user.home = entry.home;
  return user;
}

function lookupGroup(name: string, groups: readonly GroupEntry[]): number {
  if (isId(name)) return Number(name);
  const g = groups.find((e) => e.name === name);
  if (g === undefined) throw invalidParameter(`unable to find group ${name}: no matching entries in group file`);
  return g.gid;
}
