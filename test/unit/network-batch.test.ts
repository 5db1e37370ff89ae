// The batcher of umounts (pure): the first item runs alone, those arriving
// meanwhile go together in the next run, a failed run still settles its callers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from '../../src/network/batch.js';

test('items arriving while a run is under way go together in the next run', async () => {
  const runs: string[][] = [];
  let release!: () => void;
  const b = new Batcher<string>(async (items) => {
    runs.push(items);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  });
  const first = b.add('a');
  const later = [b.add('b'), b.add('c')];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(runs, [['a']]);
  release();
  await Promise.all([first, ...later]);
  assert.deepEqual(runs, [['a'], ['b', 'c']]);
  await b.add('d');
  assert.deepEqual(runs.at(-1), ['d']);
});

test('a failed run settles its callers and the next batch still runs', async () => {
  const runs: number[][] = [];
  const b = new Batcher<number>(async (items) => {
    runs.push(items);
    if (items.includes(1)) throw new Error('not mounted');
  });
  await Promise.all([b.add(1), b.add(2)]);
  await b.add(3);
  assert.deepEqual(runs, [[1], [2], [3]]);
});
