import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../../src/atomicfile/index.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('replaces the content whole, with the mode asked for, and leaves no temporary file', async () => {
  const file = join(dir, 'state.json');
  writeFileSync(file, 'old');
  await writeFileAtomic(file, 'new content');
  assert.equal(readFileSync(file, 'utf8'), 'new content');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await writeFileAtomic(file, Buffer.from('#!/bin/sh\n'), { mode: 0o700, syncFolder: true });
  assert.equal(statSync(file).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('a rename that fails removes the temporary file and keeps what was there', async () => {
  const target = join(dir, 'occupied');
  mkdirSync(join(target, 'inside'), { recursive: true });
  await assert.rejects(writeFileAtomic(target, 'x'));
  assert.ok(statSync(target).isDirectory());
  assert.deepEqual(readdirSync(dir).sort(), ['occupied', 'state.json']);
});
