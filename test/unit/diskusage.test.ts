// system df composition and the bytes an image prune frees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskUsage, usageTypes } from '../../src/diskusage/index.js';
import { freedBlobBytes } from '../../src/daemon/images/service.js';

test('usage types: none means all, unknown ones are named', () => {
  assert.deepEqual([...(usageTypes([]) as Set<string>)].sort(), ['build-cache', 'container', 'image', 'volume']);
  assert.deepEqual([...(usageTypes(['volume']) as Set<string>)], ['volume']);
  assert.equal(usageTypes(['volume', 'nope']), 'nope');
});

test('df: container counts per image, SizeRootFs = SizeRw + image size', async () => {
  const out = await diskUsage(
    {
      images: async () => [{ Id: 'a', Size: 100, SharedSize: 0, Containers: -1 }, { Id: 'b', Size: 50, SharedSize: 0, Containers: -1 }],
      containers: () => [{ Id: 'c1', ImageID: 'a' }, { Id: 'c2', ImageID: 'a' }],
      sizeRw: async (id) => (id === 'c1' ? 7 : 0),
      volumes: async () => [{ Name: 'v' }],
    },
    new Set(['image', 'container', 'volume', 'build-cache'] as const),
  );
  assert.equal(out.LayersSize, 150);
  assert.deepEqual(out.Images?.map((i) => i.Containers), [2, 0]);
  assert.deepEqual(out.Containers?.map((c) => [c.SizeRw, c.SizeRootFs]), [[7, 107], [0, 100]]);
  assert.deepEqual(out.Volumes, [{ Name: 'v' }]);
  assert.deepEqual(out.BuildCache, []);
});

test('image prune counts only the blobs no remaining image references', () => {
  const d = (digest: string, size: number) => ({ mediaType: 'x', digest, size });
  const entry = (id: string, layers: Array<ReturnType<typeof d>>) =>
    ({ id, manifest: { descriptor: d(`m-${id}`, 1), config: d(`c-${id}`, 10), layers } }) as unknown as Parameters<typeof freedBlobBytes>[0][number];
  const shared = d('base', 1000);
  const entries = [entry('x', [shared, d('top-x', 200)]), entry('y', [shared])];
  assert.equal(freedBlobBytes(entries, new Set(['x'])), 1 + 10 + 200);
  assert.equal(freedBlobBytes(entries, new Set(['x', 'y'])), 1 + 10 + 200 + 1 + 10 + 1000);
  assert.equal(freedBlobBytes(entries, new Set()), 0);
});
