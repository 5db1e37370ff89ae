// SPEC §3: read-copy-update store — immutable snapshots, serialized
// reloads, refused reloads that change nothing, wrappers that outlive reloads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import {
  ConfigStore,
  effectiveLogLevel,
  reloadEventAttributes,
  type DaemonFlags,
  type Snapshot,
} from '../../src/config/index.js';
import { decodeShimOptions, resolveRuntime, type RuntimeConfig } from '../../src/runtimes/index.js';

let dir: string;
let counter = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh data root and config file for one test. */
function setup(initial: unknown): { flags: DaemonFlags; file: string; root: string; write: (v: unknown) => void } {
  const root = join(dir, `t${++counter}`);
  const file = join(dir, `t${counter}.json`);
  const write = (v: unknown): void => writeFileSync(file, typeof v === 'string' ? v : JSON.stringify(v));
  write(initial);
  return { flags: { configFile: file, dataRoot: root }, file, root, write };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function wrapperPaths(s: Snapshot): string[] {
  return [...s.runtimes.byName.values()].flatMap((rt) => (rt.wrapperPath === undefined ? [] : [rt.wrapperPath]));
}

test('a snapshot is deep-frozen and current() is the same object until a reload', async () => {
  const { flags } = setup({ runtimes: { a: { path: '/bin/true', runtimeArgs: ['x'] } }, labels: ['k=v'] });
  const store = await ConfigStore.open(flags);
  const s = store.current();
  assert.equal(store.current(), s);
  assert.equal(s.generation, 1);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.config) && Object.isFrozen(s.config.labels));
  assert.ok(Object.isFrozen(s.config.runtimes.a) && Object.isFrozen(s.config.runtimes.a!.runtimeArgs));
  assert.ok(Object.isFrozen(s.runtimes) && Object.isFrozen(s.runtimes.byName.get('a')));
  assert.throws(() => {
    (s.config.labels as string[]).push('x');
  }, TypeError);
  assert.throws(() => {
    (s.config as { debug: boolean }).debug = true;
  }, TypeError);
  assert.equal(typeof (s.runtimes.byName as unknown as { set?: unknown }).set, 'undefined');
});

test('a successful reload swaps the snapshot, then runs commit hooks, then tells listeners', async () => {
  const { flags, write, file } = setup({ runtimes: { a: { path: '/bin/true' } } });
  const store = await ConfigStore.open(flags);
  const first = store.current();
  const order: string[] = [];
  store.onCommit((next, prev) => {
    assert.equal(store.current(), next);
    assert.equal(prev, first);
    order.push('commit');
  });
  store.onCommit(() => {
    throw new Error('a broken side effect does not undo the swap');
  });
  const outcomes: unknown[] = [];
  store.onReload((o) => {
    order.push('listener');
    outcomes.push(o);
  });
  write({ runtimes: { b: { runtimeType: 'io.containerd.runsc.v1' } }, 'default-runtime': 'b', debug: true, labels: ['x=1'] });
  const outcome = await store.reload();
  assert.ok(outcome.ok);
  assert.deepEqual(order, ['commit', 'listener']);
  assert.equal(outcomes[0], outcome);
  assert.equal(outcome.configFile, file);
  assert.equal(outcome.previous, first);
  assert.equal(outcome.snapshot, store.current());
  assert.equal(store.current().generation, 2);
  assert.deepEqual(outcome.changed.sort(), ['debug', 'default-runtime', 'labels', 'runtimes']);
  assert.deepEqual(outcome.ignored, []);
  assert.deepEqual(reloadEventAttributes(outcome), {
    runtimes: 'b,io.containerd.runc.v2,runc',
    'default-runtime': 'b',
    debug: 'true',
    'log-level': 'info',
    labels: '["x=1"]',
    'live-restore': 'false',
    'shutdown-timeout': '15',
    'max-concurrent-downloads': '3',
    'registry-mirrors': '[]',
    'insecure-registries': '[]',
    'max-concurrent-uploads': '5',
    'max-download-attempts': '5',
  });
  assert.equal(effectiveLogLevel(store.current().config), 'debug');
  // the old snapshot still resolves its own runtimes
  assert.equal(resolveRuntime(first, 'a').shim, 'io.containerd.runc.v2');
  assert.throws(() => resolveRuntime(store.current(), 'a'), /unknown or invalid runtime name: a/);
});

