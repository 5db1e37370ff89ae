// `berthd --validate`: a report, no side effects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfigFile } from '../../src/config/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-validate-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('a good file is OK, writes nothing, and warns about names Kubernetes cannot use', async () => {
  const root = join(dir, 'root');
  const path = file(
    'good.json',
    JSON.stringify({ 'data-root': root, runtimes: { gvisor: { runtimeType: 'io.containerd.runsc.v1' }, My_Args: { path: '/bin/true', runtimeArgs: ['x'] } } }),
  );
  const report = await validateConfigFile(path, {});
  assert.equal(report.ok, true);
  assert.equal(report.fileName, path);
  assert.deepEqual(report.errors, []);
  assert.equal(report.warnings.length, 1);
  assert.match(report.warnings[0]!, /^runtime "My_Args" cannot be a Kubernetes RuntimeClass handler/);
  assert.equal(existsSync(root), false);
});

test('a bad file reports every error', async () => {
  const path = file('bad.json', JSON.stringify({ foo: 1, runtimes: { runc: { path: '/x' }, a: {} }, 'default-runtime': 'nope' }));
  const report = await validateConfigFile(path, {});
  assert.equal(report.ok, false);
  assert.deepEqual(report.errors, [
    `unknown configuration keys in ${path}: foo`,
    "runtime name 'runc' is reserved",
    'runtime a: either a runtimeType or a path must be configured',
    "specified default runtime 'nope' does not exist",
  ]);
});

test('flags take part: conflicts are found', async () => {
  const path = file('conflict.json', '{"debug": true}');
  const report = await validateConfigFile(undefined, { configFile: path, debug: true });
  assert.equal(report.ok, false);
  assert.match(report.errors[0]!, /^the following directives are specified both as a flag and in the configuration file: debug:/);
});

test('a missing named file is an error; a syntax error has its line and column', async () => {
  const missing = join(dir, 'nope.json');
  const report = await validateConfigFile(missing, {});
  assert.equal(report.ok, false);
  assert.deepEqual(report.errors, [`cannot read configuration file ${missing}: no such file or directory`]);
  const syntax = await validateConfigFile(file('syntax.json', '{\n"debug": }'), {});
  assert.match(syntax.errors[0]!, /at line 2, column 10/);
});
