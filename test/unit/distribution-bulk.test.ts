// Blob GETs over plain http read into the caller's buffers: the head parser,
// the request head, body framing, and the body against a loopback server
// that answers byte by byte, all at once, short, long or chunked.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { bodyLength, bulkGet, parseHead, requestHead, type BulkAnswer } from '../../src/distribution/bulk-http.js';
import { readBody, send } from '../../src/distribution/http.js';

type Answerer = (socket: Socket, request: string) => void;

async function serve(answer: Answerer): Promise<{ server: Server; url: (path: string) => URL; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        requests.push(got);
        answer(socket, got);
        got = '';
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, url: (path) => new URL(`http://127.0.0.1:${port}${path}`), requests };
}

const timeouts = { connectTimeoutMs: 2_000, idleTimeoutMs: 2_000 };

async function fillAll(answer: BulkAnswer, size: number): Promise<{ data: Buffer; digest: string; fills: number }> {
  const hash = createHash('sha256');
  const out: Buffer[] = [];
  let fills = 0;
  const buf = Buffer.alloc(size);
  for (;;) {
    const n = await answer.body.fill!(buf, (v) => void hash.update(v));
    if (n === 0) break;
    fills++;
    out.push(Buffer.from(buf.subarray(0, n)));
  }
  return { data: Buffer.concat(out), digest: hash.digest('hex'), fills };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('bulk blob GET: pure parts', () => {
  it('parses a status line and headers as node:http names them', () => {
    const head = parseHead(Buffer.from('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody'));
    assert.ok(head);
    assert.equal(head.status, 206);
    assert.equal(head.headers['content-length'], '10');
    assert.equal(head.headers['x-a'], '1, 2');
    assert.equal(head.length, 'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nX-A: 1\r\nx-a: 2\r\n\r\n'.length);
    assert.equal(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-')), undefined);
    assert.throws(() => parseHead(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), /status line/);
    assert.throws(() => parseHead(Buffer.from('HTTP/1.1 200 OK\r\nno colon\r\n\r\n')), /malformed header/);
    assert.throws(() => parseHead(Buffer.alloc(70 * 1024, 'a')), /bytes of headers/);
  });
  it('writes the request head and refuses line breaks in values', () => {
    const h = requestHead(new URL('http://r:5000/v2/a/blobs/sha256:x?y=1'), { authorization: 'Bearer t', range: 'bytes=5-' });
    assert.equal(h, 'GET /v2/a/blobs/sha256:x?y=1 HTTP/1.1\r\nHost: r:5000\r\nauthorization: Bearer t\r\nrange: bytes=5-\r\nConnection: close\r\n\r\n');
    assert.throws(() => requestHead(new URL('http://r/'), { authorization: 'Bearer t\r\nX-Evil: 1' }), /invalid character/);
    assert.throws(() => requestHead(new URL('http://r/'), { 'bad name': 'x' }), /invalid character/);
  });
  it('frames bodies by Content-Length, the connection end, or not at all', () => {
    assert.equal(bodyLength(200, { 'content-length': '42' }), 42);
    assert.equal(bodyLength(200, {}), undefined);
    assert.equal(bodyLength(200, { 'transfer-encoding': 'chunked' }), 'chunked');
    assert.equal(bodyLength(204, { 'content-length': '5' }), 0);
    assert.throws(() => bodyLength(200, { 'content-length': '-1' }), /invalid Content-Length/);
  });
});

describe('bulk blob GET over a loopback socket', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('reads a body sent in one piece and in tiny pieces into the caller buffer, hashing as it lands', async () => {
    const blob = randomBytes(3 << 20);
    const s = await serve((socket, req) => {
      const head = `HTTP/1.1 200 OK\r\nContent-Length: ${blob.length}\r\n\r\n`;
      if (req.includes('/slow')) {
        socket.write(head + blob.subarray(0, 7).toString('latin1'), 'latin1');
        let at = 7;
        const tick = (): void => {
          if (at >= blob.length) return;
          const n = at < 100_000 ? 1_000 : 500_000;
          socket.write(blob.subarray(at, at + n), () => setImmediate(tick));
          at += n;
        };
        tick();
      } else socket.write(Buffer.concat([Buffer.from(head), blob]));
    });
    servers.push(s.server);
    for (const path of ['/fast', '/slow']) {
      const a = await bulkGet({ url: s.url(path), headers: { 'user-agent': 'berth' }, ...timeouts });
      assert.notEqual(a, 'chunked');
      const got = await fillAll(a as BulkAnswer, 1 << 20);
      assert.equal(got.data.length, blob.length, path);
      assert.equal(got.digest, sha(blob), path);
      assert.ok(got.fills >= 3, `${path}: ${got.fills} fills`);
    }
    assert.match(s.requests[0]!, /^GET \/fast HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nuser-agent: berth\r\nConnection: close\r\n\r\n$/);
  });

  it('reads a body framed by the connection end, and serves the Readable side for small bodies', async () => {
    const s = await serve((socket, req) => {
      if (req.includes('/close')) socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
      else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 40\r\n\r\n{"errors":[{"code":"BLOB_UNKNOWN"}]}    ');
    });
    servers.push(s.server);
    const a = (await bulkGet({ url: s.url('/close'), headers: {}, ...timeouts })) as BulkAnswer;
    assert.equal((await fillAll(a, 4)).data.toString(), 'until the end');
    const e = (await bulkGet({ url: s.url('/missing'), headers: {}, ...timeouts })) as BulkAnswer;
    assert.equal(e.status, 404);
    assert.match((await readBody(e.body, 1024, 'an error answer')).toString(), /BLOB_UNKNOWN/);
  });

  it('fails a body cut short, refuses one longer than announced, and hands chunked bodies to node:http', async () => {
    const s = await serve((socket, req) => {
      if (req.includes('/short')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this');
      else if (req.includes('/long')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef');
      else socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    });
    servers.push(s.server);
    const short = (await bulkGet({ url: s.url('/short'), headers: {}, ...timeouts })) as BulkAnswer;
    await assert.rejects(fillAll(short, 1024), /closed the connection with 91 body bytes still to come/);
    const long = bulkGet({ url: s.url('/long'), headers: {}, ...timeouts });
    await assert.rejects(long.then((a) => fillAll(a as BulkAnswer, 1024)), /more than the 3 body bytes/);
    assert.equal(await bulkGet({ url: s.url('/chunked'), headers: {}, ...timeouts }), 'chunked');
    // send() asks again through node:http, which decodes it.
    const r = await send({ method: 'GET', url: s.url('/chunked'), headers: {}, bulk: true, ...timeouts });
    assert.equal(r.body.fill, undefined);
    assert.equal((await readBody(r.body, 1024, 'a body')).toString(), 'hello world');
  });

  it('follows a redirect to another host without the Authorization header, and reads the last answer into the buffer', async () => {
    const blob = randomBytes(200_000);
    const storage = await serve((socket) => socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${blob.length}\r\n\r\n`), blob])));
    const registry = await serve((socket) => socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: ${storage.url('/bucket/blob').href}\r\nContent-Length: 5\r\n\r\nmoved`));
    servers.push(storage.server, registry.server);
    const r = await send({ method: 'GET', url: registry.url('/v2/x/blobs/sha256:1'), headers: { authorization: 'Bearer secret' }, bulk: true, ...timeouts });
    assert.equal(r.status, 200);
    assert.equal(r.url.href, storage.url('/bucket/blob').href);
    const got = await fillAll({ status: r.status, headers: r.headers, body: r.body as BulkAnswer['body'] }, 64 * 1024);
    assert.equal(got.digest, sha(blob));
    assert.match(registry.requests[0]!, /authorization: Bearer secret/);
    assert.doesNotMatch(storage.requests[0]!, /authorization/i);
  });

  it('stops on abort and on a registry that goes quiet', async () => {
    const s = await serve((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome'));
    servers.push(s.server);
    const quiet = (await bulkGet({ url: s.url('/quiet'), headers: {}, connectTimeoutMs: 2_000, idleTimeoutMs: 200 })) as BulkAnswer;
    await assert.rejects(fillAll(quiet, 1024), /sent nothing for 0.2 s/);
    const ac = new AbortController();
    const aborted = (await bulkGet({ url: s.url('/abort'), headers: {}, signal: ac.signal, ...timeouts })) as BulkAnswer;
    // A fill waits until its buffer is full or the body ends.
    assert.equal(await aborted.body.fill!(Buffer.alloc(4), () => undefined), 4);
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(aborted.body.fill!(Buffer.alloc(1024), () => undefined), /aborted/);
    await assert.rejects(bulkGet({ url: new URL('http://127.0.0.1:1/x'), headers: {}, ...timeouts }), /ECONNREFUSED/);
  });
});
