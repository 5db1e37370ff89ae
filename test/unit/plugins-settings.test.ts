import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applySettings, initialSettings, validatePluginConfig } from '../../src/plugins/index.js';

const config = validatePluginConfig({
  Interface: { Types: ['docker.volumedriver/1.0'], Socket: 'x.sock' },
  Entrypoint: ['/bin/x'],
  Env: [
    { Name: 'DEBUG', Settable: ['value'], Value: '0' },
    { Name: 'FIXED', Value: 'yes' },
    { Name: 'OPTIONAL', Settable: ['value'] },
  ],
  Mounts: [{ Name: 'data', Destination: '/data', Type: 'bind', Options: ['rbind'], Settable: ['source'] }],
  Linux: { Devices: [{ Name: 'dev', Path: '/dev/null', Settable: ['path'] }] },
  Args: { Name: 'args', Settable: ['value'], Value: ['-a', '-b'] },
});

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: Error & { kind?: string }) => err.kind === 'invalid-parameter' && pattern.test(err.message));
}

describe('plugin settings', () => {
  it('starts from the config: env with values, mounts, devices, args', () => {
    const s = initialSettings(config);
    assert.deepEqual(s.Env, ['DEBUG=0', 'FIXED=yes']);
    assert.deepEqual(s.Args, ['-a', '-b']);
    assert.equal(s.Mounts[0]?.Source, null);
    assert.equal(s.Devices[0]?.Path, '/dev/null');
  });

  it('sets settable env values, replacing or adding', () => {
    const s0 = initialSettings(config);
    const s = applySettings(config, s0, ['DEBUG=1', 'OPTIONAL=x', 'DEBUG.value=2']);
    assert.deepEqual(s.Env, ['DEBUG=2', 'FIXED=yes', 'OPTIONAL=x']);
    assert.deepEqual(s0.Env, ['DEBUG=0', 'FIXED=yes'], 'the input is not changed');
    assert.deepEqual(applySettings(config, s0, ['DEBUG']).Env, ['DEBUG=', 'FIXED=yes']);
  });

  it('sets mount sources, device paths and args', () => {
    const s = applySettings(config, initialSettings(config), ['data.source=/srv/data', 'dev=/dev/zero', 'args=-x -y']);
    assert.equal(s.Mounts[0]?.Source, '/srv/data');
    assert.equal(s.Devices[0]?.Path, '/dev/zero');
    assert.deepEqual(s.Args, ['-x', '-y']);
  });

  it("refuses what the config does not allow, with Docker's wording", () => {
    const s = initialSettings(config);
    invalid(() => applySettings(config, s, ['FIXED=no']), /"FIXED" is not settable/);
    invalid(() => applySettings(config, s, ['DEBUG.bad=1']), /"DEBUG\.bad" is not settable/);
    invalid(() => applySettings(config, s, ['NOPE=1']), /setting "NOPE" not found in the plugin configuration/);
    invalid(() => applySettings(config, s, ['=1']), /invalid setting "=1": use NAME\[\.FIELD\]=VALUE/);
    invalid(() => applySettings(config, s, ['data=relative']), /must be an absolute host path/);
    // nothing applied when one fails
    invalid(() => applySettings(config, s, ['DEBUG=9', 'NOPE=1']), /not found/);
    assert.deepEqual(s.Env, ['DEBUG=0', 'FIXED=yes']);
  });
});
