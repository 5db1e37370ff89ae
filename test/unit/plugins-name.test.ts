import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFullPluginId, normalizePluginName } from '../../src/plugins/index.js';

describe('plugin names', () => {
  it('adds :latest and uses the familiar form, as Docker does', () => {
    assert.equal(normalizePluginName('me/plugin'), 'me/plugin:latest');
    assert.equal(normalizePluginName('me/plugin:v2'), 'me/plugin:v2');
    assert.equal(normalizePluginName('plugin'), 'plugin:latest');
    assert.equal(normalizePluginName('docker.io/me/plugin'), 'me/plugin:latest');
    assert.equal(normalizePluginName('docker.io/library/plugin:1'), 'plugin:1');
    assert.equal(normalizePluginName('index.docker.io/me/plugin'), 'me/plugin:latest');
    assert.equal(normalizePluginName('localhost:5000/me/plugin'), 'localhost:5000/me/plugin:latest');
    assert.equal(normalizePluginName('registry.example.com/a/b/c:tag'), 'registry.example.com/a/b/c:tag');
    assert.equal(normalizePluginName('my-plugin_x.y'), 'my-plugin_x.y:latest');
  });

  it('refuses bad names with a clear message', () => {
    const cases: [string, RegExp][] = [
      ['', /the name is empty/],
      ['Me/Plugin', /must be lowercase/],
      ['me/plugin@sha256:' + 'a'.repeat(64), /digest references are not permitted/],
      ['me/plugin:bad tag', /tag "bad tag" is not valid/],
      ['me//plugin', /is not a valid name component/],
      ['-plugin', /is not a valid name component/],
      ['a'.repeat(64), /64-character hexadecimal/],
    ];
    for (const [raw, pattern] of cases) {
      assert.throws(
        () => normalizePluginName(raw),
        (err: Error & { kind?: string }) => err.kind === 'invalid-parameter' && pattern.test(err.message) && err.message.includes(JSON.stringify(raw)),
        raw,
      );
    }
  });

  it('recognizes full ids', () => {
    assert.equal(isFullPluginId('a'.repeat(64)), true);
    assert.equal(isFullPluginId('a'.repeat(63)), false);
    assert.equal(isFullPluginId('A'.repeat(64)), false);
  });
});
