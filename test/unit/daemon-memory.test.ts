import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { createMemorySettler, type MemorySettler } from '../../src/daemon/memory.js';

let collections = 0;
let heap = 10 * 1024 * 1024;
let settler: MemorySettler | undefined;

const make = (gc: (() => void) | null = () => collections++): MemorySettler => {
  settler = createMemorySettler({ gc, quietMs: 1000, collections: 4, footprint: () => heap });
  return settler;
};

/** Runs the setImmediate chain of a series to its end. */
async function drain(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

beforeEach(() => {
  collections = 0;
  heap = 10 * 1024 * 1024;
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
});

afterEach(() => {
  settler?.stop();
  mock.timers.reset();
});

test('a series of collections once quiet for the whole period, not before', async () => {
  const s = make();
  s.noteActivity();
  mock.timers.tick(600);
  s.noteActivity();
  mock.timers.tick(600);
  await drain();
  assert.equal(collections, 0, 'activity restarted the quiet period');
  mock.timers.tick(400);
  await drain();
  assert.equal(collections, 4, 'one series of four, one per turn of the event loop');
  mock.timers.tick(5000);
  await drain();
  assert.equal(collections, 4, 'nothing more while nothing happens');
});

test('later activity settles again only when the resident set grew', async () => {
  const s = make();
  s.noteActivity();
  mock.timers.tick(1000);
  await drain();
  assert.equal(collections, 4);
  s.noteActivity();
  mock.timers.tick(1000);
  await drain();
  assert.equal(collections, 4, 'same footprint: no new series');
  heap += 2 * 1024 * 1024;
  s.noteActivity();
  mock.timers.tick(1000);
  await drain();
  assert.equal(collections, 8);
});

test('activity during a series stops it; a later quiet period runs a whole one', async () => {
  const s = make(() => {
    collections++;
    if (collections === 2) s.noteActivity();
  });
  s.noteActivity();
  mock.timers.tick(1000);
  await drain();
  assert.equal(collections, 2, 'stopped after the collection during which a request came');
  mock.timers.tick(1000);
  await drain();
  assert.equal(collections, 6);
});

test('without --expose-gc nothing is scheduled', async () => {
  const s = make(null);
  s.noteActivity();
  mock.timers.tick(5000);
  await drain();
  assert.equal(collections, 0);
});
