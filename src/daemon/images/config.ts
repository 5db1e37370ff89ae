// Image configs: building one for `docker import`, validating loaded ones,
// and platforms (the host's, parsing `os/arch/variant`, matching).
import { invalidParameter } from '../../errors/index.js';
import { dockerArch } from '../../oci/index.js';
import { applyChanges } from './changes.js';
import { isSha256Digest } from './digest.js';
import type { ImageConfig, OciImage, Platform } from './types.js';

const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386', armhf: 'arm', armel: 'arm' };

export function hostPlatform(): Platform {
  const architecture = dockerArch();
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') p.variant = 'v7';
  return p;
}

/** `linux`, `linux/amd64`, `linux/arm/v7` (empty parts take the host's). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]*$/.test(p))) {
    throw invalidParameter(`invalid platform ${JSON.stringify(s)}: use os[/arch[/variant]], e.g. linux/amd64`);
  }
  const host = hostPlatform();
  const os = parts[0] || host.os;
  if (os !== 'linux') throw invalidParameter(`unsupported platform ${JSON.stringify(s)}: berth runs linux images only`);
  const arch = parts[1] ? (ARCH_ALIASES[parts[1]] ?? parts[1]) : host.architecture;
  const p: Platform = { os, architecture: arch };
  const variant = parts[2] || (parts[1] ? undefined : host.variant);
  if (variant) p.variant = variant;
  return p;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether content for `have` runs on `want` (variant checked only when both name one). */
export function platformMatches(want: Platform, have: Partial<Platform> | undefined): boolean {
  if (!have || !have.os || !have.architecture) return false;
  const arch = ARCH_ALIASES[have.architecture] ?? have.architecture;
  if (have.os !== want.os || arch !== want.architecture) return false;
  return !want.variant || !have.variant || have.variant === want.variant;
}

export interface ImportConfigInput {
  diffId: string;
  changes: readonly string[];
  /** the commit message; default "Imported from <source>" */
  message?: string;
  source?: string;
  platform: Platform;
  created: Date;
}

/** The config of an imported rootfs: one layer, changes applied, one history entry. */
export function buildImportConfig(input: ImportConfigInput): OciImage {
  const created = input.created.toISOString();
  const config: ImageConfig = applyChanges({}, input.changes);
  const comment = input.message || `Imported from ${input.source ?? '-'}`;
  const image: OciImage = {
    architecture: input.platform.architecture,
    os: input.platform.os,
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [input.diffId] },
    history: [{ created, created_by: 'berth import', comment }],
    comment,
  };
  if (input.platform.variant) image.variant = input.platform.variant;
  return image;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parses and checks an image config blob; `where` names it in errors. */
export function parseImageConfig(data: Buffer, where: string): OciImage {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw invalidParameter(`invalid image config ${where}: ${(err as Error).message}`);
  }
  if (!isObject(v)) throw invalidParameter(`invalid image config ${where}: not a JSON object`);
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || !isStringArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isSha256Digest)) {
    throw invalidParameter(`invalid image config ${where}: rootfs.diff_ids must list sha256 digests`);
  }
  if (typeof v.os !== 'string' || typeof v.architecture !== 'string') {
    throw invalidParameter(`invalid image config ${where}: os and architecture are required`);
  }
  if (v.config !== undefined && v.config !== null && !isObject(v.config)) {
    throw invalidParameter(`invalid image config ${where}: config must be an object`);
  }
  return v as unknown as OciImage;
}
