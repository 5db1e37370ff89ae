// Mount planning, pure: `-v` specs, HostConfig.Mounts, --tmpfs, --volumes-from
// and the image's VOLUMEs become one list of mount points, with dockerd's
// error texts (scripts grep for them); the mount points become OCI mounts and
// inspect entries. No I/O: existence of sources and volumes is checked later.
import { posix } from 'node:path';
import { invalidParameter } from '../errors/index.js';
import type { OciMount } from '../oci/index.js';
import { LOCAL_DRIVER, type MountPoint, type MountType, type MountView } from './types.js';

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const DEFAULT_PROPAGATION = 'rprivate';
const CONSISTENCIES = new Set(['consistent', 'cached', 'delegated']);

const invalidSpec = (raw: string): string => `invalid volume specification: '${raw}'`;
const invalidMode = (mode: string): Error => invalidParameter(`invalid mode: ${mode}`);
const mountConfigError = (type: string, msg: string): Error => invalidParameter(`invalid mount config for type ${JSON.stringify(type)}: ${msg}`);

type ModeClass = 'rw' | 'label' | 'propagation' | 'copy' | 'consistency';

function modeClass(opt: string): ModeClass | undefined {
  if (opt === 'ro' || opt === 'rw') return 'rw';
  if (opt === 'z' || opt === 'Z') return 'label';
  if (PROPAGATIONS.has(opt)) return 'propagation';
  if (opt === 'nocopy') return 'copy';
  if (CONSISTENCIES.has(opt)) return 'consistency';
  return undefined;
}

/** dockerd's rule: a comma list with at most one option of each class. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const seen = new Set<ModeClass>();
  for (const opt of mode.split(',')) {
    const cls = modeClass(opt);
    if (cls === undefined || seen.has(cls)) return false;
    seen.add(cls);
  }
  return true;
}

const modeOpts = (mode: string): string[] => (mode === '' ? [] : mode.split(','));

function checkTarget(target: string): string | undefined {
  if (target === '') return 'field Target must not be empty';
  if (posix.normalize(target.replace(/\\/g, '/')).replace(/(.)\/+$/, '$1') === '/') return "invalid specification: destination can't be '/'";
  if (!target.startsWith('/')) return `invalid mount path: '${target}' mount path must be absolute`;
  return undefined;
}

/** Path as dockerd cleans it (path.Clean). */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** One `-v` / Binds entry: `dst`, `src:dst` or `src:dst:mode`. */
export function parseBindSpec(raw: string): MountPoint {
  const parts = raw.split(':');
  // SplitN(raw, ":", 4): a fourth part keeps the rest and is an error anyway.
  if (parts[0] === '' || parts.length > 3) throw invalidParameter(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) {
    target = parts[0] as string;
  } else if (parts.length === 2) {
    // `/foo:rw` is a destination with a mode and no source: refused.
    if (validMountMode(parts[1] as string)) throw invalidParameter(invalidSpec(raw));
    [source, target] = parts as [string, string];
  } else {
    [source, target, mode] = parts as [string, string, string];
  }
  if (!validMountMode(mode)) throw invalidMode(mode);
  const type: MountType = source.startsWith('/') ? 'bind' : 'volume';
  const problem = checkTarget(target);
  if (problem !== undefined) throw invalidParameter(`${invalidSpec(raw)}: invalid mount config for type ${JSON.stringify(type)}: ${problem}`);
  const opts = modeOpts(mode);
  const rw = !opts.includes('ro');
  const propagation = opts.find((o) => PROPAGATIONS.has(o));
  const base = { Destination: cleanPath(target), RW: rw, Mode: mode, Anonymous: false };
  if (type === 'bind') {
    return { ...base, Type: 'bind', Name: '', Source: cleanPath(source), Driver: '', Propagation: propagation ?? DEFAULT_PROPAGATION, CopyData: false, CreateSource: true };
  }
  // dockerd shows a named volume's empty mode as "z".
  return {
    ...base,
    Type: 'volume',
    Name: source,
    Source: '',
    Driver: LOCAL_DRIVER,
    Mode: mode === '' ? 'z' : mode,
    Propagation: '',
    CopyData: !opts.includes('nocopy'),
    Anonymous: source === '',
  };
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  const o = obj(v);
  if (o === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) out[k] = String(val);
  return out;
}

/** size suffix as dockerd writes tmpfs data: the largest unit that divides evenly. */
export function tmpfsSize(bytes: number): string {
  for (const [suffix, div] of [['g', 1 << 30], ['m', 1 << 20], ['k', 1 << 10]] as const) {
    if (bytes % div === 0) return `${bytes / div}${suffix}`;
  }
  return String(bytes);
}

