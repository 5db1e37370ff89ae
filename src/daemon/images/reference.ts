// Image references with Docker's grammar and normalisation:
// `busybox` → docker.io/library/busybox:latest, familiar forms for display.
import { invalidParameter } from '../../errors/index.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_MAX = 255;

export interface Reference {
  /** registry host[:port], e.g. docker.io */
  domain: string;
  /** repository path, e.g. library/busybox */
  path: string;
  tag?: string;
  /** algorithm:hex */
  digest?: string;
}

// distribution's grammar, anchored.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;

const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const FORMAT = 'invalid reference format';

function checkDigest(digest: string): void {
  const [alg, hex] = digest.split(':') as [string, string];
  const want = DIGEST_HEX_LENGTH[alg];
  if (want === undefined) throw invalidParameter(`${FORMAT}: unsupported digest algorithm ${alg}`);
  if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) throw invalidParameter(`${FORMAT}: invalid checksum digest format`);
}

/** Strict parse of a fully qualified reference (no normalisation). */
export function parseReference(s: string): Reference {
  if (s === '') throw invalidParameter(`${FORMAT}: repository name must have at least one component`);
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (REFERENCE_RE.test(s.toLowerCase())) throw invalidParameter(`${FORMAT}: repository name must be lowercase`);
    throw invalidParameter(FORMAT);
  }
  const name = m[1]!;
  if (name.length > NAME_MAX) throw invalidParameter(`${FORMAT}: repository name must not be more than ${NAME_MAX} characters`);
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  // The grammar makes the first component a domain only when it has to be one.
  let domain = '';
  let path = name;
  if (slash >= 0 && DOMAIN_RE.test(first) && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = name.slice(slash + 1);
  }
  const ref: Reference = { domain, path };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    checkDigest(m[3]);
    ref.digest = m[3];
  }
  return ref;
}

/**
 * Docker's ParseNormalizedNamed: adds docker.io and library/ where implied.
 * Throws invalid-parameter with Docker's wording.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (HEX64_RE.test(s)) {
    throw invalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const slash = s.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash < 0 ? '' : s.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = s;
  } else {
    domain = first;
    remainder = s.slice(slash + 1);
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  // The repository part (up to a tag separator) must be lowercase.
  const colon = remainder.indexOf(':');
  const remoteName = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remoteName.toLowerCase() !== remoteName) {
    throw invalidParameter(`${FORMAT}: repository name (${remoteName}) must be lowercase`);
  }
  const ref = parseReference(`${domain}/${remainder}`);
  // parseReference infers the domain from its form; here it is already known.
  return { ...ref, domain, path: repositoryName(ref).slice(domain.length + 1) };
}

/** A reference with `latest` when it has neither tag nor digest. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** Parses, normalises and defaults the tag: the name an image record carries. */
export function normalizeName(s: string): Reference {
  return withDefaultTag(parseNormalizedNamed(s));
}

/** domain/path */
export function repositoryName(ref: Reference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

/** docker.io/library/busybox:latest (with @digest when present) */
export function fullString(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** busybox, me/app, localhost:5000/x */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN && ref.domain !== LEGACY_DOMAIN) return repositoryName(ref);
  if (ref.path.startsWith(OFFICIAL_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** busybox:latest, me/app:1, localhost:5000/x@sha256:… */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The familiar form of a stored full name; the input itself if it does not parse. */
export function familiarOf(fullName: string): string {
  try {
    return familiarString(parseReference(fullName));
  } catch {
    return fullName;
  }
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/**
 * `repo` plus an optional separate `tag`, as the tag/import endpoints take
 * them. Refuses digests: a tag cannot point at one.
 */
export function referenceForTag(repo: string, tag?: string): Reference {
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw invalidParameter('refusing to create a tag with a digest reference');
  if (tag !== undefined && tag !== '') {
    if (ref.tag !== undefined) throw invalidParameter(`${FORMAT}: tag given twice (${repo} and ${tag})`);
    if (!isValidTag(tag)) throw invalidParameter(`invalid tag format: ${tag}`);
    return { ...ref, tag };
  }
  return withDefaultTag(ref);
}