test('a refused reload changes nothing: the very same snapshot object stays', async () => {
  const { flags, write, file } = setup({ runtimes: { a: { path: '/bin/true' } } });
  const store = await ConfigStore.open(flags);
  const first = store.current();
  const seen: string[] = [];
  store.onCommit(() => {
    seen.push('commit');
  });
  store.onReload((o) => seen.push(o.ok ? 'ok' : 'refused'));
  const broken: [unknown, RegExp][] = [
    ['{"runtimes": {', new RegExp(`^invalid JSON in ${file} at line 1, column 15`)],
    [{ runtimes: { runc: { path: '/x' } } }, /^runtime name 'runc' is reserved$/],
    [{ 'default-runtime': 'nope' }, /^specified default runtime 'nope' does not exist$/],
    [{ nonsense: 1 }, new RegExp(`^unknown configuration keys in ${file}: nonsense$`)],
    [{ runtimes: { k: { runtimeType: 'io.containerd.runc.v2', options: { Foo: 1 } } } }, /^runtime k: option Foo: /],
  ];
  for (const [content, message] of broken) {
    write(content);
    const outcome = await store.reload();
    assert.equal(outcome.ok, false);
    assert.equal(outcome.configFile, file);
    assert.match(outcome.errors[0]!, message);
    assert.equal(store.current(), first);
    assert.equal(outcome.snapshot, first);
    assert.match(reloadEventAttributes(outcome).error!, message);
    assert.equal(reloadEventAttributes(outcome).runtimes, 'a,io.containerd.runc.v2,runc');
  }
  rmSync(file);
  const gone = await store.reload();
  assert.equal(gone.ok, false);
  assert.match(gone.errors[0]!, /no such file or directory/);
  assert.equal(store.current(), first);
  assert.deepEqual(seen, ['refused', 'refused', 'refused', 'refused', 'refused', 'refused']);
});

test('changed settings that need a restart are reported as ignored, and not applied', async () => {
  const { flags, write, root } = setup({});
  write({ 'exec-root': join(dir, 'exec-a'), 'data-root': root });
  const store = await ConfigStore.open({ configFile: flags.configFile });
  write({ 'exec-root': join(dir, 'exec-b'), 'data-root': `${root}-b`, 'shutdown-timeout': 5 });
  const outcome = await store.reload();
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.ignored.sort(), ['data-root', 'exec-root', 'pidfile']);
  assert.deepEqual(outcome.changed, ['shutdown-timeout']);
  assert.equal(store.current().config.execRoot, join(dir, 'exec-a'));
  assert.equal(store.current().config.dataRoot, root);
  assert.equal(store.current().config.shutdownTimeout, 5);
});

test('a key removed from the file goes back to its default; flags keep precedence', async () => {
  const { flags, write } = setup({ debug: true, 'max-concurrent-downloads': 9 });
  const store = await ConfigStore.open({ ...flags, labels: ['from=flag'] });
  write({});
  const outcome = await store.reload();
  assert.ok(outcome.ok);
  assert.equal(store.current().config.debug, false);
  assert.equal(store.current().config.maxConcurrentDownloads, 3);
  assert.deepEqual(store.current().config.labels, ['from=flag']);
  write({ labels: ['from=file'] });
  const conflict = await store.reload();
  assert.equal(conflict.ok, false);
  assert.match(conflict.errors[0]!, /^the following directives are specified both as a flag and in the configuration file: labels:/);
  assert.deepEqual(store.current().config.labels, ['from=flag']);
});

test('concurrent reload() calls are serialized; callers arriving while one waits share it', async () => {
  const { flags, file } = setup({});
  let active = 0;
  let maxActive = 0;
  let reads = 0;
  const gates: (() => void)[] = [];
  const readFile = async (name: string): Promise<string> => {
    reads++;
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((resolve) => gates.push(resolve));
    active--;
    return readFileSync(name, 'utf8');
  };
  const store = await ConfigStore.open(flags, { readFile: async (name) => readFileSync(name, 'utf8') });
  const gated = new ConfigStore({ flags, initial: store.current(), wrappers: store.wrappers, readFile });
  const p1 = gated.reload();
  while (gates.length === 0) await tick();
  const p2 = gated.reload();
  const p3 = gated.reload();
  assert.equal(p2, p3);
  assert.notEqual(p1, p2);
  gates.shift()!();
  while (gates.length === 0) await tick();
  const p4 = gated.reload();
  assert.notEqual(p4, p2);
  gates.shift()!();
  while (gates.length === 0) await tick();
  gates.shift()!();
  const [o1, o2, o3, o4] = await Promise.all([p1, p2, p3, p4]);
  assert.equal(reads, 3);
  assert.equal(maxActive, 1);
  assert.deepEqual([o1.snapshot.generation, o2.snapshot.generation, o3.snapshot.generation, o4.snapshot.generation], [2, 3, 3, 4]);
  assert.equal(o1.configFile, file);
});

