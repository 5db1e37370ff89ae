import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  familiarName,
  familiarString,
  fullString,
  normalizeName,
  parseNormalizedNamed,
  referenceForTag,
} from '../../src/daemon/images/reference.js';
import { isBerthError } from '../../src/errors/index.js';

const full = (s: string): string => fullString(normalizeName(s));

function invalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isBerthError(err));
    assert.equal(err.kind, 'invalid-parameter');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('image references', () => {
  it('normalizes familiar names as dockerd does', () => {
    assert.equal(full('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(full('busybox:1.36'), 'docker.io/library/busybox:1.36');
    assert.equal(full('me/app:1'), 'docker.io/me/app:1');
    assert.equal(full('docker.io/library/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(full('index.docker.io/me/app'), 'docker.io/me/app:latest');
    assert.equal(full('localhost/app'), 'localhost/app:latest');
    assert.equal(full('localhost:5000/x/y:z'), 'localhost:5000/x/y:z');
    assert.equal(full('example.com/a/b/c'), 'example.com/a/b/c:latest');
    const digest = 'sha256:' + 'a'.repeat(64);
    assert.equal(full(`localhost:5000/x@${digest}`), `localhost:5000/x@${digest}`);
    assert.equal(full(`busybox:1@${digest}`), `docker.io/library/busybox:1@${digest}`);
  });

  it('gives the familiar form back for display', () => {
    assert.equal(familiarString(normalizeName('busybox')), 'busybox:latest');
    assert.equal(familiarString(normalizeName('docker.io/me/app:1')), 'me/app:1');
    assert.equal(familiarString(normalizeName('localhost:5000/x:y')), 'localhost:5000/x:y');
    assert.equal(familiarName(normalizeName('docker.io/library/a/b')), 'library/a/b');
  });

  it('refuses invalid references with Docker wording', () => {
    invalid(() => parseNormalizedNamed('Busybox'), 'invalid reference format: repository name (library/Busybox) must be lowercase');
    invalid(() => parseNormalizedNamed('me/App:1'), 'invalid reference format: repository name (me/App) must be lowercase');
    invalid(() => parseNormalizedNamed('a:b:c'), 'invalid reference format');
    invalid(() => parseNormalizedNamed('bad name'), 'invalid reference format');
    invalid(() => parseNormalizedNamed('x:'), 'invalid reference format');
    invalid(() => parseNormalizedNamed('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
    invalid(() => parseNormalizedNamed('x@sha256:abc'), /invalid reference format/);
    invalid(() => parseNormalizedNamed(`x/${'a'.repeat(260)}`), /must not be more than 255 characters/);
  });

  it('accepts upper case tags and separators dockerd accepts', () => {
    assert.equal(full('busybox:Latest'), 'docker.io/library/busybox:Latest');
    assert.equal(full('a__b/c.d-e_f:t'), 'docker.io/a__b/c.d-e_f:t');
  });

  it('builds tag targets from repo and tag', () => {
    assert.equal(fullString(referenceForTag('me/app', 'v2')), 'docker.io/me/app:v2');
    assert.equal(fullString(referenceForTag('me/app:v3')), 'docker.io/me/app:v3');
    assert.equal(fullString(referenceForTag('me/app')), 'docker.io/me/app:latest');
    invalid(() => referenceForTag('me/app', 'bad tag'), 'invalid tag format: bad tag');
    invalid(() => referenceForTag(`me/app@sha256:${'b'.repeat(64)}`), 'refusing to create a tag with a digest reference');
  });
});
