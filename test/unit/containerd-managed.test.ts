// Pure pieces of the managed containerd: where it lives, the config berthd
// generates for it, and how its log lines are re-levelled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { managedLayout, renderContainerdConfig } from '../../src/containerd/managed-config.js';
import { parseContainerdLogLine } from '../../src/containerd/managed-logs.js';

test('everything lives under the data and exec roots', () => {
  const l = managedLayout('/var/lib/berth', '/run/berth');
  assert.deepEqual(l, {
    dir: '/run/berth/containerd',
    config: '/run/berth/containerd/containerd.toml',
    pidFile: '/run/berth/containerd/containerd.pid',
    socket: '/run/berth/containerd/containerd.sock',
    ttrpcSocket: '/run/berth/containerd/containerd.sock.ttrpc',
    state: '/run/berth/containerd/state',
    root: '/var/lib/berth/containerd',
    opt: '/var/lib/berth/containerd/opt',
  });
});

test('an exec root too long for a Unix socket is refused with a hint', () => {
  assert.throws(() => managedLayout('/d', `/${'x'.repeat(100)}`), /over the 107-byte limit of Unix sockets; use a shorter --exec-root/);
});

test('the generated config has its own sockets and roots, no CRI and no TCP, debug or metrics listener', () => {
  const toml = renderContainerdConfig(managedLayout('/var/lib/berth', '/run/berth'), false);
  const lines = toml.split('\n');
  assert.ok(lines.includes('version = 2'));
  assert.ok(lines.includes('root = "/var/lib/berth/containerd"'));
  assert.ok(lines.includes('state = "/run/berth/containerd/state"'));
  assert.match(toml, /^disabled_plugins = \[.*"io\.containerd\.grpc\.v1\.cri".*\]$/m);
  assert.match(toml, /\[grpc\]\n {2}address = "\/run\/berth\/containerd\/containerd\.sock"\n {2}tcp_address = ""/);
  assert.match(toml, /\[ttrpc\]\n {2}address = "\/run\/berth\/containerd\/containerd\.sock\.ttrpc"/);
  assert.match(toml, /\[debug\]\n {2}address = ""\n {2}level = "info"/);
  assert.match(toml, /\[metrics\]\n {2}address = ""/);
  assert.match(toml, /\[plugins\."io\.containerd\.internal\.v1\.opt"\]\n {4}path = "\/var\/lib\/berth\/containerd\/opt"/);
  assert.match(renderContainerdConfig(managedLayout('/a', '/b'), true), /level = "debug"/);
});

test('paths are quoted as TOML strings', () => {
  const toml = renderContainerdConfig(managedLayout('/data/with "quote"', '/run/b\\x'), false);
  assert.ok(toml.includes('root = "/data/with \\"quote\\"/containerd"'));
  assert.ok(toml.includes('address = "/run/b\\\\x/containerd/containerd.sock"'));
});

test('containerd log lines keep their level, message and fields', () => {
  const line =
    'time="2024-05-06T07:08:09.123456789Z" level=info msg="loading plugin \\"io.containerd.content.v1.content\\"..." type=io.containerd.content.v1';
  assert.deepEqual(parseContainerdLogLine(line), {
    level: 'info',
    msg: 'loading plugin "io.containerd.content.v1.content"...',
    fields: { type: 'io.containerd.content.v1' },
  });
  assert.equal(parseContainerdLogLine('time="t" level=warning msg="w"').level, 'warn');
  assert.equal(parseContainerdLogLine('time="t" level=error msg="e" error="boom: x"').fields.error, 'boom: x');
  assert.equal(parseContainerdLogLine('time="t" level=debug msg=bare').msg, 'bare');
  assert.equal(parseContainerdLogLine('time="t" level=panic msg="p"').level, 'fatal');
  // Anything else (a Go panic trace) is surfaced as a warning, verbatim.
  assert.deepEqual(parseContainerdLogLine('goroutine 1 [running]:'), { level: 'warn', msg: 'goroutine 1 [running]:', fields: {} });
});
