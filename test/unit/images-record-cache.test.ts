import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { ContainerdClient, ContainerdEvent, ImageRecord } from '../../src/containerd/types.js';
import { RecordCache } from '../../src/daemon/images/record-cache.js';
import { silentLogger } from '../../src/log/index.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** images.list and events.subscribe, counted and driven by the test. */
class Fake {
  records: ImageRecord[] = [];
  lists = 0;
  filters: string[][] = [];
  onEvent: ((e: ContainerdEvent) => void) | undefined;
  onEnd: ((err?: Error) => void) | undefined;
  /** resolves the next list only when released (for races) */
  hold: Promise<void> | undefined;

  client(): ContainerdClient {
    return {
      images: {
        list: async () => {
          this.lists++;
          const snapshot = this.records.map((r) => ({ ...r }));
          await this.hold;
          return snapshot;
        },
      },
      events: {
        subscribe: (filters: string[], onEvent: (e: ContainerdEvent) => void, onEnd: (err?: Error) => void) => {
          this.filters.push(filters);
          this.onEvent = onEvent;
          this.onEnd = onEnd;
          return { close: () => undefined };
        },
      },
    } as unknown as ContainerdClient;
  }

  add(name: string): void {
    this.records.push({ name, target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${name}`, size: 1 }, labels: {} });
  }

  event(topic: string): void {
    this.onEvent?.({ namespace: 'ns', topic, event: { typeUrl: '', value: Buffer.alloc(0) } } as unknown as ContainerdEvent);
  }
}

let cache: RecordCache | undefined;
afterEach(() => cache?.close());

async function watching(fake: Fake): Promise<RecordCache> {
  cache = new RecordCache(fake.client(), silentLogger());
  cache.watch('ns');
  await sleep(200);
  assert.ok(cache.caching, 'kept once the subscription is in place');
  return cache;
}

test('without a watch every list asks containerd', async () => {
  const fake = new Fake();
  cache = new RecordCache(fake.client(), silentLogger());
  await cache.list();
  await cache.list();
  assert.equal(fake.lists, 2);
});

test('kept between changes; an image event of anyone drops it; the namespace is in the filter', async () => {
  const fake = new Fake();
  fake.add('a');
  const c = await watching(fake);
  assert.deepEqual(fake.filters, [['namespace=="ns",topic~="^/images/"', 'namespace=="ns",topic=="/content/delete"', 'namespace=="ns",topic=="/snapshot/remove"']]);
  assert.deepEqual((await c.list()).map((r) => r.name), ['a']);
  assert.deepEqual((await c.list()).map((r) => r.name), ['a']);
  assert.equal(fake.lists, 1);
  fake.add('b');
  fake.event('/images/create');
  assert.deepEqual((await c.list()).map((r) => r.name), ['a', 'b']);
  assert.equal(fake.lists, 2);
  assert.equal((await c.list(true)).length, 2);
  assert.equal(fake.lists, 3, 'fresh asks containerd');
});

test('own writes: nothing is kept while one runs, and a list that raced it is not kept', async () => {
  const fake = new Fake();
  fake.add('a');
  const c = await watching(fake);
  let release!: () => void;
  fake.hold = new Promise((resolve) => (release = resolve));
  const racing = c.list();
  const write = c.write(async () => {
    fake.add('b');
    assert.equal(c.caching, false);
  });
  release();
  fake.hold = undefined;
  await write;
  assert.deepEqual((await racing).map((r) => r.name), ['a'], 'the racing list saw the old state');
  assert.deepEqual((await c.list()).map((r) => r.name), ['a', 'b'], 'and was not kept');
});

test('a list is a copy: changing it changes nothing kept', async () => {
  const fake = new Fake();
  fake.add('a');
  const c = await watching(fake);
  (await c.list()).pop();
  assert.equal((await c.list()).length, 1);
});

test('when the event stream ends nothing is kept until a new one is in place', async () => {
  const fake = new Fake();
  fake.add('a');
  const c = await watching(fake);
  await c.list();
  fake.onEnd?.(new Error('containerd restarted'));
  assert.equal(c.caching, false);
  fake.add('b');
  assert.equal((await c.list()).length, 2);
  await c.list();
  assert.equal(fake.lists, 3, 'every list asks containerd meanwhile');
  await sleep(400);
  assert.equal(fake.filters.length, 2, 'subscribed again');
  assert.ok(c.caching);
});

test('images found complete are remembered until an image event or a removal of content or of a snapshot; those removals keep the list', async () => {
  const fake = new Fake();
  fake.add('a');
  const c = await watching(fake);
  await c.list();
  let checks = 0;
  const check = async (): Promise<boolean> => {
    checks++;
    return true;
  };
  assert.equal(c.knownComplete('sha256:a'), false);
  assert.equal(await c.checkComplete('sha256:a', check), true);
  assert.equal(c.knownComplete('sha256:a'), true);
  for (const topic of ['/content/delete', '/snapshot/remove', '/images/update']) {
    fake.event(topic);
    assert.equal(c.knownComplete('sha256:a'), false, `forgotten on ${topic}`);
    await c.checkComplete('sha256:a', check);
  }
  assert.equal(checks, 4);
  await c.list();
  assert.equal(fake.lists, 2, 'only the image event dropped the list');
  // An incomplete answer is not kept, nor one that raced a removal.
  fake.event('/content/delete');
  assert.equal(await c.checkComplete('sha256:a', async () => false), false);
  assert.equal(c.knownComplete('sha256:a'), false);
  await c.checkComplete('sha256:a', async () => {
    fake.event('/snapshot/remove');
    return true;
  });
  assert.equal(c.knownComplete('sha256:a'), false, 'a check that raced a removal is not kept');
  // Nothing is remembered while the event stream is down.
  await c.checkComplete('sha256:a', check);
  fake.onEnd?.(new Error('containerd restarted'));
  assert.equal(c.knownComplete('sha256:a'), false);
});