function tmpfsData(opts: Json | undefined, readOnly: boolean, type: string): string {
  const data: string[] = [];
  if (readOnly) data.push('ro');
  const mode = opts?.Mode;
  if (typeof mode === 'number' && mode !== 0) data.push(`mode=${(mode & 0o7777).toString(8)}`);
  const size = opts?.SizeBytes;
  if (typeof size === 'number' && size !== 0) {
    if (size < 0) throw mountConfigError(type, 'invalid tmpfs size');
    data.push(`size=${tmpfsSize(size)}`);
  }
  const extra = opts?.Options;
  if (Array.isArray(extra)) {
    for (const o of extra) {
      if (!Array.isArray(o) || o.length < 1 || o.length > 2) throw mountConfigError(type, 'invalid option array length');
      if (o[0] !== 'exec' && o[0] !== 'noexec') throw mountConfigError(type, `invalid option: ${String(o[0])}`);
      data.push(o.length === 1 ? String(o[0]) : `${String(o[0])}=${String(o[1])}`);
    }
  }
  return data.join(',');
}

/** One HostConfig.Mounts entry (`--mount`). */
export function parseMountConfig(raw: unknown): MountPoint {
  const m = obj(raw);
  if (m === undefined) throw invalidParameter('invalid mount config: each entry of HostConfig.Mounts must be an object');
  const type = typeof m.Type === 'string' ? m.Type : '';
  const source = typeof m.Source === 'string' ? m.Source : '';
  const target = typeof m.Target === 'string' ? m.Target : '';
  const readOnly = m.ReadOnly === true;
  const bindOpts = obj(m.BindOptions);
  const volOpts = obj(m.VolumeOptions);
  const tmpfsOpts = obj(m.TmpfsOptions);
  const problem = checkTarget(target);
  if (problem !== undefined) throw mountConfigError(type, problem);
  const destination = cleanPath(target);
  const base = { Destination: destination, RW: !readOnly, Anonymous: false, CopyData: false };
  switch (type) {
    case 'bind': {
      if (source === '') throw mountConfigError(type, 'field Source must not be empty');
      const propagation = typeof bindOpts?.Propagation === 'string' ? bindOpts.Propagation : '';
      if (propagation !== '' && !PROPAGATIONS.has(propagation)) throw mountConfigError(type, `invalid propagation mode: ${propagation}`);
      if (m.VolumeOptions !== undefined && m.VolumeOptions !== null) throw mountConfigError(type, 'field VolumeOptions must not be specified');
      if (!source.startsWith('/')) throw mountConfigError(type, `invalid mount path: '${source}' mount path must be absolute`);
      return {
        ...base,
        Type: 'bind',
        Name: '',
        Source: cleanPath(source),
        Driver: '',
        Mode: '',
        Propagation: propagation || DEFAULT_PROPAGATION,
        CreateSource: bindOpts?.CreateMountpoint === true,
      };
    }
    case 'volume': {
      if (m.BindOptions !== undefined && m.BindOptions !== null) throw mountConfigError(type, 'field BindOptions must not be specified');
      const anonymous = source === '';
      const subpath = typeof volOpts?.Subpath === 'string' ? volOpts.Subpath : '';
      if (subpath !== '') {
        if (anonymous) throw mountConfigError(type, 'must not set Subpath when using anonymous volumes');
        const clean = posix.normalize(subpath);
        if (clean.startsWith('/') || clean === '..' || clean.startsWith('../')) throw mountConfigError(type, 'subpath must be a relative path within the volume');
      }
      if (readOnly && anonymous) throw mountConfigError(type, 'must not set ReadOnly mode when using anonymous volumes');
      const driver = obj(volOpts?.DriverConfig);
      const driverName = typeof driver?.Name === 'string' && driver.Name !== '' ? driver.Name : LOCAL_DRIVER;
      const point: MountPoint = {
        ...base,
        Type: 'volume',
        Name: source,
        Source: '',
        Driver: driverName,
        Mode: 'z',
        Propagation: '',
        CopyData: volOpts?.NoCopy !== true,
        Anonymous: anonymous,
      };
      const driverOpts = stringRecord(driver?.Options);
      if (driverOpts !== undefined && Object.keys(driverOpts).length > 0) point.DriverOpts = driverOpts;
      const labels = stringRecord(volOpts?.Labels);
      if (labels !== undefined && Object.keys(labels).length > 0) point.Labels = labels;
      if (subpath !== '') point.Subpath = posix.normalize(subpath);
      return point;
    }
    case 'tmpfs': {
      if (m.BindOptions !== undefined && m.BindOptions !== null) throw mountConfigError(type, 'field BindOptions must not be specified');
      if (source !== '') throw mountConfigError(type, 'field Source must not be specified');
      return { ...base, Type: 'tmpfs', Name: '', Source: '', Driver: '', Mode: '', Propagation: '', Tmpfs: tmpfsData(tmpfsOpts, readOnly, type) };
    }
    default:
      throw mountConfigError(type, 'mount type unknown');
  }
}

