// Names and ids: validation, random names, id form, prefix lookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newContainerId, normalizeName, randomName } from '../../src/daemon/containers/index.js';
import { Registry } from '../../src/daemon/containers/registry.js';
import type { Container } from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

test('valid names, with or without the leading slash', () => {
  assert.equal(normalizeName('web'), 'web');
  assert.equal(normalizeName('/web.1_a-b'), 'web.1_a-b');
});

test('invalid names get dockerd message', () => {
  for (const name of ['a', '-x', '_x', 'a/b', '../x', 'a b', '', '/']) {
    assert.throws(
      () => normalizeName(name),
      (e: unknown) =>
        isKind(e, 'invalid-parameter') && (e as Error).message === `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      name,
    );
  }
});

test('ids are 64 hex characters whose short form is not all digits', () => {
  for (let i = 0; i < 200; i++) {
    const id = newContainerId();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(/^\d+$/.test(id.slice(0, 12)), false);
  }
});

test('random names are adjective_surname and valid names', () => {
  for (let i = 0; i < 50; i++) {
    const n = randomName();
    assert.match(n, /^[a-z]+_[a-z]+$/);
    assert.equal(normalizeName(n), n);
  }
  assert.match(randomName(9), /^[a-z]+_[a-z]+\d$/);
});

function fake(id: string, name: string): Container {
  return { id, name } as unknown as Container;
}

test('registry: lookup by id, name, unique prefix; ambiguity and conflicts', () => {
  const r = new Registry();
  const a = fake('abc1' + '0'.repeat(60), 'alpha');
  const b = fake('abc2' + '0'.repeat(60), 'beta');
  r.add(a);
  r.add(b);
  assert.equal(r.get(a.id), a);
  assert.equal(r.get('alpha'), a);
  assert.equal(r.get('/beta'), b);
  assert.equal(r.get('abc2'), b);
  assert.throws(() => r.get('abc'), /multiple IDs found with provided prefix: abc/);
  assert.throws(() => r.get('nope'), (e: unknown) => isKind(e, 'not-found') && (e as Error).message === 'No such container: nope');
  assert.throws(
    () => r.reserveName('alpha', 'other'),
    (e: unknown) =>
      isKind(e, 'conflict') &&
      (e as Error).message ===
        `Conflict. The container name "/alpha" is already in use by container "${a.id}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
  // Reservation is synchronous: the second of two racing claims loses.
  assert.equal(r.tryReserveName('gamma', 'x1'), true);
  assert.equal(r.tryReserveName('gamma', 'x2'), false);
  r.releaseName('gamma', 'x1');
  assert.equal(r.tryReserveName('gamma', 'x2'), true);
  r.delete(a);
  assert.equal(r.find('alpha'), undefined);
});

test('names longer than 255 characters are refused with a clear message', () => {
  assert.equal(normalizeName('/' + 'a'.repeat(255)), 'a'.repeat(255));
  assert.throws(() => normalizeName('a'.repeat(256)), /at most 255 characters/);
});
