// What the benchmark and the race harness need from a daemon under test:
// berthd (started by test/helpers/berthd.ts) and dockerd both fit.
import type { CommandResult } from '../test/helpers/berthd.js';

export interface ApiResponse {
  status: number;
  body: string;
}

export interface DaemonUnderTest {
  /** PID of the daemon process itself (RSS, SIGHUP) */
  pid: number;
  socket: string;
  dataRoot: string;
  configFile: string;
  /** environment for the docker CLI aimed at this daemon */
  env: NodeJS.ProcessEnv;
  writeConfig(config: Record<string, unknown> | string): void;
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<CommandResult>;
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

export type DaemonName = 'berth' | 'dockerd';

export interface BenchDaemon extends DaemonUnderTest {
  name: DaemonName;
  /** `docker version --format {{.Server.Version}}` and friends, for the report */
  version: string;
  /** docker CLI flags reaching the daemon over TCP with mutual TLS */
  tlsArgs?: string[];
}
