// Signal names and numbers as the API takes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignal, signalName } from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

test('names with or without SIG, any case, and numbers', () => {
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('sigterm'), 15);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('HUP'), 1);
  assert.equal(parseSignal('SIGUSR1'), 10);
  assert.equal(parseSignal('RTMIN+1'), 35);
  assert.equal(signalName(15), 'SIGTERM');
});

test('invalid signals are a 400 with dockerd message', () => {
  for (const s of ['FOO', '0', '65', '-1', '', 'SIG']) {
    assert.throws(() => parseSignal(s), (e: unknown) => isKind(e, 'invalid-parameter') && (e as Error).message === `Invalid signal: ${s}`, s);
  }
});
