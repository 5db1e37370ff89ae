// Pure parts of build sources: dockerd's URL kinds, git fragments, the name
// ADD gives a download, the build query's cache-from/ulimits/remote, and the
// --cache-from match of a source image's history against a step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBuildQuery } from '../../src/build/options.js';
import { downloadName, isGitUrl, isUrl, parseGitRemote } from '../../src/build/remote.js';
import { matchCacheSource } from '../../src/daemon/images/cache-from.js';
import type { HistoryEntry, OciImage } from '../../src/daemon/images/types.js';

const image = (history: HistoryEntry[], diffIds: string[]): OciImage => ({
  architecture: 'amd64',
  os: 'linux',
  config: {},
  rootfs: { type: 'layers', diff_ids: diffIds },
  history,
});

describe('build sources', () => {
  it('tells URLs and git URLs apart as dockerd does', () => {
    assert.ok(isUrl('http://h/x') && isUrl('HTTPS://h/x'));
    assert.ok(!isUrl('git://h/x') && !isUrl('ftp://h/x'));
    for (const g of ['http://h/r.git', 'https://h/r.git#main:sub', 'git://h/r', 'github.com/o/r', 'git@h:o/r']) assert.ok(isGitUrl(g), g);
    for (const g of ['http://h/ctx.tar.gz', 'http://h/r.git/x']) assert.ok(!isGitUrl(g), g);
  });

  it('splits a git fragment into ref and subdirectory', () => {
    assert.deepEqual(parseGitRemote('http://h/r.git'), { url: 'http://h/r.git', ref: '', subdir: '' });
    assert.deepEqual(parseGitRemote('http://h/r.git#v1'), { url: 'http://h/r.git', ref: 'v1', subdir: '' });
    assert.deepEqual(parseGitRemote('http://h/r.git#v1:a/b'), { url: 'http://h/r.git', ref: 'v1', subdir: 'a/b' });
    assert.deepEqual(parseGitRemote('github.com/o/r#:d'), { url: 'https://github.com/o/r', ref: '', subdir: 'd' });
    assert.throws(() => parseGitRemote('http://h/r.git#--upload-pack=x'), /invalid refspec/);
  });

  it('names a download from the URL path, else from Content-Disposition', () => {
    assert.equal(downloadName('http://h/a/b.txt?x=1', null), 'b.txt');
    assert.equal(downloadName('http://h/a/%20c.txt', null), ' c.txt');
    assert.equal(downloadName('http://h/a/', 'attachment; filename="../given.txt"'), 'given.txt');
    assert.equal(downloadName('http://h/', 'attachment; filename=plain.bin'), 'plain.bin');
    assert.throws(() => downloadName('http://h/a/', null), /cannot determine filename from url: http:\/\/h\/a\//);
    assert.throws(() => downloadName('http://h/a/', 'attachment; filename="dir/"'), /cannot determine filename/);
  });

  it('reads cachefrom, ulimits and remote from the query', () => {
    const q = new URLSearchParams({ cachefrom: '["a:1","","b"]', ulimits: '[{"Name":"nofile","Soft":10,"Hard":20}]', remote: 'http://h/c.tar' });
    const o = parseBuildQuery(q);
    assert.deepEqual(o.cacheFrom, ['a:1', 'b']);
    assert.deepEqual(o.ulimits, [{ Name: 'nofile', Soft: 10, Hard: 20 }]);
    assert.equal(o.remote, 'http://h/c.tar');
    assert.throws(() => parseBuildQuery(new URLSearchParams({ ulimits: '[{"Name":"nofile","Soft":"x"}]' })), /invalid ulimits/);
    assert.throws(() => parseBuildQuery(new URLSearchParams({ cachefrom: '{"a":1}' })), /invalid cachefrom/);
    assert.deepEqual(parseBuildQuery(new URLSearchParams()).cacheFrom, []);
  });

  describe('--cache-from match', () => {
    const h = (created_by: string, empty = false): HistoryEntry => ({ created: '2020-01-01T00:00:00Z', created_by, ...(empty ? { empty_layer: true } : {}) });
    const base = image([h('ADD rootfs')], ['sha256:l0']);
    const source = image([h('ADD rootfs'), h('ENV A=1', true), h('RUN one'), h('RUN two')], ['sha256:l0', 'sha256:l1', 'sha256:l2']);

    it('takes the entry after the parent when it records the step', () => {
      assert.deepEqual(matchCacheSource(source, base, 'ENV A=1'), { history: h('ENV A=1', true), last: false });
      const afterEnv = image([h('ADD rootfs'), h('ENV A=1', true)], ['sha256:l0']);
      assert.deepEqual(matchCacheSource(source, afterEnv, 'RUN one'), { history: h('RUN one'), last: false, layerIndex: 1 });
      const afterOne = image([h('ADD rootfs'), h('ENV A=1', true), h('RUN one')], ['sha256:l0', 'sha256:l1']);
      assert.deepEqual(matchCacheSource(source, afterOne, 'RUN two'), { history: h('RUN two'), last: true, layerIndex: 2 });
    });

    it('refuses another command, another parent, or a parent at least as long', () => {
      assert.equal(matchCacheSource(source, base, 'ENV A=2'), undefined);
      assert.equal(matchCacheSource(source, image([h('ADD other')], ['sha256:l0']), 'ENV A=1'), undefined);
      assert.equal(matchCacheSource(source, image([h('ADD rootfs')], ['sha256:x']), 'ENV A=1'), undefined);
      assert.equal(matchCacheSource(source, source, 'RUN two'), undefined);
      assert.equal(matchCacheSource(image([], []), undefined, 'x'), undefined);
    });

    it('from scratch, the first entry', () => {
      assert.deepEqual(matchCacheSource(source, undefined, 'ADD rootfs'), { history: h('ADD rootfs'), last: false, layerIndex: 0 });
    });
  });
});
