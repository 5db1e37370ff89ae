import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { STDERR, STDOUT, demux, frame, systemRoutes, type Reply, type Route } from '../../src/api/index.js';
import { EventBus } from '../../src/events/index.js';
import { call, fakeBackend, startServer, type TestServer } from './api-helpers.js';

const MUX = 'application/vnd.docker.multiplexed-stream';

// An exec-start-like route: reads the JSON body, then echoes stdin back as
// stdout frames until the client half-closes, then says goodbye on stderr.
const echoRoute: Route = {
  method: 'POST',
  path: '/exec/:id/start',
  handler: async (ctx): Promise<Reply> => {
    const body = await ctx.json();
    return {
      kind: 'hijack',
      contentType: MUX,
      handle(conn) {
        conn.output.write(frame(STDOUT, `body=${JSON.stringify(body)} upgraded=${conn.upgraded}\n`));
        if (conn.input === null) {
          conn.output.write(frame(STDERR, 'no stdin\n'));
          conn.close();
          return;
        }
        conn.input.on('data', (chunk: Buffer) => conn.output.write(frame(STDOUT, chunk)));
        conn.input.on('end', () => {
          // The client half-closed: output must still be writable.
          conn.output.write(frame(STDERR, 'bye\n'));
          conn.close();
        });
      },
    };
  },
};

interface RawExchange {
  head: string;
  rest: Buffer;
}

/** Sends a raw request, waits for the response head, then sends `stdin` and half-closes. */
function rawUpgrade(socketPath: string, request: string, stdinAfter: string[], stdinWithRequest = ''): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ path: socketPath, allowHalfOpen: true });
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    sock.on('error', reject);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (head !== undefined) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = buf.subarray(0, end).toString();
      buf = buf.subarray(end + 4);
      if (!head.startsWith('HTTP/1.1 101')) return;
      let i = 0;
      const next = (): void => {
        if (i < stdinAfter.length) {
          sock.write(stdinAfter[i++] ?? '');
          setTimeout(next, 20);
        } else {
          sock.end();
        }
      };
      next();
    });
    sock.on('end', () => resolve({ head: head ?? '', rest: buf }));
    sock.write(request + stdinWithRequest);
  });
}

function execRequest(body: string, extra = ''): string {
  return (
    'POST /v1.47/exec/abc/start HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n' +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`
  );
}

describe('hijacked connections', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer([...systemRoutes(fakeBackend, new EventBus()), echoRoute]);
  });
  after(async () => {
    await t?.stop();
  });

  it('upgrades: 101, raw socket both ways, half-close keeps output open', async () => {
    const { head, rest } = await rawUpgrade(t.socket, execRequest('{"Detach":false,"Tty":false}'), ['hello ', 'world\n']);
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 101 UPGRADED');
    assert.ok(lines.includes(`Content-Type: ${MUX}`));
    assert.ok(lines.includes('Connection: Upgrade'));
    assert.ok(lines.includes('Upgrade: tcp'));
    const { stdout, stderr, trailing } = demux(rest);
    assert.equal(trailing, 0);
    assert.equal(stdout.toString(), 'body={"Detach":false,"Tty":false} upgraded=true\nhello world\n');
    assert.equal(stderr.toString(), 'bye\n');
  });

  it('keeps stdin bytes sent together with the request body', async () => {
    const { rest } = await rawUpgrade(t.socket, execRequest('{"Tty":true}'), ['late\n'], 'early\n');
    const { stdout } = demux(rest);
    assert.equal(stdout.toString(), 'body={"Tty":true} upgraded=true\nearly\nlate\n');
  });

  it('reads chunked upgrade bodies, including an empty one', async () => {
    const req = (chunks: string) =>
      'POST /exec/abc/start HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n' +
      `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`;
    const withBody = await rawUpgrade(t.socket, req('5\r\n{"tty\r\n7\r\n":true}\r\n0\r\n\r\n'), ['x']);
    // Decoded as dockerd does: the field name matches case-insensitively.
    assert.equal(demux(withBody.rest).stdout.toString(), 'body={"Tty":true} upgraded=true\nx');
    const empty = await rawUpgrade(t.socket, req('0\r\n\r\n'), [], 'stdin-right-away');
    assert.equal(demux(empty.rest).stdout.toString(), 'body=undefined upgraded=true\nstdin-right-away');
    const broken = await rawUpgrade(t.socket, req('zz\r\n'), []);
    assert.match(broken.head, /^HTTP\/1\.1 400/);
  });

  it('works with dockerode exec start { hijack: true, stdin: true }', async () => {
    const docker = new Docker({ socketPath: t.socket });
    const duplex = (await docker.getExec('abc').start({ hijack: true, stdin: true })) as unknown as Duplex;
    const chunks: Buffer[] = [];
    duplex.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => duplex.once('end', r));
    duplex.write('from dockerode\n');
    await new Promise((r) => setTimeout(r, 50));
    duplex.end();
    await ended;
    const { stdout, stderr } = demux(Buffer.concat(chunks));
    // dockerode sends its own options as the body; dockerd ignores those unknown fields.
    assert.equal(stdout.toString(), 'body={} upgraded=true\nfrom dockerode\n');
    assert.equal(stderr.toString(), 'bye\n');
    duplex.destroy();
  });

  it('answers errors of upgrade requests as plain HTTP', async () => {
    const notFound = await rawUpgrade(t.socket, 'POST /exec HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n', []);
    assert.match(notFound.head, /^HTTP\/1\.1 404 Not Found/);
    assert.deepEqual(JSON.parse(notFound.rest.toString()), { message: 'page not found' });
    const badJson = await rawUpgrade(t.socket, execRequest('{nope'), []);
    assert.match(badJson.head, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(badJson.rest.toString(), /invalid JSON in request body/);
    const ping = await rawUpgrade(t.socket, 'GET /_ping HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n', []);
    assert.match(ping.head, /^HTTP\/1\.1 200 OK/);
    assert.match(ping.head, /Api-Version: 1\.50/);
    assert.equal(ping.rest.toString(), 'OK');
  });

  it('without upgrade: a streamed 200 and no stdin', async () => {
    const r = await call(t.socket, 'POST', '/exec/abc/start', { body: '{"Detach":false}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], MUX);
    const { stdout, stderr } = demux(r.body);
    assert.equal(stdout.toString(), 'body={"Detach":false} upgraded=false\n');
    assert.equal(stderr.toString(), 'no stdin\n');
  });
});
