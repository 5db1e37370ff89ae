// What an upload does to the tree below its extraction point, decided entry
// by entry before the entry reaches the program that writes it: which names
// it creates (removed again if the upload fails), which it replaces, where
// a symlink or file stands in the way of a directory, and the refusals of
// noOverwriteDirNonDir. What is on disk is asked through a probe, once per
// name the archive has not written itself. No I/O here.
import { posix } from 'node:path';
import { invalidParameter, type BerthError } from '../errors/index.js';
import { components } from './resolve.js';

/** A name as lstat saw it inside a directory held open: missing, a real directory, anything else (a symlink too). */
export type OnDisk = 'missing' | 'dir' | 'other';

/** Looks up `name` in the directory `dirKey` below the extraction point ('' is the extraction point itself), never following a symlink. */
export type Probe = (dirKey: string, name: string) => OnDisk;

export const notADirectoryInside = (destPath: string, key: string): BerthError =>
  invalidParameter(`cannot extract into ${posix.join(destPath, key)}: it is not a directory inside the container`);

export const overwriteRefused = (destPath: string, key: string, entryName: string, dirWithFile: boolean): BerthError =>
  dirWithFile
    ? invalidParameter(`cannot overwrite directory ${JSON.stringify(posix.join(destPath, key))} with non-directory ${JSON.stringify(entryName)}`)
    : invalidParameter(`cannot overwrite non-directory ${JSON.stringify(posix.join(destPath, key))} with directory ${JSON.stringify(entryName)}`);

export interface PlannedEntry {
  /** the entry's path below the extraction point */
  key: string;
  /** what stands there now and must go first: a directory replaced by a non-directory, or the reverse */
  removeFirst: OnDisk | undefined;
}

/** A tar entry name relative to the extraction point, or a 400 for absolute names and `..` escapes. */
export function entryPath(name: string, dest: string): string[] {
  if (name.startsWith('/')) throw invalidParameter(`invalid tar header name ${JSON.stringify(name)}: absolute names are refused`);
  const parts: string[] = [];
  for (const c of components(name)) {
    if (c === '..') {
      if (parts.length === 0) throw invalidParameter(`${JSON.stringify(name)} is outside of ${JSON.stringify(dest)}`);
      parts.pop();
    } else parts.push(c);
  }
  return parts;
}

export class UnpackPlan {
  /** what the archive put at each name so far (parents it implies are directories) */
  private readonly kinds = new Map<string, 'dir' | 'other'>();
  /** names that did not exist before this upload */
  private readonly made = new Set<string>();
  /** made names whose parent existed: removing these, newest last, undoes the upload */
  readonly created: string[] = [];

  constructor(
    private readonly destPath: string,
    private readonly noOverwriteDirNonDir: boolean,
    private readonly probe: Probe,
  ) {}

  /**
   * Makes sure the directory `parts` is, or will be, a real directory: each
   * missing one is made by the writer on the way. Throws when a symlink or
   * a file stands in the way.
   */
  directory(parts: readonly string[]): void {
    let parent = '';
    for (const name of parts) {
      const key = parent === '' ? name : `${parent}/${name}`;
      const kind = this.kinds.get(key);
      if (kind === 'other') throw notADirectoryInside(this.destPath, key);
      if (kind === undefined) {
        const now = this.made.has(parent) ? 'missing' : this.probe(parent, name);
        if (now === 'other') throw notADirectoryInside(this.destPath, key);
        if (now === 'missing') this.madeHere(parent, key);
        this.kinds.set(key, 'dir');
      }
      parent = key;
    }
  }

  /** Plans one entry at `parts` (not empty); `entryName` is its name in the archive, as errors quote it. */
  entry(parts: readonly string[], isDir: boolean, entryName: string): PlannedEntry {
    const parentParts = parts.slice(0, -1);
    const parent = parentParts.join('/');
    // most entries are in a directory planned already
    if (parent !== '' && this.kinds.get(parent) !== 'dir') this.directory(parentParts);
    const name = parts[parts.length - 1] as string;
    const key = parent === '' ? name : `${parent}/${name}`;
    const kind = this.kinds.get(key);
    const now: OnDisk = kind === 'dir' ? 'dir' : kind === 'other' ? 'other' : this.made.has(parent) ? 'missing' : this.probe(parent, name);
    let removeFirst: OnDisk | undefined;
    if (now === 'missing') this.madeHere(parent, key);
    else if ((now === 'dir') !== isDir) {
      if (this.noOverwriteDirNonDir) throw overwriteRefused(this.destPath, key, entryName, now === 'dir');
      removeFirst = now;
      // what the archive put below a directory that goes is gone with it
      if (now === 'dir') for (const k of [...this.kinds.keys()]) if (k.startsWith(`${key}/`)) this.kinds.delete(k);
    }
    this.kinds.set(key, isDir ? 'dir' : 'other');
    return { key, removeFirst };
  }

  private madeHere(parent: string, key: string): void {
    this.made.add(key);
    if (!this.made.has(parent)) this.created.push(key);
  }
}
