// System routes: /_ping, /version, /info, /events. The daemon's system
// service provides the facts.
import type { EventBus } from '../../events/index.js';
import type { Reply, Route } from '../types.js';
import { MAX_API_VERSION, MIN_API_VERSION } from '../version.js';
import { eventsRoute } from './events.js';
import { dockerArch } from '../../oci/index.js';
import type { SystemBackend, VersionInfo } from '../../daemon/system.js';

export { dockerArch };
export type { ComponentVersion, SystemBackend, VersionInfo } from '../../daemon/system.js';


const PING_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/plain; charset=utf-8',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
  'Builder-Version': '1',
  Swarm: 'inactive',
};

export function versionBody(v: VersionInfo): Record<string, unknown> {
  const runtime = `node${process.versions.node}`;
  const arch = dockerArch();
  return {
    Platform: { Name: 'berth' },
    Components: [
      {
        Name: 'Engine',
        Version: v.version,
        Details: {
          ApiVersion: MAX_API_VERSION,
          Arch: arch,
          BuildTime: v.buildTime,
          Experimental: 'false',
          GitCommit: v.gitCommit,
          GoVersion: runtime,
          KernelVersion: v.kernelVersion,
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
        },
      },
      ...v.components.map((c) => ({ Name: c.name, Version: c.version, Details: c.details ?? {} })),
    ],
    Version: v.version,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: v.gitCommit,
    GoVersion: runtime,
    Os: 'linux',
    Arch: arch,
    KernelVersion: v.kernelVersion,
    BuildTime: v.buildTime,
  };
}

const PING_BODY = Buffer.from('OK');

function ping(head: boolean): Reply {
  if (head) return { kind: 'empty', status: 200, headers: PING_HEADERS };
  return { kind: 'bytes', contentType: 'text/plain; charset=utf-8', body: PING_BODY, headers: PING_HEADERS };
}

export function systemRoutes(backend: SystemBackend, events: EventBus): Route[] {
  return [
    { method: 'GET', path: '/_ping', handler: async () => ping(false) },
    { method: 'HEAD', path: '/_ping', handler: async () => ping(true) },
    { method: 'GET', path: '/version', handler: async () => ({ kind: 'json', body: versionBody(await backend.version()) }) },
    { method: 'GET', path: '/info', handler: async () => ({ kind: 'json', body: await backend.info() }) },
    eventsRoute(events),
  ];
}
