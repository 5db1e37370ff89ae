import assert from 'node:assert/strict';
import { constants, openSync, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { createConnection, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import type { HijackedConnection } from '../../src/api/types.js';
import { CLIENT_BUFFER_CAP, decodeLogEntry, openProcessIO, StdcopyDecoder, type ProcessIO } from '../../src/daemon/io/index.js';

interface FakeConn {
  conn: HijackedConnection;
  input: PassThrough | null;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
  /** the peer goes away */
  hangUp(): void;
}

function fakeConn(opts: { input?: boolean; consume?: boolean } = {}): FakeConn {
  const input = opts.input === true ? new PassThrough() : null;
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  if (opts.consume !== false) output.on('data', (c: Buffer) => chunks.push(c));
  let isClosed = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const closeCbs: (() => void)[] = [];
  const conn: HijackedConnection = {
    input,
    output,
    upgraded: true,
    close() {
      if (isClosed) return;
      isClosed = true;
      output.end();
      markClosed();
    },
    onClose(cb) {
      closeCbs.push(cb);
    },
  };
  return {
    conn,
    input,
    received: () => Buffer.concat(chunks),
    closed,
    isClosed: () => isClosed,
    hangUp() {
      isClosed = true;
      for (const cb of closeCbs) cb();
      output.destroy();
      markClosed();
    },
  };
}

/** The shim's end of an output FIFO. */
function shimWriter(path: string): Socket {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: false, writable: true });
}

function shimReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

function endSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    s.once('close', () => resolve());
    s.end();
  });
}

