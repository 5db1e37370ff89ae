import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { borrowReads } from '../../src/daemon/io/borrowed-reads.js';

describe('borrowed reads', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-borrow-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function pair(name: string): Promise<{ client: Socket; server: Socket }> {
    const path = join(dir, name);
    const accepted = new Promise<Socket>((resolve) => {
      const srv = createServer({ allowHalfOpen: true }, (s) => {
        srv.close();
        resolve(s);
      });
      srv.listen(path);
    });
    const client = createConnection(path);
    return { client, server: await accepted };
  }

  it('reads every byte into one buffer, pauses while a chunk is held, and still ends', async () => {
    const { client, server } = await pair('a.sock');
    try {
      const views = new Set<ArrayBufferLike>();
      let total = 0;
      let held = 0;
      const reads = borrowReads(server, (view) => {
        views.add(view.buffer);
        total += view.length;
        // Every third chunk is "still being written": reads stop until resume.
        if (++held % 3 !== 0) return true;
        setTimeout(() => reads?.resume(), 5);
        return false;
      });
      assert.ok(reads !== undefined);
      const ended = new Promise<void>((resolve) => server.once('end', resolve));
      const block = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 16; i++) client.write(block);
      client.end();
      await ended;
      assert.equal(total, 16 * block.length);
      assert.equal(views.size, 1, 'one buffer for every read');
    } finally {
      client.destroy();
      server.destroy();
    }
  });

  it('drops what arrives after stop', async () => {
    const { client, server } = await pair('b.sock');
    try {
      let total = 0;
      const reads = borrowReads(server, (view) => {
        total += view.length;
        return true;
      });
      reads?.stop();
      const ended = new Promise<void>((resolve) => server.once('end', resolve));
      client.end(Buffer.alloc(100_000));
      await ended;
      assert.equal(total, 0);
    } finally {
      client.destroy();
      server.destroy();
    }
  });
});
