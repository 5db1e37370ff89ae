import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReload } from '../../src/cmd/reload.js';
import { notifyPayload, socatAddress } from '../../src/systemd/index.js';

test('a successful reload prints the runtimes and default now in force', () => {
  const r = formatReload({ ok: true, configFile: '/etc/berth/daemon.json', generation: 3, runtimes: ['a', 'runc'], defaultRuntime: 'a', errors: [], ignored: ['data-root'] });
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'configuration reloaded from /etc/berth/daemon.json (generation 3)\ndefault runtime: a\nruntimes: a, runc\n');
  assert.match(r.stderr, /ignored until berthd restarts: data-root/);
});

test('a refused reload exits non-zero with every error', () => {
  const r = formatReload({ ok: false, configFile: '/f.json', generation: 2, runtimes: [], defaultRuntime: 'runc', errors: ['e1', 'e2'], ignored: [] });
  assert.equal(r.exitCode, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /\/f\.json refused[\s\S]*  e1\n  e2\n/);
});

test('sd_notify payloads and socket addresses', () => {
  assert.equal(notifyPayload(['READY=1'], 42), 'READY=1\nMAINPID=42\n');
  assert.equal(notifyPayload(['RELOADING=1'], 42, 7n), 'RELOADING=1\nMAINPID=42\nMONOTONIC_USEC=7\n');
  assert.equal(socatAddress('/run/systemd/notify'), 'UNIX-SENDTO:/run/systemd/notify');
  assert.equal(socatAddress('@abstract'), 'ABSTRACT-SENDTO:abstract');
});
