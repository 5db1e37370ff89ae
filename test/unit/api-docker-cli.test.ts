// The real docker CLI against a tiny berth API server: negotiation through
// /_ping, the version prefix it picks, and the shapes it parses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemRoutes } from '../../src/api/index.js';
import { EventBus } from '../../src/events/index.js';
import { fakeBackend, startServer, type TestServer } from './api-helpers.js';

const DOCKER = '/usr/local/bin/docker';
const run = promisify(execFile);

describe('docker CLI against the API server', { skip: !existsSync(DOCKER) && `${DOCKER} is not installed` }, () => {
  let t: TestServer;
  const bus = new EventBus();
  let env: NodeJS.ProcessEnv;

  before(async () => {
    t = await startServer(systemRoutes(fakeBackend, bus));
    const config = join(t.dir, 'docker-config');
    await mkdir(config);
    env = { PATH: process.env.PATH, HOME: t.dir, DOCKER_HOST: `unix://${t.socket}`, DOCKER_CONFIG: config };
  });
  after(async () => {
    await t?.stop();
  });

  const docker = async (...args: string[]) => (await run(DOCKER, args, { env, timeout: 20_000 })).stdout;

  it('docker version prints the server section from /version', async () => {
    const out = await docker('version');
    assert.match(out, /Server: berth/);
    assert.match(out, /Engine:\s*\n\s*Version:\s+0\.1\.0-test/);
    assert.match(out, /API version:\s+1\.50 \(minimum version 1\.24\)/);
    assert.match(out, /containerd:\s*\n\s*Version:\s+1\.6\.20/);
    const server = JSON.parse(await docker('version', '--format', '{{json .Server}}')) as Record<string, unknown>;
    assert.equal(server.Version, '0.1.0-test');
    assert.equal(server.ApiVersion, '1.50');
  });

  it('docker events replays past events with filters', async () => {
    bus.publish('container', 'start', 'c0ffee', { name: 'web', image: 'busybox' });
    bus.publish('image', 'tag', 'sha256:1', { name: 'busybox:latest' });
    // The CLI sends whole seconds, so `until` must lie past the current second; the stream ends there.
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const out = await docker('events', '--since', '10m', '--until', until, '--filter', 'type=container', '--format', '{{json .}}');
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string } });
    assert.deepEqual(events.map((e) => `${e.Action} ${e.Actor.ID}`), ['start c0ffee']);
  });
});
