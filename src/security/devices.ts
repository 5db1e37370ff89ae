// Devices: --device mappings, --device-cgroup-rule, and the host's devices
// for --privileged. Parsing is pure; reading /dev is at the edge (hostDevices,
// deviceFromPath).
import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { invalidParameter } from '../errors/index.js';
import type { OciDevice, OciDeviceRule } from '../oci/index.js';

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

const RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `c 1:3 rwm`, `a *:* rwm`, as --device-cgroup-rule takes them. */
export function parseDeviceCgroupRule(rule: string): OciDeviceRule {
  const m = RULE.exec(rule.trim());
  if (m === null) throw invalidParameter(`invalid device cgroup format '${rule}'`);
  const [, type = 'a', major = '*', minor = '*', access = 'rwm'] = m;
  const out: OciDeviceRule = { allow: true, type, access };
  if (major !== '*') out.major = Number(major);
  if (minor !== '*') out.minor = Number(minor);
  return out;
}

export function checkDeviceMappings(list: unknown): DeviceMapping[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidParameter('invalid HostConfig.Devices: expected a list');
  return list.map((d: unknown) => {
    const o = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>;
    const host = typeof o.PathOnHost === 'string' ? o.PathOnHost : '';
    if (host === '' || !host.startsWith('/')) throw invalidParameter(`invalid device mapping: PathOnHost ${JSON.stringify(host)} must be an absolute path`);
    const inCtr = typeof o.PathInContainer === 'string' && o.PathInContainer !== '' ? o.PathInContainer : host;
    if (!inCtr.startsWith('/')) throw invalidParameter(`invalid device mapping: PathInContainer ${JSON.stringify(inCtr)} must be an absolute path`);
    const perms = typeof o.CgroupPermissions === 'string' && o.CgroupPermissions !== '' ? o.CgroupPermissions : 'rwm';
    if (!/^[rwm]{1,3}$/.test(perms)) throw invalidParameter(`invalid device mode: ${perms}`);
    return { PathOnHost: host, PathInContainer: inCtr, CgroupPermissions: perms };
  });
}

// Linux's dev_t encoding (glibc's gnu_dev_major/minor).
const major = (rdev: number): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

function toDevice(path: string, st: Stats): OciDevice | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (type === undefined) return undefined;
  return { path, type, major: major(st.rdev), minor: minor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** Host devices under `root`, recursively; what --privileged and a directory --device pass in. */
export function hostDevices(root = '/dev', skip: ReadonlySet<string> = SKIP_DIRS): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      let st: Stats;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!skip.has(name)) walk(p);
        continue;
      }
      if (p === '/dev/console' || p === '/dev/ptmx') continue;
      const d = toDevice(p, st);
      if (d !== undefined) out.push(d);
    }
  };
  walk(root);
  return out;
}

const SKIP_DIRS: ReadonlySet<string> = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Major and minor of a host device node, for the blkio limits. */
export function deviceNumber(path: string): { major: number; minor: number } {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw invalidParameter(`invalid device ${path}: ${(err as Error).message}`);
  }
  if (!st.isBlockDevice() && !st.isCharacterDevice()) throw invalidParameter(`invalid device ${path}: not a device node`);
  return { major: major(st.rdev), minor: minor(st.rdev) };
}

/** A --device mapping as OCI devices and cgroup rules (a directory maps every device under it). */
export function mappedDevices(m: DeviceMapping): { devices: OciDevice[]; rules: OciDeviceRule[] } {
  let st: Stats;
  try {
    st = statSync(m.PathOnHost);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    throw invalidParameter(`error gathering device information while adding custom device "${m.PathOnHost}": ${reason}`);
  }
  const found: OciDevice[] = [];
  if (st.isDirectory()) {
    for (const d of hostDevices(m.PathOnHost, new Set())) found.push({ ...d, path: join(m.PathInContainer, d.path.slice(m.PathOnHost.length)) });
  } else {
    const d = toDevice(m.PathInContainer, st);
    if (d === undefined) throw invalidParameter(`error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
    found.push(d);
  }
  return {
    devices: found,
    rules: found.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: m.CgroupPermissions })),
  };
}
