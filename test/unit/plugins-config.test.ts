import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePluginConfig, parseInterfaceType } from '../../src/plugins/index.js';

const minimal = {
  Interface: { Types: ['docker.volumedriver/1.0'], Socket: 'x.sock' },
  Entrypoint: ['/bin/x'],
};

function rejects(raw: unknown, pattern: RegExp): void {
  assert.throws(
    () => validatePluginConfig(raw),
    (err: Error & { kind?: string }) => {
      assert.equal(err.kind, 'invalid-parameter');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('plugin config validation', () => {
  it('fills every field of a minimal config', () => {
    const c = validatePluginConfig(minimal);
    assert.deepEqual(c.Interface, { Types: ['docker.volumedriver/1.0'], Socket: 'x.sock' });
    assert.deepEqual(c.Entrypoint, ['/bin/x']);
    assert.equal(c.Description, '');
    assert.equal(c.WorkDir, '');
    assert.deepEqual(c.Network, { Type: '' });
    assert.deepEqual(c.Linux, { Capabilities: [], AllowAllDevices: false, Devices: [] });
    assert.deepEqual(c.Mounts, []);
    assert.deepEqual(c.Env, []);
    assert.deepEqual(c.Args, { Name: '', Description: '', Settable: [], Value: [] });
    assert.equal(c.IpcHost, false);
    assert.equal(c.PidHost, false);
    assert.deepEqual(c.User, {});
  });

  it('matches keys case-insensitively, as Go does, and ignores unknown keys', () => {
    const c = validatePluginConfig({
      description: 'sshFS plugin',
      entrypoint: ['/go/bin/sshfs'],
      network: { type: 'host' },
      interface: { types: ['docker.volumedriver/1.0'], socket: 'sshfs.sock' },
      linux: { capabilities: ['CAP_SYS_ADMIN'] },
      manifestVersion: 'v0',
    });
    assert.equal(c.Description, 'sshFS plugin');
    assert.equal(c.Network.Type, 'host');
    assert.equal(c.Interface.Socket, 'sshfs.sock');
    assert.deepEqual(c.Linux.Capabilities, ['CAP_SYS_ADMIN']);
  });

  it('normalizes capability names and refuses unknown ones', () => {
    assert.deepEqual(validatePluginConfig({ ...minimal, Linux: { Capabilities: ['sys_admin', 'CAP_NET_ADMIN'] } }).Linux.Capabilities, [
      'CAP_SYS_ADMIN',
      'CAP_NET_ADMIN',
    ]);
    rejects({ ...minimal, Linux: { Capabilities: ['CAP_FLY'] } }, /Linux\.Capabilities\[0\]: "CAP_FLY" is not a Linux capability/);
  });

  it('requires an interface with types and a plain socket name', () => {
    rejects({ Entrypoint: ['/x'] }, /Interface: missing/);
    rejects({ ...minimal, Interface: { Types: [], Socket: 'x.sock' } }, /Interface\.Types: must list at least one type/);
    rejects({ ...minimal, Interface: { Types: ['volumedriver'], Socket: 'x.sock' } }, /Interface\.Types\[0\]: "volumedriver" is not of the form/);
    rejects({ ...minimal, Interface: { Types: ['docker.volumedriver/1.0'] } }, /Interface\.Socket: missing/);
    rejects({ ...minimal, Interface: { Types: ['docker.volumedriver/1.0'], Socket: '../../etc/x.sock' } }, /must be a plain file name/);
    rejects({ ...minimal, Interface: { Types: ['docker.volumedriver/1.0'], Socket: 'x.sock', ProtocolScheme: 'moby.plugins.grpc/v1' } }, /not supported/);
  });

  it('requires an entrypoint', () => {
    rejects({ Interface: minimal.Interface }, /Entrypoint: missing/);
    rejects({ ...minimal, Entrypoint: 'x' }, /Entrypoint: expected an array of strings, got a string/);
    rejects({ ...minimal, Entrypoint: ['/x', 3] }, /Entrypoint\[1\]: expected a string, got a number/);
  });

  it('checks types, paths and network types, naming the field', () => {
    rejects('nope', /config\.json: expected an object, got a string/);
    rejects(null, /config\.json must hold a JSON object/);
    rejects({ ...minimal, Description: 5 }, /Description: expected a string, got a number/);
    rejects({ ...minimal, WorkDir: 'relative' }, /WorkDir: "relative" must be an absolute path/);
    rejects({ ...minimal, Network: { Type: 'overlay' } }, /Network\.Type: "overlay" is not supported/);
    rejects({ ...minimal, IpcHost: 'yes' }, /IpcHost: expected true or false/);
    rejects({ ...minimal, User: { UID: -1 } }, /User\.UID/);
    rejects({ ...minimal, PropagatedMount: 'data' }, /PropagatedMount: "data" must be an absolute path/);
    assert.deepEqual(validatePluginConfig({ ...minimal, User: { UID: 1000, GID: 100 } }).User, { UID: 1000, GID: 100 });
  });

  it('validates mounts, env, devices and what may be settable', () => {
    const c = validatePluginConfig({
      ...minimal,
      Mounts: [
        { Name: 'data', Source: '/var/lib/x', Destination: '/data', Options: ['rbind'], Settable: ['source'] },
        { Destination: '/scratch', Type: 'tmpfs', Options: ['size=1m'] },
      ],
      Env: [{ Name: 'DEBUG', Settable: ['value'], Value: '0' }, { Name: 'UNSET' }],
      Linux: { Devices: [{ Name: 'fuse', Path: '/dev/fuse', Settable: ['path'] }] },
      Args: { Name: 'args', Settable: ['value'], Value: ['-v'] },
    });
    assert.equal(c.Mounts[0]?.Type, 'bind', 'rbind in the options makes a bind mount');
    assert.equal(c.Mounts[1]?.Source, null);
    assert.deepEqual(c.Env[1], { Name: 'UNSET', Description: '', Settable: [], Value: null });
    assert.equal(c.Linux.Devices[0]?.Path, '/dev/fuse');
    assert.deepEqual(c.Args.Value, ['-v']);

    rejects({ ...minimal, Mounts: [{ Source: '/x' }] }, /Mounts\[0\]\.Destination: missing/);
    rejects({ ...minimal, Mounts: [{ Destination: '/x', Options: ['rbind'] }] }, /Mounts\[0\]\.Source: a bind mount needs a Source/);
    rejects({ ...minimal, Mounts: [{ Destination: '/x', Source: '/y' }] }, /Mounts\[0\]\.Type: missing/);
    rejects({ ...minimal, Env: [{ Name: 'A=B' }] }, /Env\[0\]\.Name: "A=B" is not a variable name/);
    rejects({ ...minimal, Env: [{ Name: 'A' }, { Name: 'A' }] }, /Env: the name "A" appears twice/);
    rejects({ ...minimal, Env: [{ Name: 'A', Settable: ['source'] }] }, /Env\[0\]\.Settable: "source" cannot be settable here/);
    rejects({ ...minimal, Linux: { Devices: [{ Path: 'dev/fuse' }] } }, /Linux\.Devices\[0\]\.Path: "dev\/fuse" must be an absolute path/);
  });

  it('splits interface types', () => {
    assert.deepEqual(parseInterfaceType('docker.volumedriver/1.0'), { prefix: 'docker', capability: 'volumedriver', version: '1.0' });
    assert.deepEqual(parseInterfaceType('docker.logdriver/1.0'), { prefix: 'docker', capability: 'logdriver', version: '1.0' });
    assert.equal(parseInterfaceType('nonsense'), undefined);
  });
});
