import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Router, errorReply, statusOfKind, type Reply, type Route } from '../../src/api/index.js';
import { BerthError, type ErrorKind, isKind } from '../../src/errors/index.js';

const ok = async (): Promise<Reply> => ({ kind: 'empty' });
const route = (method: Route['method'], path: string): Route => ({ method, path, handler: ok });

const routes = [
  route('GET', '/images/json'),
  route('GET', '/images/:name*/json'),
  route('POST', '/images/:name*/tag'),
  route('DELETE', '/images/:name*'),
  route('GET', '/containers/json'),
  route('GET', '/containers/:id/json'),
  route('POST', '/containers/:id/exec'),
  route('GET', '/_ping'),
  route('HEAD', '/_ping'),
  route('GET', '/version'),
];
const router = new Router(routes);

describe('router', () => {
  it('matches literal and parameter routes', () => {
    assert.equal(router.match('GET', '/containers/json')?.route.path, '/containers/json');
    const m = router.match('GET', '/containers/abc123/json');
    assert.equal(m?.route.path, '/containers/:id/json');
    assert.deepEqual(m?.params, { id: 'abc123' });
  });

  it('captures image names with slashes before a fixed suffix', () => {
    const m = router.match('GET', '/v1.45/images/library/busybox:latest/json');
    assert.deepEqual(m?.params, { name: 'library/busybox:latest' });
    assert.equal(m?.apiVersion, '1.45');
    assert.equal(m?.path, '/images/library/busybox:latest/json');
    assert.deepEqual(router.match('POST', '/images/reg:5000/a/b/tag')?.params, { name: 'reg:5000/a/b' });
    assert.deepEqual(router.match('DELETE', '/images/a/b:c')?.params, { name: 'a/b:c' });
    assert.deepEqual(router.match('GET', '/images/library%2Fbusybox/json')?.params, { name: 'library/busybox' });
    // The list route wins over a rest capture that would need an empty name.
    assert.equal(router.match('GET', '/images/json')?.route.path, '/images/json');
  });

  it('strips the version prefix; none means the maximum version', () => {
    assert.equal(router.match('GET', '/v1.50/version')?.apiVersion, '1.50');
    assert.equal(router.match('GET', '/v1.24/version')?.apiVersion, '1.24');
    assert.equal(router.match('GET', '/version')?.apiVersion, '1.50');
    assert.equal(router.match('HEAD', '/_ping')?.route.method, 'HEAD');
  });

  it('refuses too new and too old versions with dockerd messages', () => {
    assert.throws(
      () => router.match('GET', '/v1.99/version'),
      (e: unknown) => isKind(e, 'invalid-parameter') && (e as Error).message === 'client version 1.99 is too new. Maximum supported API version is 1.50',
    );
    assert.throws(
      () => router.match('GET', '/v1.12/version'),
      (e: unknown) =>
        isKind(e, 'invalid-parameter') &&
        (e as Error).message === 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
    );
  });

  it('answers null for unknown paths and wrong methods (404 page not found, as dockerd)', () => {
    assert.equal(router.match('GET', '/nope'), null);
    assert.equal(router.match('GET', '/v1.99/nope'), null);
    assert.equal(router.match('DELETE', '/version'), null);
    assert.equal(router.match('POST', '/_ping'), null);
    assert.equal(router.match('GET', '/vabc/version'), null);
    assert.equal(router.match('GET', '/containers//json')?.route.path, '/containers/json');
  });

  it('refuses bad patterns', () => {
    assert.throws(() => new Router([route('GET', '/a/:x*/:y*')]));
    assert.throws(() => new Router([route('GET', 'nope')]));
  });
});

describe('status mapping', () => {
  it('maps every kind', () => {
    const expected: Record<ErrorKind, number> = {
      'invalid-parameter': 400,
      unauthorized: 401,
      forbidden: 403,
      'not-found': 404,
      conflict: 409,
      'payload-too-large': 413,
      'not-modified': 304,
      internal: 500,
      'not-implemented': 501,
      unavailable: 503,
    };
    for (const [kind, status] of Object.entries(expected)) {
      assert.equal(statusOfKind(kind as ErrorKind), status);
      assert.deepEqual(errorReply(new BerthError(kind as ErrorKind, 'm')), { status, body: { message: 'm' } });
    }
  });

  it('hides unknown errors behind a generic 500', () => {
    const r = errorReply(new TypeError('secret internals at /src/x.ts:1'));
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.body.message, /secret|\.ts/);
    assert.equal(errorReply('a string').status, 500);
  });
});
