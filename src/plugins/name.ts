// Plugin names follow Docker's image reference rules: the stored name is the
// familiar form with a tag, so "me/plugin" and "docker.io/me/plugin:latest"
// are both "me/plugin:latest".
import { invalidParameter } from '../errors/index.js';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$/;
const FULL_ID = /^[a-f0-9]{64}$/;
const MAX_NAME = 255;
const DEFAULT_DOMAIN = 'docker.io';

export function isFullPluginId(s: string): boolean {
  return FULL_ID.test(s);
}

function bad(raw: string, reason: string): Error {
  return invalidParameter(`invalid plugin name ${JSON.stringify(raw)}: ${reason}`);
}

/** The parts of a reference, or an error message; never throws. */
function parse(raw: string): { domain: string; path: string; tag: string } | string {
  if (raw === '') return 'the name is empty';
  if (raw.includes('@')) return 'digest references are not permitted: give a name and an optional tag';
  let rest = raw;
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return `tag "${tag}" is not valid: use letters, digits, "_", "." and "-" (at most 128)`;
  }
  let domain = DEFAULT_DOMAIN;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? rest : rest.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!DOMAIN.test(first)) return `registry "${first}" is not a valid host name`;
    domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
    rest = rest.slice(slash + 1);
  }
  if (rest === '') return 'the repository name is empty';
  for (const component of rest.split('/')) {
    if (component !== component.toLowerCase()) return `repository name "${rest}" must be lowercase`;
    if (!PATH_COMPONENT.test(component)) {
      return `"${component}" is not a valid name component: use lowercase letters, digits and single separators (".", "_", "__", "-")`;
    }
  }
  return { domain, path: rest, tag };
}

/** The stored form of a plugin name ("NAME:TAG", familiar); throws invalid-parameter. */
export function normalizePluginName(raw: string): string {
  const ref = parse(raw);
  if (typeof ref === 'string') throw bad(raw, ref);
  let path = ref.path;
  if (ref.domain === DEFAULT_DOMAIN && path.startsWith('library/') && path.split('/').length === 2) {
    path = path.slice('library/'.length);
  }
  if (ref.domain === DEFAULT_DOMAIN && FULL_ID.test(path)) {
    throw bad(raw, 'a 64-character hexadecimal string is an id, not a name');
  }
  const familiar = ref.domain === DEFAULT_DOMAIN ? path : `${ref.domain}/${path}`;
  const name = `${familiar}:${ref.tag}`;
  if (name.length > MAX_NAME) throw bad(raw, `the name is longer than ${MAX_NAME} characters`);
  return name;
}

/** Like normalizePluginName, but undefined instead of an error (for lookups by name-or-id). */
export function tryNormalizePluginName(raw: string): string | undefined {
  try {
    return normalizePluginName(raw);
  } catch {
    return undefined;
  }
}
