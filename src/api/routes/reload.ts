// POST /berth/reload: reload the configuration and answer with the outcome
// once it is known — the new snapshot is live before a success is reported.
import type { Route } from '../types.js';

export interface ReloadView {
  ok: boolean;
  configFile: string;
  generation: number;
  runtimes: string[];
  defaultRuntime: string;
  errors: string[];
  ignored: string[];
}

export interface ReloadBackend {
  reload(): Promise<ReloadView>;
}

export function reloadRoutes(backend: ReloadBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/berth/reload',
      // A refused configuration is still a well-formed answer: 200 with ok=false.
      handler: async () => ({ kind: 'json', body: await backend.reload() }),
    },
  ];
}
