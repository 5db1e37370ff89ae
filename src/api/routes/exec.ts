// Exec routes: POST /containers/{id}/exec, POST /exec/{id}/start (hijacked
// unless detached), POST /exec/{id}/resize, GET /exec/{id}/json; and
// GET /containers/{id}/top. Thin adapters over the exec service.
import type { ExecCreateConfig, ExecInspect, ExecStartHandle, ExecStartOptions, ExecTarget, TopResult } from '../../daemon/exec/index.js';
import { invalidParameter } from '../../errors/index.js';
import type { RequestContext, Route } from '../types.js';
import { asObject, optionalBool, optionalString, optionalStringArray, type JsonObject } from '../validate.js';
import { compareVersions } from '../version.js';

export interface ExecBackend {
  /** A container by full id, name or unique id prefix; not-found (404) otherwise. */
  getExecTarget(idOrName: string): ExecTarget | Promise<ExecTarget>;
  readonly execs: {
    create(target: ExecTarget, cfg: ExecCreateConfig): Promise<{ Id: string }>;
    beginStart(id: string, opts: ExecStartOptions): ExecStartHandle;
    resize(id: string, height: number, width: number): Promise<void>;
    inspect(id: string): ExecInspect;
  };
}

export interface TopBackend {
  getExecTarget(idOrName: string): ExecTarget | Promise<ExecTarget>;
  top(target: ExecTarget, psArgs: string): Promise<TopResult>;
}

const RAW_STREAM = 'application/vnd.docker.raw-stream';
const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** Cmd may be an array or, as Docker's strslice allows, a single string. */
function commandOf(body: JsonObject): string[] {
  const cmd = body.Cmd;
  if (typeof cmd === 'string') return [cmd];
  return optionalStringArray(body, 'Cmd') ?? [];
}

/** ConsoleSize [height, width] (API ≥ 1.42; ignored before, as dockerd does). */
function consoleSizeOf(body: JsonObject, apiVersion: string): [number, number] | undefined {
  const v = body.ConsoleSize;
  if (v === undefined || v === null || compareVersions(apiVersion, '1.42') < 0) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) {
    throw invalidParameter('invalid field ConsoleSize: expected [height, width] as two non-negative integers');
  }
  return [v[0] as number, v[1] as number];
}

function dimension(ctx: RequestContext, name: 'h' | 'w'): number {
  const raw = ctx.query.get(name) ?? '';
  const n = Number(raw);
  if (raw.trim() === '' || !/^\d+$/.test(raw.trim()) || n > 0xffffffff) {
    throw invalidParameter(`invalid resize ${name === 'h' ? 'height' : 'width'} ${JSON.stringify(raw)}: use a non-negative integer`);
  }
  return n;
}

export function execRoutes(backend: ExecBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/containers/:id/exec',
      async handler(ctx) {
        const body = asObject(await ctx.json());
        const cmd = commandOf(body);
        if (cmd.length === 0) throw invalidParameter('No exec command specified');
        const cfg: ExecCreateConfig = { Cmd: cmd };
        const env = optionalStringArray(body, 'Env');
        if (env !== undefined) cfg.Env = env;
        const user = optionalString(body, 'User');
        if (user !== undefined) cfg.User = user;
        const workingDir = optionalString(body, 'WorkingDir');
        if (workingDir !== undefined) cfg.WorkingDir = workingDir;
        const detachKeys = optionalString(body, 'DetachKeys');
        if (detachKeys !== undefined) cfg.DetachKeys = detachKeys;
        for (const flag of ['Tty', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Privileged'] as const) {
          const v = optionalBool(body, flag);
          if (v !== undefined) cfg[flag] = v;
        }
        const size = consoleSizeOf(body, ctx.apiVersion);
        if (size !== undefined) cfg.ConsoleSize = size;
        const target = await backend.getExecTarget(ctx.params.id ?? '');
        const created = await backend.execs.create(target, cfg);
        return { kind: 'json', status: 201, body: created };
      },
    },
    {
      method: 'POST',
      path: '/exec/:id/start',
      async handler(ctx) {
        const body = asObject(await ctx.json(), 'request body', true);
        const opts: ExecStartOptions = {};
        const detach = optionalBool(body, 'Detach');
        if (detach !== undefined) opts.Detach = detach;
        const tty = optionalBool(body, 'Tty');
        if (tty !== undefined) opts.Tty = tty;
        // No console without a TTY.
        const size = tty === true ? consoleSizeOf(body, ctx.apiVersion) : undefined;
        if (size !== undefined) opts.ConsoleSize = size;
        const handle = backend.execs.beginStart(ctx.params.id ?? '', opts);
        if (opts.Detach === true) {
          await handle.run();
          return { kind: 'empty', status: 200 };
        }
        const multiplexed = tty !== true && compareVersions(ctx.apiVersion, '1.42') >= 0;
        return {
          kind: 'hijack',
          contentType: multiplexed ? MULTIPLEXED_STREAM : RAW_STREAM,
          handle: (conn) => handle.run(conn),
        };
      },
    },
    {
      method: 'POST',
      path: '/exec/:id/resize',
      async handler(ctx) {
        const height = dimension(ctx, 'h');
        const width = dimension(ctx, 'w');
        await backend.execs.resize(ctx.params.id ?? '', height, width);
        return { kind: 'empty', status: 200 };
      },
    },
    {
      method: 'GET',
      path: '/exec/:id/json',
      async handler(ctx) {
        return { kind: 'json', body: backend.execs.inspect(ctx.params.id ?? '') };
      },
    },
  ];
}

export function topRoutes(backend: TopBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/containers/:id/top',
      async handler(ctx) {
        const target = await backend.getExecTarget(ctx.params.id ?? '');
        const result = await backend.top(target, ctx.query.get('ps_args') ?? '');
        return { kind: 'json', body: result };
      },
    },
  ];
}
