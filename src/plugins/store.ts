// Plugins on disk: <data-root>/plugins/<id>/{plugin.json, config.json, rootfs/}.
// plugin.json is replaced atomically (write, fsync, rename), so a crash leaves
// either the old or the new state.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomicfile/index.js';
import type { Logger } from '../log/index.js';
import { isFullPluginId } from './name.js';
import type { PluginObject } from './types.js';

const STATE_FILE = 'plugin.json';
const TEMP_PREFIX = '.tmp-';
const REMOVING_SUFFIX = '-removing';

export class PluginStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  rootfs(id: string): string {
    return join(this.root, id, 'rootfs');
  }

  propagatedMountDir(id: string): string {
    return join(this.root, id, 'propagated-mount');
  }

  logPath(id: string): string {
    return join(this.root, id, 'plugin.log');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  /** Every stored plugin; leftovers of interrupted creates and removes are cleared. */
  async loadAll(logger: Logger): Promise<PluginObject[]> {
    const out: PluginObject[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(this.root, entry.name);
      if (entry.name.startsWith(TEMP_PREFIX) || entry.name.endsWith(REMOVING_SUFFIX)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (!isFullPluginId(entry.name)) continue;
      try {
        const p = JSON.parse(await readFile(join(path, STATE_FILE), 'utf8')) as PluginObject;
        if (p.Id !== entry.name) throw new Error(`its Id ${p.Id} does not match the directory`);
        out.push(p);
      } catch (err) {
        logger.error({ err, dir: path }, 'skipping a plugin whose state cannot be read: remove the directory or fix plugin.json');
      }
    }
    return out;
  }

  async save(p: PluginObject): Promise<void> {
    await writeFileAtomic(join(this.dir(p.Id), STATE_FILE), `${JSON.stringify(p, null, 2)}\n`);
  }

  /** A fresh directory to unpack a new plugin into; becomes <id>/ by commit(). */
  async newStaging(): Promise<string> {
    const dir = join(this.root, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Writes config.json and plugin.json into the staging dir, then moves it into place. */
  async commit(staging: string, p: PluginObject, configJson: Buffer): Promise<void> {
    await writeFileAtomic(join(staging, 'config.json'), configJson);
    await writeFileAtomic(join(staging, STATE_FILE), `${JSON.stringify(p, null, 2)}\n`);
    await rename(staging, this.dir(p.Id));
  }

  async discard(staging: string): Promise<void> {
    await rm(staging, { recursive: true, force: true });
  }

  /** Renames first so that a crash half-way never leaves a half-removed plugin that would load. */
  async remove(id: string): Promise<void> {
    const removing = `${this.dir(id)}${REMOVING_SUFFIX}`;
    await rm(removing, { recursive: true, force: true });
    try {
      await rename(this.dir(id), removing);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await rm(removing, { recursive: true, force: true });
  }
}
