// --user resolution against the image's /etc/passwd and /etc/group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUser } from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

const files = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n',
  group: 'root:x:0:\nnogroup:x:65534:\nalice:x:1000:\nstaff:x:50:alice\nwheel:x:10:bob,alice\n',
};

test('empty user is root', () => {
  assert.deepEqual(resolveUser('', files), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
});

test('a name takes uid, gid and supplementary groups from the files', () => {
  assert.deepEqual(resolveUser('alice', files), { uid: 1000, gid: 1000, additionalGids: [50, 10, 1000], home: '/home/alice' });
});

test('name:group uses the named group', () => {
  const u = resolveUser('alice:staff', files);
  assert.equal(u.uid, 1000);
  assert.equal(u.gid, 50);
  assert.deepEqual(u.additionalGids, [50]);
});

test('numeric uid and uid:gid need no entry', () => {
  assert.deepEqual(resolveUser('4242', files), { uid: 4242, gid: 0, additionalGids: [0] });
  assert.deepEqual(resolveUser('4242:77', files), { uid: 4242, gid: 77, additionalGids: [77] });
  assert.deepEqual(resolveUser('1000', files).gid, 1000);
});

test('root and numeric users work without any passwd file', () => {
  assert.equal(resolveUser('root', {}).uid, 0);
  assert.equal(resolveUser('', {}).uid, 0);
  assert.equal(resolveUser('12:34', {}).gid, 34);
});

test('unknown names fail with dockerd messages', () => {
  assert.throws(
    () => resolveUser('bob', files),
    (e: unknown) => isKind(e, 'invalid-parameter') && (e as Error).message === 'unable to find user bob: no matching entries in passwd file',
  );
  assert.throws(() => resolveUser('alice:nope', files), /unable to find group nope: no matching entries in group file/);
  assert.throws(() => resolveUser('bob', {}), /unable to find user bob/);
});

test('GroupAdd adds groups by name or number', () => {
  assert.deepEqual(resolveUser('0', files, ['staff', '99']).additionalGids, [0, 50, 99]);
});