test('1,000 reloads alternating args: every wrapper keeps its bytes and stays; one file per distinct content', async () => {
  const config = (i: number): unknown => ({
    runtimes: {
      alt: { path: '/bin/true', runtimeArgs: i % 2 === 0 ? ['--even', 'a b'] : ['--odd', "it's"] },
      five: { path: '/bin/true', runtimeArgs: [`--n=${i % 5}`] },
      fixed: { path: '/bin/true', runtimeArgs: ['--fixed'] },
      ...(i % 3 === 0 && { sometimes: { path: '/bin/true', runtimeArgs: ['--sometimes'] } }),
      plain: { path: '/bin/true' },
    },
  });
  const { flags, write, root } = setup(config(0));
  const store = await ConfigStore.open(flags);
  const hashes = new Map<string, string>();
  const check = (s: Snapshot): void => {
    for (const path of wrapperPaths(s)) {
      const h = hashes.get(path);
      if (h === undefined) hashes.set(path, sha(path));
      else assert.ok(existsSync(path), path);
    }
  };
  check(store.current());
  for (let i = 1; i <= 1000; i++) {
    write(config(i));
    const outcome = await store.reload();
    assert.ok(outcome.ok, outcome.errors.join('\n'));
    check(outcome.snapshot);
  }
  assert.equal(store.current().generation, 1001);
  for (const [path, hash] of hashes) assert.equal(sha(path), hash, path);
  // alt: 2 contents, five: 5, fixed: 1, sometimes: 1
  assert.equal(hashes.size, 9);
  assert.deepEqual(readdirSync(join(root, 'runtimes')).sort(), [...hashes.keys()].map((p) => basename(p)).sort());
});

test('an operation holding a snapshot across awaits sees one config while 100 reloads happen', async () => {
  const config = (i: number): unknown => ({
    runtimes: { r: { path: '/bin/true', runtimeArgs: [`--generation=${i}`] }, [`only-${i}`]: { path: '/bin/true' } },
    'default-runtime': 'r',
    labels: [`i=${i}`],
  });
  const { flags, write } = setup(config(0));
  const store = await ConfigStore.open(flags);
  const held = store.current();
  const before = JSON.stringify(held.config);
  const wrapper = held.runtimes.byName.get('r')!.wrapperPath!;
  const binaryName = decodeShimOptions(resolveRuntime(held, '').options!).binary_name;
  let reloading = true;
  const reloads = (async () => {
    for (let i = 1; i <= 100; i++) {
      write(config(i));
      assert.ok((await store.reload()).ok);
    }
    reloading = false;
  })();
  let checks = 0;
  while (reloading) {
    await tick();
    assert.equal(JSON.stringify(held.config), before);
    assert.equal(held.runtimes.defaultRuntime, 'r');
    assert.ok(held.runtimes.byName.has('only-0'));
    assert.equal(decodeShimOptions(resolveRuntime(held, '').options!).binary_name, binaryName);
    assert.ok(existsSync(wrapper));
    checks++;
  }
  await reloads;
  assert.ok(checks > 10);
  assert.equal(store.current().generation, 101);
  assert.notEqual(store.current(), held);
  assert.ok(existsSync(wrapper));
  assert.equal(readFileSync(wrapper, 'utf8').includes("'--generation=0'"), true);
});

test('a reload with 200 runtimes takes well under 50 ms once their wrappers exist', async (t) => {
  const runtimes = (variant: number): Record<string, RuntimeConfig> => {
    const out: [string, RuntimeConfig][] = [];
    for (let i = 0; i < 180; i++) out.push([`rt-${i}`, { path: '/usr/sbin/runc', runtimeArgs: ['--root', `/run/rt-${i}`, `--v=${variant}`] }]);
    for (let i = 0; i < 10; i++) out.push([`shim-${i}`, { runtimeType: 'io.containerd.runc.v2', options: { SystemdCgroup: true, Root: `/run/s${i}` } }]);
    for (let i = 0; i < 10; i++) out.push([`bin-${i}`, { path: `/usr/local/bin/rt-${i}` }]);
    return Object.fromEntries(out);
  };
  const { flags, write } = setup({ runtimes: runtimes(0) });
  const store = await ConfigStore.open(flags);
  write({ runtimes: runtimes(1) });
  assert.ok((await store.reload()).ok); // writes the second set of wrappers
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    write({ runtimes: runtimes(i % 2), debug: i % 3 === 0 });
    const t0 = performance.now();
    const outcome = await store.reload();
    times.push(performance.now() - t0);
    assert.ok(outcome.ok);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1]!;
  assert.ok(median < 50, `median reload ${median.toFixed(1)} ms`);
  t.diagnostic(`reload with 200 runtimes: median ${median.toFixed(2)} ms, max ${times[times.length - 1]!.toFixed(2)} ms`);
});

test('start-up clean-up keeps current wrappers and those of surviving containers', async () => {
  const { flags, write, root } = setup({ runtimes: { old: { path: '/bin/true', runtimeArgs: ['--old'] } } });
  const earlier = await ConfigStore.open(flags);
  const survivor = earlier.current().runtimes.byName.get('old')!.wrapperPath!;
  write({ runtimes: { stale: { path: '/bin/true', runtimeArgs: ['--stale'] } } });
  const stale = (await ConfigStore.open(flags)).current().runtimes.byName.get('stale')!.wrapperPath!;
  write({ runtimes: { now: { path: '/bin/true', runtimeArgs: ['--now'] } } });
  // a restart: a new store over the same data root
  const store = await ConfigStore.open(flags);
  const current = store.current().runtimes.byName.get('now')!.wrapperPath!;
  const removed = await store.cleanupStaleWrappers([survivor]);
  assert.deepEqual(removed, [stale]);
  assert.deepEqual(readdirSync(join(root, 'runtimes')).sort(), [basename(current), basename(survivor)].sort());
});
