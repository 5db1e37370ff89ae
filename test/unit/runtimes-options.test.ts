// options → typed protobuf messages with their type URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptedOptions,
  decodeShimOptions,
  encodeShimOptions,
  runcBinaryOptions,
  RUNC_OPTIONS_TYPE,
  RUNTIME_OPTIONS_TYPE,
} from '../../src/runtimes/index.js';

test('runc shim options: every field round-trips', () => {
  const all = {
    NoPivotRoot: true,
    NoNewKeyring: true,
    ShimCgroup: '/berth-shims',
    IoUid: 1000,
    IoGid: 4294967295,
    BinaryName: '/usr/local/bin/crun',
    Root: '/run/crun',
    SystemdCgroup: true,
    CriuImagePath: '/var/criu/img',
    CriuWorkPath: '/var/criu/work',
  };
  const { options, errors } = encodeShimOptions('k', 'io.containerd.runc.v2', all);
  assert.deepEqual(errors, []);
  assert.equal(options?.typeUrl, RUNC_OPTIONS_TYPE);
  assert.deepEqual(decodeShimOptions(options!), {
    no_pivot_root: true,
    no_new_keyring: true,
    shim_cgroup: '/berth-shims',
    io_uid: 1000,
    io_gid: 4294967295,
    binary_name: '/usr/local/bin/crun',
    root: '/run/crun',
    systemd_cgroup: true,
    criu_image_path: '/var/criu/img',
    criu_work_path: '/var/criu/work',
  });
});

test('runc options wire format: field numbers of containerd 1.6', () => {
  // binary_name = 6 (tag 0x32), systemd_cgroup = 9 (tag 0x48), io_uid = 4 (tag 0x20)
  const { options } = encodeShimOptions('k', 'io.containerd.runc.v2', { BinaryName: 'crun', SystemdCgroup: true, IoUid: 7 });
  assert.deepEqual([...options!.value], [0x20, 7, 0x32, 4, ...Buffer.from('crun'), 0x48, 1]);
  assert.deepEqual([...runcBinaryOptions('runc').value], [0x32, 4, ...Buffer.from('runc')]);
});

test('generic runtime options for other shims, ConfigBody taken as UTF-8 text', () => {
  const { options, errors } = encodeShimOptions('g', 'io.containerd.runsc.v1', {
    TypeUrl: 'io.containerd.runsc.v1.options',
    ConfigPath: '/etc/containerd/runsc.toml',
    ConfigBody: 'log_level = "debug"\n',
  });
  assert.deepEqual(errors, []);
  assert.equal(options?.typeUrl, RUNTIME_OPTIONS_TYPE);
  // type_url = 1 (0x0a), config_path = 2 (0x12), config_body = 3 (0x1a)
  assert.equal(options!.value[0], 0x0a);
  const decoded = decodeShimOptions(options!);
  assert.equal(decoded.config_path, '/etc/containerd/runsc.toml');
  assert.equal(Buffer.from(decoded.config_body as string, 'base64').toString('utf8'), 'log_level = "debug"\n');
});

test('absolute shim paths get the generic message', () => {
  const { options } = encodeShimOptions('p', '/opt/containerd-shim-x-v1', { ConfigPath: '/x' });
  assert.equal(options?.typeUrl, RUNTIME_OPTIONS_TYPE);
});

test('keys: PascalCase, camelCase, snake_case and any case are one key', () => {
  for (const key of ['BinaryName', 'binaryName', 'binary_name', 'binaryname', 'BINARY_NAME']) {
    const { options, errors } = encodeShimOptions('k', 'io.containerd.runc.v2', { [key]: 'crun' });
    assert.deepEqual(errors, [], key);
    assert.deepEqual(decodeShimOptions(options!), { binary_name: 'crun' });
  }
});

test('empty options encode an empty message', () => {
  const { options, errors } = encodeShimOptions('k', 'io.containerd.runc.v2', {});
  assert.deepEqual(errors, []);
  assert.equal(options?.value.length, 0);
});

test('accepted options per shim', () => {
  assert.equal(acceptedOptions('io.containerd.runc.v2').length, 10);
  assert.deepEqual(acceptedOptions('io.containerd.kata.v2'), ['TypeUrl', 'ConfigPath', 'ConfigBody']);
});
