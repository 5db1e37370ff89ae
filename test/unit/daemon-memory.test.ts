import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { collectAfterBurst } from '../../src/daemon/memory.js';

const holder = globalThis as { gc?: () => void };
let saved: (() => void) | undefined;
let collections = 0;

beforeEach(() => {
  saved = holder.gc;
  collections = 0;
  holder.gc = () => {
    collections++;
  };
  mock.timers.enable({ apis: ['setTimeout'] });
});

afterEach(() => {
  mock.timers.reset();
  holder.gc = saved;
});

test('one collection after the bursts, once the daemon has been quiet for a second', () => {
  collectAfterBurst();
  mock.timers.tick(600);
  collectAfterBurst();
  mock.timers.tick(600);
  assert.equal(collections, 0, 'the second burst restarted the quiet period');
  mock.timers.tick(400);
  assert.equal(collections, 1);
  mock.timers.tick(5000);
  assert.equal(collections, 1);
  collectAfterBurst();
  mock.timers.tick(1000);
  assert.equal(collections, 2);
});

test('without --expose-gc nothing is scheduled', () => {
  holder.gc = undefined;
  collectAfterBurst();
  mock.timers.tick(2000);
  assert.equal(collections, 0);
});
