// docker search over a registry's catalog: the term's split, matching, limit and filters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchCatalog, searchLimit, splitSearchTerm } from '../../src/distribution/index.js';
import { isKind } from '../../src/errors/index.js';

describe('docker search', () => {
  it('splits a term as dockerd does: a first part with a dot, a colon or localhost names the registry', () => {
    assert.deepEqual(splitSearchTerm('busybox'), { registry: undefined, text: 'busybox' });
    assert.deepEqual(splitSearchTerm('library/busybox'), { registry: undefined, text: 'library/busybox' });
    assert.deepEqual(splitSearchTerm('docker.io/busybox'), { registry: undefined, text: 'busybox' });
    assert.deepEqual(splitSearchTerm('127.0.0.1:5000/team/app'), { registry: '127.0.0.1:5000', text: 'team/app' });
    assert.deepEqual(splitSearchTerm('localhost/app'), { registry: 'localhost', text: 'app' });
    assert.deepEqual(splitSearchTerm('reg.lan/'), { registry: 'reg.lan', text: '' });
  });
  it('matches catalog names by substring, case-insensitively, up to the limit', () => {
    const repos = ['team/App', 'team/db', 'other/app-worker', 'tools'];
    const noFilters = new Map<string, string[]>();
    assert.deepEqual(matchCatalog('r:5000', repos, 'app', { limit: 25, filters: noFilters }).map((r) => r.name), ['r:5000/team/App', 'r:5000/other/app-worker']);
    assert.deepEqual(matchCatalog('r:5000', repos, '', { limit: 2, filters: noFilters }).map((r) => r.name), ['r:5000/team/App', 'r:5000/team/db']);
    assert.deepEqual(matchCatalog('r:5000', repos, 'db', { limit: 25, filters: noFilters })[0], { name: 'r:5000/team/db', description: '', star_count: 0, is_official: false, is_automated: false });
  });
  it('filters as catalog entries are: no stars, neither official nor automated', () => {
    const repos = ['team/app'];
    const f = (o: Record<string, string[]>): number => matchCatalog('r', repos, 'app', { limit: 25, filters: new Map(Object.entries(o)) }).length;
    assert.equal(f({ 'is-official': ['false'] }), 1);
    assert.equal(f({ 'is-official': ['true'] }), 0);
    assert.equal(f({ 'is-automated': ['true'] }), 0);
    assert.equal(f({ stars: ['0'] }), 1);
    assert.equal(f({ stars: ['3'] }), 0);
    assert.throws(() => f({ stars: ['many'] }), (e: unknown) => isKind(e, 'invalid-parameter'));
    assert.throws(() => f({ colour: ['red'] }), /invalid filter 'colour'/);
  });
  it('takes a limit from 1 to 100, 25 by default', () => {
    assert.equal(searchLimit(null), 25);
    assert.equal(searchLimit('7'), 7);
    assert.throws(() => searchLimit('0'), /Limit 0 is outside the range of \[1, 100\]/);
    assert.throws(() => searchLimit('101'), /Limit 101 is outside the range of \[1, 100\]/);
    assert.throws(() => searchLimit('x'), (e: unknown) => isKind(e, 'invalid-parameter'));
  });
});
