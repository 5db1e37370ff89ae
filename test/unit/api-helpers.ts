// Shared by the api-* tests: a temp socket, a server on it, and a small client.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, type ApiServer, type Route, type SystemBackend } from '../../src/api/index.js';
import { silentLogger } from '../../src/log/index.js';

export interface TestServer {
  dir: string;
  socket: string;
  server: ApiServer;
  stop(): Promise<void>;
}

export async function startServer(routes: Route[], extra: { maxJsonBody?: number; group?: string } = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-api-'));
  const socket = join(dir, 'api.sock');
  const server = createApiServer({ routes, logger: silentLogger(), hosts: [`unix://${socket}`], version: '0.0.0-test', closeGraceMs: 100, ...extra });
  try {
    await server.listen();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    socket,
    server,
    async stop() {
      try {
        await server.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json(): unknown;
}

export function call(
  socketPath: string,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, headers: { ...opts.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString(),
          json: () => JSON.parse(body.toString()) as unknown,
        });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** A SystemBackend with fixed answers. */
export const fakeBackend: SystemBackend = {
  async version() {
    return {
      version: '0.1.0-test',
      gitCommit: 'abc1234',
      buildTime: '2024-01-02T03:04:05.000000000+00:00',
      kernelVersion: '6.1.0-test',
      components: [
        { name: 'containerd', version: '1.6.20', details: { GitCommit: 'c0ffee' } },
        { name: 'runc', version: '1.1.5', details: { GitCommit: 'r' } },
      ],
    };
  },
  async info() {
    return { ID: 'x', Name: 'host', ServerVersion: '0.1.0-test', Runtimes: { runc: { path: 'runc' } } };
  },
};
