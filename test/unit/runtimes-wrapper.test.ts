// SPEC §2: wrapper scripts — exact argv under hostile arguments, safe file
// names, atomic content-addressed writes, start-up clean-up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  cleanupStaleWrappers,
  safeWrapperName,
  shellQuote,
  wrapperFileName,
  wrapperScript,
  WrapperStore,
} from '../../src/runtimes/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-wrapper-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A runtime stand-in that writes its argv, NUL-separated, to $ARGV_OUT. */
function argvRecorder(path: string): void {
  writeFileSync(
    path,
    `#!${process.execPath}\nrequire('fs').writeFileSync(process.env.ARGV_OUT, process.argv.slice(2).map((a) => a + '\\0').join(''));\n`,
  );
  chmodSync(path, 0o755);
}

function recordedArgv(file: string): string[] {
  const raw = readFileSync(file, 'utf8');
  assert.ok(raw === '' || raw.endsWith('\0'));
  return raw === '' ? [] : raw.slice(0, -1).split('\0');
}

test('the target receives exactly the configured args, then the shim args', async () => {
  const work = join(dir, 'hostile');
  mkdirSync(work);
  const target = join(work, "my runtime's \"bin\"");
  argvRecorder(target);
  const pwned = join(work, 'pwned');
  const hostile = [
    'a b',
    "it's",
    '"double"',
    `x; touch ${pwned}-semicolon`,
    `$(touch ${pwned})`,
    `\`touch ${pwned}-backtick\``,
    'line1\nline2',
    '',
    '*',
    '$HOME',
    '${PATH}',
    '\\',
    "'",
    "''",
    '--',
    '-e',
    '| cat',
    '&& true',
    '> out',
    '~',
    '\t',
    'ü ✓ ランタイム',
    '!',
  ];
  const store = new WrapperStore(join(work, 'runtimes'));
  const wrapper = await store.ensure('hostile', target, hostile);
  const out = join(work, 'argv');
  const shimArgs = ['create', '--bundle', '/run/x y', '', '$(touch nothing)'];
  execFileSync(wrapper, shimArgs, { env: { ...process.env, ARGV_OUT: out }, cwd: work });
  assert.deepEqual(recordedArgv(out), [...hostile, ...shimArgs]);
  for (const suffix of ['', '-semicolon', '-backtick']) assert.equal(existsSync(pwned + suffix), false);
  assert.equal(existsSync(join(work, 'out')), false);
});

test('no configured args but the shim args pass through unchanged', async () => {
  const work = join(dir, 'noargs');
  mkdirSync(work);
  const target = join(work, 'rt');
  argvRecorder(target);
  const wrapper = await new WrapperStore(join(work, 'runtimes')).ensure('rt', target, []);
  const out = join(work, 'argv');
  execFileSync(wrapper, ['state', 'abc'], { env: { ...process.env, ARGV_OUT: out } });
  assert.deepEqual(recordedArgv(out), ['state', 'abc']);
});

test('shell quoting', () => {
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(wrapperScript('/bin/rt', ['a b']), `#!/bin/sh\n# berth runtime wrapper: generated, never edited in place.\nexec '/bin/rt' 'a b' "$@"\n`);
});

test('wrapper file names stay inside the folder whatever the runtime name', async () => {
  const folder = join(dir, 'names', 'runtimes');
  const store = new WrapperStore(folder);
  const names = ['../../x', 'a/b', '.', '..', '', '...', '.hidden', 'ランタイム', 'a\nb', '/etc/passwd', 'x'.repeat(300), 'a..b', 'ok-name_1.v2'];
  const seen = new Set<string>();
  for (const name of names) {
    const path = await store.ensure(name, '/bin/true', ['--flag']);
    assert.equal(dirname(path), folder, name);
    const file = basename(path);
    assert.match(file, /^[A-Za-z0-9_.-]+\.[0-9a-f]{64}$/, name);
    const namePart = file.slice(0, -65);
    assert.ok(!namePart.startsWith('.') && !namePart.includes('..') && !namePart.includes('/') && namePart !== '', name);
    seen.add(file);
  }
  assert.equal(safeWrapperName('ok-name_1.v2'), 'ok-name_1.v2');
  assert.deepEqual(readdirSync(folder).sort(), [...seen].sort());
});

test('mode 0700 for the folder and the scripts; content named by its hash', async () => {
  const folder = join(dir, 'modes', 'runtimes');
  const path = await new WrapperStore(folder).ensure('r', '/bin/true', ['x']);
  assert.equal(statSync(folder).mode & 0o777, 0o700);
  assert.equal(statSync(path).mode & 0o777, 0o700);
  const content = readFileSync(path, 'utf8');
  assert.equal(basename(path), wrapperFileName('r', content));
  assert.equal(content, wrapperScript('/bin/true', ['x']));
});

test('writing an existing wrapper is a no-op; concurrent writes of one wrapper share one write', async () => {
  const folder = join(dir, 'noop', 'runtimes');
  const store = new WrapperStore(folder);
  const [p1, p2] = await Promise.all([store.ensure('r', '/bin/true', ['a']), store.ensure('r', '/bin/true', ['a'])]);
  assert.equal(p1, p2);
  const st = statSync(p1);
  assert.equal(await store.ensure('r', '/bin/true', ['a']), p1);
  // another process (a restart) trusts the file once its bytes match
  assert.equal(await new WrapperStore(folder).ensure('r', '/bin/true', ['a']), p1);
  const st2 = statSync(p1);
  assert.equal(st2.ino, st.ino);
  assert.equal(st2.mtimeMs, st.mtimeMs);
  assert.deepEqual(readdirSync(folder), [basename(p1)]);
  assert.ok(store.written().has(p1));
});

test('a damaged wrapper found at start is replaced by the right content', async () => {
  const folder = join(dir, 'damaged', 'runtimes');
  const path = await new WrapperStore(folder).ensure('r', '/bin/true', ['a']);
  writeFileSync(path, 'garbage');
  assert.equal(await new WrapperStore(folder).ensure('r', '/bin/true', ['a']), path);
  assert.equal(readFileSync(path, 'utf8'), wrapperScript('/bin/true', ['a']));
  assert.deepEqual(readdirSync(folder), [basename(path)]);
});

test('start-up clean-up removes only what is not kept', async () => {
  const folder = join(dir, 'cleanup', 'runtimes');
  const store = new WrapperStore(folder);
  const keepAbs = await store.ensure('a', '/bin/true', ['1']);
  const keepName = await store.ensure('b', '/bin/true', ['2']);
  const stale = await store.ensure('c', '/bin/true', ['3']);
  writeFileSync(join(folder, '.tmp-0123'), 'interrupted write');
  mkdirSync(join(folder, 'subdir'));
  const removed = await cleanupStaleWrappers(folder, new Set([keepAbs, basename(keepName)]));
  assert.deepEqual(removed.sort(), [join(folder, '.tmp-0123'), stale].sort());
  assert.deepEqual(readdirSync(folder).sort(), [basename(keepAbs), basename(keepName), 'subdir'].sort());
  assert.deepEqual(await cleanupStaleWrappers(join(dir, 'absent'), new Set()), []);
});