function demux(buf: Buffer): [number, string][] {
  const frames = new StdcopyDecoder().push(buf);
  return frames.map((f) => [f.stream, f.payload.toString()]);
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('process I/O', () => {
  let dir = '';
  const opened: ProcessIO[] = [];
  const sockets: Socket[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-io-attach-'));
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(opened.splice(0).map((io) => io.close()));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function open(prefix: string, extra: { tty?: boolean; openStdin?: boolean; stdinOnce?: boolean; log?: boolean } = {}): Promise<ProcessIO> {
    const io = await openProcessIO({
      dir,
      prefix,
      openStdin: extra.openStdin ?? false,
      stdinOnce: extra.stdinOnce ?? false,
      tty: extra.tty ?? false,
      ...(extra.log === true ? { logPath: join(dir, `${prefix}-json.log`) } : {}),
    });
    opened.push(io);
    return io;
  }

  function track(s: Socket): Socket {
    sockets.push(s);
    return s;
  }

  it('creates the FIFOs with mode 0600 and removes them on close', async () => {
    const io = await open('fifos', { openStdin: true });
    assert.equal(io.fifos.stdin, join(dir, 'fifos-stdin'));
    assert.equal(io.fifos.stdout, join(dir, 'fifos-stdout'));
    assert.equal(io.fifos.stderr, join(dir, 'fifos-stderr'));
    const { statSync } = await import('node:fs');
    const st = statSync(io.fifos.stdout);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o600);
    await io.close();
    assert.equal(existsSync(io.fifos.stdout), false);
    assert.equal(existsSync(io.fifos.stdin), false);
  });

  it('has no stderr FIFO with a TTY and streams raw bytes', async () => {
    const io = await open('tty', { tty: true });
    assert.equal(io.fifos.stderr, '');
    const c = fakeConn();
    const attached = io.attach(c.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    const out = track(shimWriter(io.fifos.stdout));
    out.write('raw\r\n');
    await endSocket(out);
    await attached;
    assert.equal(c.received().toString(), 'raw\r\n');
    assert.ok(c.isClosed(), 'the connection is closed when the output ends');
  });

  it('fans out to two clients, each getting only the streams it asked for, and logs both', async () => {
    const io = await open('fanout', { log: true });
    const onlyOut = fakeConn();
    const both = fakeConn();
    const a = io.attach(onlyOut.conn, { stdin: false, stdout: true, stderr: false, logs: false, stream: true });
    const b = io.attach(both.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    const out = track(shimWriter(io.fifos.stdout));
    const err = track(shimWriter(io.fifos.stderr));
    out.write('to stdout\n');
    await waitFor(() => both.received().length > 0);
    err.write('to stderr\n');
    await waitFor(() => demux(both.received()).length === 2);
    out.write('partial');
    await Promise.all([endSocket(out), endSocket(err)]);
    await Promise.all([a, b]);
    assert.deepEqual(demux(onlyOut.received()), [
      [1, 'to stdout\n'],
      [1, 'partial'],
    ]);
    assert.deepEqual(demux(both.received()), [
      [1, 'to stdout\n'],
      [2, 'to stderr\n'],
      [1, 'partial'],
    ]);
    await io.drained();
    const lines = (await readFile(join(dir, 'fanout-json.log'), 'utf8')).trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => {
        const e = decodeLogEntry(l);
        return [e?.stream, e?.text];
      }),
      [
        ['stdout', 'to stdout\n'],
        ['stderr', 'to stderr\n'],
        ['stdout', 'partial'],
      ],
    );
  });

  it('replays the log then streams live output without loss or duplicates', async () => {
    const io = await open('replay', { log: true });
    const out = track(shimWriter(io.fifos.stdout));
    const err = track(shimWriter(io.fifos.stderr));
    out.write('before 1\nbefore 2\nhalf');
    await waitFor(async () => (await readFile(join(dir, 'replay-json.log'), 'utf8').catch(() => '')).includes('before 2'));
    const c = fakeConn();
    const attached = io.attach(c.conn, { stdin: false, stdout: true, stderr: true, logs: true, stream: true });
    out.write(' line\nafter\n');
    await Promise.all([endSocket(out), endSocket(err)]);
    await attached;
    assert.equal(
      demux(c.received())
        .map(([, s]) => s)
        .join(''),
      'before 1\nbefore 2\nhalf line\nafter\n',
    );
  });

  it('with logs and no stream, replays and closes', async () => {
    const io = await open('logsonly', { log: true, tty: true });
    const out = track(shimWriter(io.fifos.stdout));
    out.write('kept\n');
    await waitFor(async () => (await readFile(join(dir, 'logsonly-json.log'), 'utf8').catch(() => '')).includes('kept'));
    const c = fakeConn();
    await io.attach(c.conn, { stdin: false, stdout: true, stderr: true, logs: true, stream: false });
    assert.equal(c.received().toString(), 'kept\n');
    assert.ok(c.isClosed());
  });

  it('sends input to stdin; with stdinOnce the end of input closes stdin but not the output', async () => {
    const io = await open('stdin', { openStdin: true, stdinOnce: true });
    const shimIn = track(shimReader(io.fifos.stdin));
    const err = track(shimWriter(io.fifos.stderr));
    let stdinData = '';
    shimIn.on('data', (d: Buffer) => (stdinData += d.toString()));
    const stdinEof = new Promise<void>((resolve) => shimIn.once('end', resolve));
    const c = fakeConn({ input: true });
    const attached = io.attach(c.conn, { stdin: true, stdout: true, stderr: true, logs: false, stream: true });
    c.input?.write('hello ');
    c.input?.end('world');
    await stdinEof;
    assert.equal(stdinData, 'hello world');
    assert.equal(c.isClosed(), false, 'half-closed input must not end the output side');
    const out = track(shimWriter(io.fifos.stdout));
    out.write('echoed\n');
    await Promise.all([endSocket(out), endSocket(err)]);
    await attached;
    assert.deepEqual(demux(c.received()), [[1, 'echoed\n']]);
  });

  it('keeps input that ends before the shim opened stdin, then delivers EOF', async () => {
    const io = await open('early', { openStdin: true, stdinOnce: true, tty: true });
    const c = fakeConn({ input: true });
    const attached = io.attach(c.conn, { stdin: true, stdout: true, stderr: false, logs: false, stream: true });
    c.input?.end('typed ahead\n');
    await new Promise((r) => setTimeout(r, 100));
    const shimIn = track(shimReader(io.fifos.stdin));
    let stdinData = '';
    shimIn.on('data', (d: Buffer) => (stdinData += d.toString()));
    // With a TTY the end of input does not close stdin: close it as the owner would.
    io.closeStdin();
    await new Promise<void>((resolve) => shimIn.once('end', resolve));
    assert.equal(stdinData, 'typed ahead\n');
    await endSocket(track(shimWriter(io.fifos.stdout)));
    await attached;
  });

  it('a client that goes away is detached alone; the others keep streaming', async () => {
    const io = await open('leave', { tty: true });
    const leaver = fakeConn();
    const stayer = fakeConn();
    const a = io.attach(leaver.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    const b = io.attach(stayer.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    const out = track(shimWriter(io.fifos.stdout));
    out.write('one\n');
    await waitFor(() => leaver.received().length > 0);
    leaver.hangUp();
    await a;
    out.write('two\n');
    await endSocket(out);
    await b;
    assert.equal(stayer.received().toString(), 'one\ntwo\n');
  });

  it('a slow client does not hold back the others: its output is dropped past the cap', async () => {
    const io = await open('slow', { tty: true });
    const slow = fakeConn({ consume: false });
    const fast = fakeConn();
    void io.attach(slow.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    const fastDone = io.attach(fast.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    const out = track(shimWriter(io.fifos.stdout));
    const block = Buffer.alloc(64 * 1024, 0x61);
    const total = CLIENT_BUFFER_CAP + 2 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += block.length) {
      if (!out.write(block)) await new Promise((r) => out.once('drain', r));
    }
    await endSocket(out);
    await fastDone;
    assert.equal(fast.received().length, total);
    assert.ok(slow.conn.output.writableLength <= CLIENT_BUFFER_CAP + block.length);
    slow.hangUp();
  });

  it('bulk input from a real socket reaches a slow stdin byte for byte (the reused read buffer waits for pending writes)', async () => {
    const io = await open('bulk', { openStdin: true, stdinOnce: true });
    const path = join(dir, 'bulk.sock');
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer({ allowHalfOpen: true }, (s) => {
        server.close();
        resolve(s);
      });
      server.listen(path);
    });
    const client = track(createConnection(path));
    const serverSide = track(await accepted);
    const payload = randomBytes(6 * 1024 * 1024 + 12345);
    // Some input is queued on the socket before the attach is wired, as when an attach waits for its task.
    client.write(payload.subarray(0, 200_000));
    await waitFor(async () => serverSide.readableLength > 0);
    const c = fakeConn();
    const attached = io.attach({ ...c.conn, input: serverSide }, { stdin: true, stdout: true, stderr: true, logs: false, stream: true });
    // The rest is written while the shim has not opened stdin yet, then read slowly.
    const written = new Promise<void>((resolve) => client.end(payload.subarray(200_000), () => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    const shimIn = track(shimReader(io.fifos.stdin));
    const got = createHash('sha256');
    let bytes = 0;
    let reads = 0;
    shimIn.on('data', (d: Buffer) => {
      got.update(d);
      bytes += d.length;
      if (++reads % 8 === 0) {
        shimIn.pause();
        setTimeout(() => shimIn.resume(), 2);
      }
    });
    await new Promise<void>((resolve) => shimIn.once('end', resolve));
    await written;
    assert.equal(bytes, payload.length);
    assert.equal(got.digest('hex'), createHash('sha256').update(payload).digest('hex'));
    await Promise.all([endSocket(track(shimWriter(io.fifos.stdout))), endSocket(track(shimWriter(io.fifos.stderr)))]);
    await attached;
  });

  it('drained resolves after EOF and close ends attached clients', async () => {
    const io = await open('close');
    const c = fakeConn();
    const attached = io.attach(c.conn, { stdin: false, stdout: true, stderr: true, logs: false, stream: true });
    await io.close();
    await attached;
    await io.drained();
    assert.ok(c.isClosed());
  });
});
