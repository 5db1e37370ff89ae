// `-v /src:/dst[:opts]` bind mounts and `--tmpfs /dst[:opts]`, checked at
// create so that a bad one is a 400 and never a failed start.
import { posix } from 'node:path';
import { invalidParameter } from '../../errors/index.js';
import type { OciMount } from '../../oci/index.js';

export interface BindMount {
  mount: OciMount;
  /** Docker's inspect `Mounts` entry */
  view: { Type: 'bind'; Source: string; Destination: string; Mode: string; RW: boolean; Propagation: string };
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

export function parseBind(spec: string): BindMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) {
    throw invalidParameter(`invalid volume specification: '${spec}' (use /host/path:/container/path[:ro])`);
  }
  const [source = '', destination = '', mode = ''] = parts;
  if (!source.startsWith('/')) {
    throw invalidParameter(`invalid volume specification: '${spec}': named volumes are not supported by berth, use an absolute host path`);
  }
  if (!destination.startsWith('/')) {
    throw invalidParameter(`invalid volume specification: '${spec}': the mount destination must be an absolute path`);
  }
  let rw = true;
  let propagation = 'rprivate';
  for (const opt of mode.split(',').filter(Boolean)) {
    if (opt === 'ro') rw = false;
    else if (opt === 'rw') rw = true;
    else if (PROPAGATIONS.has(opt)) propagation = opt;
    else if (opt === 'z' || opt === 'Z' || opt === 'nocopy') continue;
    else throw invalidParameter(`invalid mode: ${opt} in volume specification '${spec}'`);
  }
  const dst = posix.normalize(destination);
  return {
    mount: { destination: dst, type: 'bind', source: posix.normalize(source), options: ['rbind', rw ? 'rw' : 'ro', propagation] },
    view: { Type: 'bind', Source: posix.normalize(source), Destination: dst, Mode: mode, RW: rw, Propagation: propagation },
  };
}

export function parseTmpfs(destination: string, options: string): OciMount {
  if (!destination.startsWith('/')) {
    throw invalidParameter(`invalid tmpfs mount '${destination}': the destination must be an absolute path`);
  }
  const opts = options.split(',').map((o) => o.trim()).filter(Boolean);
  if (opts.some((o) => !/^[a-z_]+(=[A-Za-z0-9_.:%+-]+)?$/.test(o))) {
    throw invalidParameter(`invalid tmpfs options '${options}' for ${destination}`);
  }
  const base = ['noexec', 'nosuid', 'nodev'];
  return { destination: posix.normalize(destination), type: 'tmpfs', source: 'tmpfs', options: [...base, ...opts] };
}
