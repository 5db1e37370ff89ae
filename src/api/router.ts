// Route matching by method and path pattern. Patterns are '/'-separated:
// literal segments, ':param' (one segment) and at most one ':name*' that takes
// one or more segments, so that image and plugin names with slashes work even
// when a fixed suffix follows ('/images/:name*/json').
import { invalidParameter } from '../errors/index.js';
import type { Route } from './types.js';
import { negotiateVersion, splitVersionPrefix } from './version.js';

type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string } | { kind: 'rest'; name: string };

interface CompiledRoute {
  route: Route;
  head: Segment[];
  rest: string | undefined;
  tail: Segment[];
  /** more literal segments and no rest capture sort first, so '/images/json' beats '/images/:name*' */
  rank: number;
  order: number;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
  /** the path without its version prefix */
  path: string;
  apiVersion: string;
}

function parseSegment(text: string, pattern: string): Segment {
  if (!text.startsWith(':')) return { kind: 'literal', text };
  const rest = text.endsWith('*');
  const name = text.slice(1, rest ? -1 : undefined);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`route pattern ${pattern}: bad parameter name ${text}`);
  return rest ? { kind: 'rest', name } : { kind: 'param', name };
}

export function compileRoute(route: Route, order = 0): CompiledRoute {
  if (!route.path.startsWith('/')) throw new Error(`route pattern ${route.path}: must start with /`);
  const segments = splitSegments(route.path).map((s) => parseSegment(s, route.path));
  const restAt = segments.findIndex((s) => s.kind === 'rest');
  if (segments.filter((s) => s.kind === 'rest').length > 1) {
    throw new Error(`route pattern ${route.path}: at most one rest capture`);
  }
  const head = restAt < 0 ? segments : segments.slice(0, restAt);
  const tail = restAt < 0 ? [] : segments.slice(restAt + 1);
  const restSeg = restAt < 0 ? undefined : segments[restAt];
  const literals = segments.filter((s) => s.kind === 'literal').length;
  return {
    route,
    head,
    rest: restSeg?.kind === 'rest' ? restSeg.name : undefined,
    tail,
    rank: (restAt < 0 ? 0 : 1000) - literals,
    order,
  };
}

/** Path segments without empty ones, so '//version' and '/version' are the same path. */
function splitSegments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidParameter(`malformed percent-encoding in request path: ${raw}`);
  }
}

function matchSegments(pattern: Segment[], parts: string[], params: Record<string, string>): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i];
    const part = parts[i];
    if (seg === undefined || part === undefined) return false;
    if (seg.kind === 'literal') {
      if (seg.text !== part) return false;
    } else {
      params[seg.name] = part;
    }
  }
  return true;
}

function matchCompiled(c: CompiledRoute, parts: string[]): Record<string, string> | null {
  const raw: Record<string, string> = {};
  if (c.rest === undefined) {
    if (parts.length !== c.head.length || !matchSegments(c.head, parts, raw)) return null;
  } else {
    const middle = parts.length - c.head.length - c.tail.length;
    if (middle < 1) return null;
    if (!matchSegments(c.head, parts.slice(0, c.head.length), raw)) return null;
    if (!matchSegments(c.tail, parts.slice(parts.length - c.tail.length), raw)) return null;
    raw[c.rest] = parts.slice(c.head.length, c.head.length + middle).join('/');
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) params[k] = decode(v);
  return params;
}

export class Router {
  private readonly compiled: CompiledRoute[] = [];

  constructor(routes: Iterable<Route> = []) {
    for (const r of routes) this.add(r);
  }

  add(route: Route): void {
    this.compiled.push(compileRoute(route, this.compiled.length));
    this.compiled.sort((a, b) => a.rank - b.rank || a.order - b.order);
  }

  /**
   * The route for a request, or null (dockerd answers 404 "page not found" both
   * for unknown paths and for known paths with another method). The version
   * prefix is checked only once a route matched, as dockerd does; an
   * unsupported version throws invalid-parameter.
   */
  match(method: string, rawPath: string): RouteMatch | null {
    const { version, path } = splitVersionPrefix(rawPath);
    const parts = splitSegments(path);
    for (const c of this.compiled) {
      if (c.route.method !== method) continue;
      const params = matchCompiled(c, parts);
      if (params === null) continue;
      return { route: c.route, params, path: path === '' ? '/' : path, apiVersion: negotiateVersion(version) };
    }
    return null;
  }
}
