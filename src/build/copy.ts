// COPY and ADD: sources from the unpacked context (or another image's
// filesystem), wildcards, directory rules, --chown, ADD's archive unpacking,
// and the content hash that keys the cache. Destination paths are resolved
// inside the target root (symlinks followed as the container would see
// them), so nothing is written outside it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chown, copyFile, lchown, lstat, lutimes, mkdir, open, readdir, readFile, readlink, rm, symlink, utimes, chmod } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { resolveUser } from '../daemon/containers/index.js';
import { globToRegExp } from '../daemon/images/index.js';
import { invalidParameter } from '../errors/index.js';

const execFileAsync = promisify(execFile);
const MAX_LINKS = 255;

/** A root-relative path with `..` that cannot climb out. */
export function cleanRel(p: string): string {
  return posix.normalize('/' + p).replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * The host path of `path` inside `root`, following symlinks the way the
 * container would (absolute targets start again at `root`). Missing
 * components are allowed: the result is where they would be created.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = cleanRel(path).split('/').filter((c) => c !== '');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    const candidate = join(root, ...done, comp);
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw invalidParameter(`too many levels of symbolic links resolving ${path}`);
      const target = await readlink(candidate);
      const parts = target.split('/').filter((c) => c !== '' && c !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...parts);
      continue;
    }
    if (comp === '..') done.pop();
    else if (comp !== '.') done.push(comp);
  }
  return join(root, ...done);
}

export interface Owner {
  uid: number;
  gid: number;
}

/** `--chown=user[:group]`, names looked up in the target image's /etc/passwd and /etc/group. */
export async function resolveChown(spec: string, root: string): Promise<Owner> {
  const [user = '', group] = spec.split(':', 2) as [string?, string?];
  if (/^\d+$/.test(user) && (group === undefined || /^\d+$/.test(group))) {
    // moby: a bare uid is also the gid.
    return { uid: Number(user), gid: Number(group ?? user) };
  }
  const read = async (p: string): Promise<string | undefined> => readFile(await resolveInRoot(root, p), 'utf8').catch(() => undefined);
  const files = { passwd: await read('/etc/passwd'), group: await read('/etc/group') };
  try {
    const u = resolveUser(group === undefined ? user : `${user}:${group}`, files);
    return { uid: u.uid, gid: u.gid };
  } catch (err) {
    throw invalidParameter(`unable to convert uid/gid chown string to host mapping: ${(err as Error).message}`);
  }
}

export interface Source {
  /** host path of the source */
  path: string;
  /** the name a file keeps at a directory destination */
  name: string;
  isDir: boolean;
  /** downloaded (ADD <url>): copied as is, never unpacked */
  fetched?: boolean;
}

const hasWildcard = (p: string): boolean => /[*?[]/.test(p);

/** Entries of `root` (relative paths) whose path matches a pattern component by component. */
async function glob(root: string, pattern: string): Promise<string[]> {
  const parts = cleanRel(pattern).split('/');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of current) {
      if (!hasWildcard(part)) {
        const p = dir === '' ? part : `${dir}/${part}`;
        if (await lstat(join(root, p)).then(() => true, () => false)) next.push(p);
        continue;
      }
      const re = globToRegExp(part);
      const names = await readdir(join(root, dir)).catch(() => [] as string[]);
      for (const n of names.sort()) if (re.test(n)) next.push(dir === '' ? n : `${dir}/${n}`);
    }
    current = next;
  }
  return current;
}

