import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FifoPool } from '../../src/daemon/io/index.js';

const root = mkdtempSync(join(tmpdir(), 'berth-fifo-pool-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('hands out spare FIFOs (mode 0600) and refills below the low-water mark', async (t) => {
  const dir = join(root, 'pool-a');
  // Leftovers of an earlier run are not trusted.
  const pool0 = await FifoPool.open(dir, { size: 4, lowWater: 2 });
  await pool0.settled();
  writeFileSync(join(dir, 'stale'), 'x');
  const pool = await FifoPool.open(dir, { size: 4, lowWater: 2 });
  t.after(() => pool.close());
  await pool.settled();
  assert.equal(pool.available, 4);
  assert.ok(!readdirSync(dir).includes('stale'));

  const made: string[] = [];
  for (let i = 0; i < 3; i++) {
    const path = join(root, `a-${i}`);
    await pool.make(path);
    made.push(path);
  }
  for (const path of made) {
    const st = lstatSync(path);
    assert.ok(st.isFIFO(), `${path} is a FIFO`);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.nlink, 1, 'the spare is unlinked once handed out');
  }
  await pool.settled();
  assert.equal(pool.available, 4, 'refilled after dropping below two spares');
  assert.equal(readdirSync(dir).length, 4);
});

test('keeps a FIFO that is already at the path, and refuses a file that is not a FIFO', async (t) => {
  const pool = await FifoPool.open(join(root, 'pool-b'), { size: 4 });
  t.after(() => pool.close());
  await pool.settled();
  const path = join(root, 'b-fifo');
  await pool.make(path);
  const ino = lstatSync(path).ino;
  await pool.make(path);
  assert.equal(lstatSync(path).ino, ino, 'the FIFO a shim may hold open stays');

  const file = join(root, 'b-file');
  writeFileSync(file, 'not a fifo');
  await assert.rejects(pool.make(file), /cannot create FIFO/);
});

test('makes FIFOs on demand while empty, and close removes the spares', async () => {
  const dir = join(root, 'pool-c');
  const pool = await FifoPool.open(dir, { size: 2, lowWater: 1 });
  // The first batch is still being made: these come from mkfifo directly or from it.
  const paths = [join(root, 'c-0'), join(root, 'c-1'), join(root, 'c-2')];
  await Promise.all(paths.map((p) => pool.make(p)));
  for (const p of paths) assert.ok(lstatSync(p).isFIFO());
  await pool.close();
  assert.equal(existsSync(dir), false);
  await pool.make(join(root, 'c-3'));
  assert.ok(lstatSync(join(root, 'c-3')).isFIFO(), 'a closed pool still makes FIFOs, on demand');
});
