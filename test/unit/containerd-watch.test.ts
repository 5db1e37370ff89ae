// watchEvents survives a client that throws when subscribing (closed under it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchEvents, type ContainerdClient } from '../../src/containerd/index.js';

test('a subscription that throws is a lost one: retried with backoff, never thrown from the timer', async () => {
  let calls = 0;
  const client = {
    events: {
      subscribe: () => {
        calls++;
        throw new Error('Channel has been shut down');
      },
    },
  } as unknown as ContainerdClient;
  const lost: string[] = [];
  const w = watchEvents(client, [], { onEvent: () => undefined, onReady: () => undefined, onLost: (err) => lost.push(err?.message ?? '') });
  await new Promise((r) => setTimeout(r, 350));
  w.close();
  assert.ok(calls >= 2, `retried: ${calls}`);
  assert.equal(lost[0], 'Channel has been shut down');
});
