import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { eventFilter, parseFilters, systemRoutes } from '../../src/api/index.js';
import { EventBus, type EngineEvent } from '../../src/events/index.js';
import { call, fakeBackend, startServer, type TestServer } from './api-helpers.js';

/** An EventBus that counts its live subscriptions, to catch leaks. */
class CountingBus extends EventBus {
  active = 0;
  override subscribe(listener: (e: EngineEvent) => void): () => void {
    this.active++;
    const off = super.subscribe(listener);
    let done = false;
    return () => {
      if (!done) this.active--;
      done = true;
      return off();
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (text: string) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as EngineEvent);
const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
const secs = (ns: number) => (ns / 1e9).toFixed(9);

function ev(type: EngineEvent['Type'], action: string, id: string, attrs: Record<string, string> = {}): EngineEvent {
  return { Type: type, Action: action, Actor: { ID: id, Attributes: attrs }, scope: 'local', time: 1, timeNano: 1e9 };
}

describe('event filters', () => {
  const f = (json: string) => eventFilter(parseFilters(json));
  const start = ev('container', 'start', 'abc123', { name: 'web', image: 'busybox:latest', tier: 'front' });
  const tag = ev('image', 'tag', 'sha256:111', { name: 'busybox:latest' });
  const reload = ev('daemon', 'reload', 'daemon-id', { name: 'host' });
  const exec = ev('container', 'exec_start: sh -c true', 'abc123', { name: 'web' });

  it('matches type, event, container by id prefix or name, label, image', () => {
    assert.ok(f('{"type":["container"]}')(start));
    assert.ok(!f('{"type":["container"]}')(tag));
    assert.ok(f('{"type":{"image":true,"daemon":true}}')(reload));
    assert.ok(f('{"event":["start"]}')(start));
    assert.ok(!f('{"event":["stop"]}')(start));
    assert.ok(f('{"event":["exec_start"]}')(exec));
    assert.ok(f('{"container":["abc"]}')(start));
    assert.ok(f('{"container":["web"]}')(start));
    assert.ok(!f('{"container":["db"]}')(start));
    assert.ok(!f('{"container":["web"]}')(reload));
    assert.ok(f('{"label":["tier"]}')(start));
    assert.ok(f('{"label":["tier=front"]}')(start));
    assert.ok(!f('{"label":["tier=back"]}')(start));
    assert.ok(!f('{"label":["tier","other"]}')(start));
    assert.ok(f('{"image":["busybox"]}')(start));
    assert.ok(f('{"image":["busybox:latest"]}')(tag));
    assert.ok(f('{"image":["sha256:111"]}')(tag));
    assert.ok(!f('{"image":["alpine"]}')(tag));
    assert.ok(f('{"daemon":["host"]}')(reload));
    assert.ok(f('{"scope":["local"]}')(reload));
    assert.ok(f('{"type":["container"],"event":["start","die"],"container":["web"]}')(start));
  });

  it('refuses unknown filter names', () => {
    assert.throws(() => f('{"colour":["red"]}'), /invalid filter 'colour'/);
  });
});

describe('GET /events', () => {
  let t: TestServer;
  const bus = new CountingBus();
  let t0 = 0;
  let t1 = 0;

  before(async () => {
    t = await startServer(systemRoutes(fakeBackend, bus));
    t0 = bus.publish('container', 'create', 'c1', { name: 'one', image: 'busybox' }).timeNano;
    bus.publish('container', 'start', 'c1', { name: 'one', image: 'busybox', role: 'db' });
    bus.publish('image', 'tag', 'sha256:aa', { name: 'busybox:latest' });
    t1 = bus.publish('daemon', 'reload', 'd1', { name: 'host' }).timeNano;
  });
  after(async () => {
    await t?.stop();
  });

  it('replays history between since and until, then ends', async () => {
    const r = await call(t.socket, 'GET', `/events?${q({ since: secs(t0 - 1000), until: secs(t1 + 1000) })}`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.deepEqual(lines(r.text).map((e) => e.Action), ['create', 'start', 'tag', 'reload']);
  });

  it('applies filters to history', async () => {
    const run = async (filters: string) =>
      lines((await call(t.socket, 'GET', `/events?${q({ since: '0', until: secs(t1 + 1000), filters })}`)).text).map((e) => e.Action);
    assert.deepEqual(await run('{"type":["container"]}'), ['create', 'start']);
    assert.deepEqual(await run('{"label":["role=db"]}'), ['start']);
    assert.deepEqual(await run('{"container":{"one":true},"event":{"create":true}}'), ['create']);
    assert.deepEqual(await run('{"image":["busybox"],"type":["image"]}'), ['tag']);
    assert.deepEqual(await run('{"daemon":["host"]}'), ['reload']);
  });

  it('accepts RFC 3339 timestamps', async () => {
    const since = new Date(Math.floor(t0 / 1e6) - 1).toISOString();
    const until = new Date(Math.ceil(t1 / 1e6) + 1).toISOString();
    const r = await call(t.socket, 'GET', `/events?${q({ since, until })}`);
    assert.equal(lines(r.text).length, 4);
  });

  it('refuses since after until, bad filters and bad timestamps with 400', async () => {
    const a = await call(t.socket, 'GET', '/events?since=5&until=1');
    assert.equal(a.status, 400);
    assert.deepEqual(a.json(), { message: '`since` time (5) cannot be after `until` time (1)' });
    assert.equal((await call(t.socket, 'GET', `/events?${q({ filters: '{bad' })}`)).status, 400);
    assert.equal((await call(t.socket, 'GET', `/events?${q({ filters: '{"colour":["x"]}' })}`)).status, 400);
    assert.equal((await call(t.socket, 'GET', '/events?since=yesterday')).status, 400);
    assert.equal(bus.active, 0);
  });

  it('streams history then live events, flushed one by one, and ends at until', async () => {
    const until = Date.now() * 1e6 + 1500e6;
    const started = Date.now();
    const got: EngineEvent[] = [];
    let firstLiveAt = 0;
    const done = new Promise<void>((resolve, reject) => {
      const req = request(
        { socketPath: t.socket, path: `/events?${q({ since: secs(t0 - 1000), until: secs(until), filters: '{"type":["container","plugin"]}' })}` },
        (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const e = JSON.parse(buf.slice(0, nl)) as EngineEvent;
              buf = buf.slice(nl + 1);
              got.push(e);
              if (e.Type === 'plugin' && firstLiveAt === 0) firstLiveAt = Date.now();
            }
          });
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    await sleep(200);
    assert.equal(bus.active, 1);
    const publishedAt = Date.now();
    bus.publish('plugin', 'enable', 'p1', { name: 'sshfs' });
    bus.publish('image', 'delete', 'sha256:bb'); // filtered out
    await done;
    assert.deepEqual(got.map((e) => `${e.Type}/${e.Action}`), ['container/create', 'container/start', 'plugin/enable']);
    assert.ok(firstLiveAt - publishedAt < 500, 'the live event arrived without waiting for the stream to end');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1300 && elapsed < 5000, `ended at until (${elapsed} ms)`);
    assert.equal(bus.active, 0);
  });

  it('with since only, replays history and then stays live', async () => {
    let received = '';
    const req = request({ socketPath: t.socket, path: `/events?${q({ since: secs(t1), filters: '{"type":["daemon"]}' })}` }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => (received += c));
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    await sleep(150);
    bus.publish('daemon', 'reload', 'd1', { name: 'host', runtimes: 'runc' });
    await sleep(150);
    req.destroy();
    const got = lines(received);
    assert.deepEqual(got.map((e) => e.Action), ['reload', 'reload']);
    assert.equal(got[1]?.Actor.Attributes.runtimes, 'runc');
    await sleep(100);
    assert.equal(bus.active, 0);
  });

  it('without until, stays open and drops its listener when the client leaves', async () => {
    let received = '';
    const req = request({ socketPath: t.socket, path: '/events' }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => (received += c));
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    await sleep(150);
    assert.equal(bus.active, 1);
    bus.publish('container', 'die', 'c1', { name: 'one', exitCode: '0' });
    await sleep(150);
    assert.deepEqual(lines(received).map((e) => e.Action), ['die'], 'no history without since/until');
    req.destroy();
    await sleep(150);
    assert.equal(bus.active, 0);
  });
});

describe('event times', () => {
  it('never go backwards, however fast events come', () => {
    const bus = new EventBus();
    let last = 0;
    for (let i = 0; i < 20_000; i++) {
      const e = bus.publish('container', 'start', `c${i}`);
      assert.ok(e.timeNano >= last, `event ${i}: ${e.timeNano} after ${last}`);
      last = e.timeNano;
    }
  });
});
