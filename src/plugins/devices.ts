// Host devices named by a plugin's settings, looked up for its spec.
import { statSync } from 'node:fs';
import { invalidParameter } from '../errors/index.js';
import type { OciDevice } from '../oci/index.js';
import type { PluginObject } from './types.js';

/** Linux dev_t → major/minor (glibc's encoding). */
function split(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

export function resolveDevice(path: string): OciDevice {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw invalidParameter(`device ${path}: ${(err as Error).message}`);
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (type === undefined) throw invalidParameter(`device ${path} is not a character or block device`);
  const { major, minor } = split(st.rdev);
  return { path, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** Every device the plugin's settings name (entries without a path are skipped: nothing was set). */
export function pluginDevices(plugin: PluginObject): OciDevice[] {
  return plugin.Settings.Devices.filter((d) => d.Path !== null && d.Path !== '').map((d) => resolveDevice(d.Path ?? ''));
}