/** The sources of a COPY/ADD in `root` (the context or another image), with dockerd's errors. */
export async function findSources(root: string, patterns: readonly string[], keyword: string, followRoot = false): Promise<Source[]> {
  const out: Source[] = [];
  for (const pattern of patterns) {
    if (/^[a-z]+:\/\//i.test(pattern)) throw invalidParameter(`source can't be a URL for ${keyword}`);
    const matches = hasWildcard(pattern) ? await glob(root, pattern) : [cleanRel(pattern)];
    if (matches.length === 0 && hasWildcard(pattern)) continue;
    for (const rel of matches) {
      const path = followRoot ? await resolveInRoot(root, rel) : join(root, rel);
      const st = await lstat(path).catch(() => undefined);
      if (st === undefined) {
        throw invalidParameter(`${keyword} failed: file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`);
      }
      out.push({ path, name: rel === '' ? '' : basename(rel), isDir: st.isDirectory() });
    }
  }
  if (out.length === 0) throw invalidParameter(`${keyword} failed: no source files were specified`);
  return out;
}

/** A hash of names, modes, link targets and contents (not times): `file:…`, `dir:…` or `multi:…` as in moby's history. */
export async function hashSources(sources: readonly Source[], known: ReadonlyMap<string, string> = new Map()): Promise<string> {
  const h = createHash('sha256');
  const walk = async (path: string, rel: string): Promise<void> => {
    const st = await lstat(path);
    h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0`);
    if (st.isSymbolicLink()) h.update(await readlink(path));
    else if (st.isDirectory()) {
      for (const n of (await readdir(path)).sort()) await walk(join(path, n), `${rel}/${n}`);
    } else if (st.isFile()) {
      const digest = known.get(path);
      if (digest !== undefined) h.update(digest);
      else h.update(await fileDigest(path));
    }
    h.update('\n');
  };
  for (const s of sources) await walk(s.path, s.name);
  const kind = sources.length > 1 ? 'multi' : sources[0]!.isDir ? 'dir' : 'file';
  return `${kind}:${h.digest('hex')}`;
}

async function fileDigest(path: string): Promise<string> {
  const f = createHash('sha256');
  for await (const chunk of createReadStream(path)) f.update(chunk as Buffer);
  return 'sha256:' + f.digest('hex');
}

interface CopyOptions {
  owner?: Owner;
  /** ADD: local archives are unpacked */
  unpack: boolean;
}

async function makeDirs(root: string, rel: string, owner: Owner | undefined): Promise<string> {
  const path = await resolveInRoot(root, rel);
  const st = await lstat(path).catch(() => undefined);
  if (st?.isDirectory()) return path;
  if (st !== undefined) throw invalidParameter(`cannot copy to non-directory: /${cleanRel(rel)}`);
  const parent = posix.dirname('/' + cleanRel(rel));
  if (parent !== '/') await makeDirs(root, parent, owner);
  await mkdir(path, { mode: 0o755 });
  if (owner) await chown(path, owner.uid, owner.gid);
  return path;
}

/** Removes whatever is at `path` unless it is a directory (a symlink is never followed). */
async function clearFor(path: string, dir: boolean): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (dir && st.isDirectory()) return;
  await rm(path, { recursive: true, force: true });
}

async function copyEntry(src: string, dst: string, owner: Owner | undefined): Promise<void> {
  const st = await lstat(src);
  if (st.isDirectory()) {
    await clearFor(dst, true);
    await mkdir(dst, { recursive: false, mode: st.mode & 0o7777 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    for (const n of await readdir(src)) await copyEntry(join(src, n), join(dst, n), owner);
    await chmod(dst, st.mode & 0o7777);
    await chown(dst, owner?.uid ?? st.uid, owner?.gid ?? st.gid);
    await utimes(dst, st.atime, st.mtime);
    return;
  }
  await clearFor(dst, false);
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dst);
    await lchown(dst, owner?.uid ?? st.uid, owner?.gid ?? st.gid);
    await lutimes(dst, st.atime, st.mtime).catch(() => undefined);
    return;
  }
  if (!st.isFile()) return;
  await copyFile(src, dst);
  await chmod(dst, st.mode & 0o7777);
  await chown(dst, owner?.uid ?? st.uid, owner?.gid ?? st.gid);
  await utimes(dst, st.atime, st.mtime);
}

/** Whether a file is a tar archive (plain, gzip, bzip2 or xz) that ADD unpacks. */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
    if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') return true;
    if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return b.length >= 263 && b.toString('latin1', 257, 262) === 'ustar';
  } finally {
    await fh.close();
  }
}

/**
 * Copies the sources to `dest` (absolute, inside `root`) with the
 * Dockerfile's rules: several sources or a trailing slash make `dest` a
 * directory, a directory source copies its contents.
 */
export async function copySources(root: string, sources: readonly Source[], dest: string, opts: CopyOptions, keyword: string): Promise<void> {
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  if (sources.length > 1 && !dest.endsWith('/')) {
    throw invalidParameter(`When using ${keyword} with more than one source file, the destination must be a directory and end with a /`);
  }
  for (const s of sources) {
    if (s.isDir) {
      const dir = await makeDirs(root, dest, opts.owner);
      for (const n of await readdir(s.path)) await copyEntry(join(s.path, n), join(dir, n), opts.owner);
      continue;
    }
    if (opts.unpack && !s.fetched && (await isArchive(s.path))) {
      const dir = await makeDirs(root, dest, opts.owner);
      // GNU tar recognises gzip, bzip2 and xz itself; it keeps owners as root does.
      const args = ['-x', '-f', s.path, '-C', dir, '--no-same-permissions'];
      await execFileAsync('tar', args).catch((err: Error) => {
        throw invalidParameter(`${keyword} failed: could not unpack ${s.name}: ${err.message}`);
      });
      continue;
    }
    let target: string;
    const st = await lstat(await resolveInRoot(root, dest)).catch(() => undefined);
    if (destIsDir || st?.isDirectory()) target = join(await makeDirs(root, dest, opts.owner), s.name);
    else {
      const parent = posix.dirname('/' + cleanRel(dest));
      const dir = parent === '/' ? root : await makeDirs(root, parent, opts.owner);
      target = join(dir, posix.basename(cleanRel(dest)));
    }
    await copyEntry(s.path, target, opts.owner);
  }
}