/** `--volumes-from C[:ro|rw]`: the container reference and the mode. */
export function parseVolumesFrom(spec: string): { container: string; mode: string } {
  if (spec === '') throw invalidParameter('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const container = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode === '') return { container, mode: 'rw' };
  if (!validMountMode(mode)) throw invalidMode(mode);
  const opts = modeOpts(mode);
  // Propagation and copy modes come from the source container, never from here.
  if (opts.some((o) => PROPAGATIONS.has(o) || o === 'nocopy')) throw invalidMode(mode);
  return { container, mode };
}

/** `--tmpfs /dst[:opts]` as HostConfig.Tmpfs carries it. */
export function tmpfsPoint(destination: string, options: string): MountPoint {
  const problem = checkTarget(destination);
  if (problem !== undefined) throw invalidParameter(problem);
  const opts = options.split(',').map((o) => o.trim()).filter(Boolean);
  if (opts.some((o) => !/^[a-z_]+(=[A-Za-z0-9_.:%+-]+)?$/.test(o))) throw invalidParameter(`invalid tmpfs options '${options}' for ${destination}`);
  return {
    Type: 'tmpfs',
    Name: '',
    Source: '',
    Destination: cleanPath(destination),
    Driver: '',
    Mode: '',
    RW: !opts.includes('ro'),
    Propagation: '',
    CopyData: false,
    Anonymous: false,
    Tmpfs: opts.join(','),
  };
}

export interface PlanInput {
  binds: readonly string[] | null | undefined;
  mounts: readonly unknown[] | null | undefined;
  tmpfs: Readonly<Record<string, string>> | undefined;
  /** the mount points of each --volumes-from container, with the mode asked for */
  volumesFrom: ReadonlyArray<{ mode: string; points: readonly MountPoint[] }>;
  /** Config.Volumes after the image's were merged in (`-v /dst` lands here too) */
  configVolumes: Readonly<Record<string, unknown>> | null | undefined;
}

/**
 * dockerd's order: --volumes-from < Binds < Mounts, duplicates within Binds
 * and Mounts refused; then tmpfs; then an anonymous volume for every
 * Config.Volumes path nothing else mounts.
 */
export function planMounts(input: PlanInput): MountPoint[] {
  const byDst = new Map<string, MountPoint>();
  for (const from of input.volumesFrom) {
    const ro = modeOpts(from.mode).includes('ro');
    for (const p of from.points) {
      // dockerd's --volumes-from shares volumes and binds; tmpfs mounts are the source's own.
      if (p.Type === 'tmpfs') continue;
      const copy: MountPoint = { ...p, RW: p.RW && !ro, CopyData: false, Anonymous: false };
      delete copy.MustExist;
      byDst.set(p.Destination, copy);
    }
  }
  const explicit = new Set<string>();
  const add = (p: MountPoint): void => {
    if (explicit.has(p.Destination)) throw invalidParameter(`Duplicate mount point: ${p.Destination}`);
    explicit.add(p.Destination);
    byDst.set(p.Destination, p);
  };
  for (const raw of input.binds ?? []) add(parseBindSpec(raw));
  for (const raw of input.mounts ?? []) add(parseMountConfig(raw));
  for (const [dst, opts] of Object.entries(input.tmpfs ?? {})) add(tmpfsPoint(dst, opts));
  for (const dst of Object.keys(input.configVolumes ?? {})) {
    const problem = checkTarget(dst);
    if (problem !== undefined) throw invalidParameter(problem);
    const clean = cleanPath(dst);
    if (byDst.has(clean)) continue;
    byDst.set(clean, {
      Type: 'volume',
      Name: '',
      Source: '',
      Destination: clean,
      Driver: LOCAL_DRIVER,
      Mode: '',
      RW: true,
      Propagation: '',
      CopyData: true,
      Anonymous: true,
    });
  }
  // Parents before children so that a mount inside another one lands on top.
  return [...byDst.values()].sort((a, b) => depth(a.Destination) - depth(b.Destination));
}

const depth = (p: string): number => (p === '/' ? 0 : p.split('/').length);

/** The OCI mount of a planned (and attached) mount point. */
export function ociMount(p: MountPoint): OciMount {
  if (p.Type === 'tmpfs') {
    const data = (p.Tmpfs ?? '').split(',').filter(Boolean);
    return { destination: p.Destination, type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', ...data] };
  }
  const source = p.Subpath !== undefined ? posix.join(p.Source, p.Subpath) : p.Source;
  return { destination: p.Destination, type: 'bind', source, options: ['rbind', p.RW ? 'rw' : 'ro', p.Propagation || DEFAULT_PROPAGATION] };
}

/** Docker's inspect `Mounts` entry of a mount point. */
export function mountView(p: MountPoint): MountView {
  if (p.Type === 'volume') {
    return { Type: 'volume', Name: p.Name, Source: p.Source, Destination: p.Destination, Driver: p.Driver, Mode: p.Mode, RW: p.RW, Propagation: p.Propagation };
  }
  return { Type: p.Type, Source: p.Source, Destination: p.Destination, Mode: p.Mode, RW: p.RW, Propagation: p.Propagation };
}
