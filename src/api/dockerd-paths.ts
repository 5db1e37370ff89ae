// What a request that no berth route serves gets back. dockerd answers its
// own paths and a bare 404 "page not found" only for paths it does not know;
// clients (and their test suites) depend on the difference: swarm clean-up
// calls accept dockerd's 503s, SDKs show the message of a 501.
import { notFound, notImplemented, unavailable } from '../errors/index.js';
import { Router } from './router.js';
import type { Route } from './types.js';
import { splitVersionPrefix } from './version.js';

export const PAGE_NOT_FOUND = 'page not found';

/** dockerd's texts when the node is not in a swarm (daemon/cluster). */
export const NOT_SWARM_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_SWARM = 'This node is not part of a swarm';

/** Swarm mode's path families: berth is never part of a swarm. */
const SWARM_FAMILIES = ['swarm', 'services', 'tasks', 'nodes', 'secrets', 'configs'];

/** The Engine API's routes (dockerd 20.10 up to API 1.50), as METHOD and path. */
const ENGINE_API: readonly string[] = [
  'GET /_ping', 'HEAD /_ping', 'GET /version', 'GET /info', 'GET /events', 'GET /system/df', 'POST /auth',
  'GET /containers/json', 'POST /containers/create', 'POST /containers/prune',
  'GET /containers/:id/json', 'GET /containers/:id/top', 'GET /containers/:id/logs', 'GET /containers/:id/changes',
  'GET /containers/:id/export', 'GET /containers/:id/stats', 'POST /containers/:id/resize', 'POST /containers/:id/start',
  'POST /containers/:id/stop', 'POST /containers/:id/restart', 'POST /containers/:id/kill', 'POST /containers/:id/update',
  'POST /containers/:id/rename', 'POST /containers/:id/pause', 'POST /containers/:id/unpause', 'POST /containers/:id/attach',
  'GET /containers/:id/attach/ws', 'POST /containers/:id/wait', 'DELETE /containers/:id', 'HEAD /containers/:id/archive',
  'GET /containers/:id/archive', 'PUT /containers/:id/archive', 'POST /containers/:id/exec', 'POST /commit',
  'POST /exec/:id/start', 'POST /exec/:id/resize', 'GET /exec/:id/json',
  'GET /images/json', 'POST /build', 'POST /build/prune', 'POST /build/cancel', 'POST /images/create', 'GET /images/search',
  'POST /images/prune', 'GET /images/get', 'POST /images/load', 'GET /images/:name*/json', 'GET /images/:name*/history',
  'POST /images/:name*/push', 'POST /images/:name*/tag', 'DELETE /images/:name*', 'GET /images/:name*/get',
  'GET /distribution/:name*/json', 'POST /session', 'POST /grpc',
  'GET /networks', 'POST /networks/create', 'POST /networks/prune', 'GET /networks/:id', 'DELETE /networks/:id',
  'POST /networks/:id/connect', 'POST /networks/:id/disconnect',
  'GET /volumes', 'POST /volumes/create', 'POST /volumes/prune', 'GET /volumes/:name', 'PUT /volumes/:name', 'DELETE /volumes/:name',
  'GET /plugins', 'GET /plugins/privileges', 'POST /plugins/pull', 'POST /plugins/create', 'GET /plugins/:name*/json',
  'DELETE /plugins/:name*', 'POST /plugins/:name*/enable', 'POST /plugins/:name*/disable', 'POST /plugins/:name*/upgrade',
  'POST /plugins/:name*/push', 'POST /plugins/:name*/set',
];

/** The swarm routes of the Engine API; POST /swarm/leave has its own answer. */
const SWARM_API: readonly string[] = [
  'GET /swarm', 'POST /swarm/init', 'POST /swarm/join', 'POST /swarm/update', 'GET /swarm/unlockkey', 'POST /swarm/unlock',
  'GET /nodes', 'GET /nodes/:id', 'DELETE /nodes/:id', 'POST /nodes/:id/update',
  'GET /services', 'POST /services/create', 'GET /services/:id', 'POST /services/:id/update', 'DELETE /services/:id',
  'GET /services/:id/logs', 'GET /tasks', 'GET /tasks/:id', 'GET /tasks/:id/logs',
  'GET /secrets', 'POST /secrets/create', 'GET /secrets/:id', 'DELETE /secrets/:id', 'POST /secrets/:id/update',
  'GET /configs', 'POST /configs/create', 'GET /configs/:id', 'DELETE /configs/:id', 'POST /configs/:id/update',
];

function apiRoute(method: string, pattern: string): string {
  return `${method} ${pattern.replace(/:([A-Za-z]+)\*?/g, '{$1}')}`;
}

/** BuildKit's session and gRPC endpoints: berth builds with the classic builder only (Builder-Version 1 in /_ping). */
export const NO_BUILDKIT =
  'berth has no BuildKit: its sessions (POST /session, POST /grpc) are not served; docker build uses the classic builder (DOCKER_BUILDKIT=0, or a docker CLI without buildx)';

/** Each known route and the error it answers with (later entries win: routes with an answer of their own come last). */
const ANSWERS = new Map<string, () => Error>([
  ...ENGINE_API.map((entry): [string, () => Error] => {
    const [method, path] = entry.split(' ') as [string, string];
    return [entry, () => notImplemented(`berth does not implement ${apiRoute(method, path)} of the Engine API yet`)];
  }),
  ...SWARM_API.map((entry): [string, () => Error] => [entry, () => unavailable(NOT_SWARM_MANAGER)]),
  ['POST /swarm/leave', () => unavailable(NOT_IN_SWARM)],
  ['POST /session', () => notImplemented(NO_BUILDKIT)],
  ['POST /grpc', () => notImplemented(NO_BUILDKIT)],
]);

const never = (): Promise<never> => Promise.reject(new Error('matched only'));
const known = new Router(
  [...ANSWERS.keys()].map((entry) => {
    const [method, path] = entry.split(' ') as [Route['method'], string];
    return { method, path, handler: never };
  }),
);

/**
 * The error for a request no route of berth matched: dockerd's 503s for swarm
 * paths (any method under them, as a node outside a swarm answers), a 501
 * naming an Engine API route berth does not serve, and 404 "page not found"
 * otherwise. An unsupported version prefix on a known path throws
 * invalid-parameter, as for served paths.
 */
export function unservedError(method: string, path: string): Error {
  const match = known.match(method, path);
  const answer = match === null ? undefined : ANSWERS.get(`${match.route.method} ${match.route.path}`);
  if (answer !== undefined) return answer();
  const family = splitVersionPrefix(path).path.split('/')[1] ?? '';
  if (SWARM_FAMILIES.includes(family)) return unavailable(NOT_SWARM_MANAGER);
  return notFound(PAGE_NOT_FOUND);
}
