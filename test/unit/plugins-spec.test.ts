import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildPluginSpec,
  DEFAULT_CAPABILITIES,
  initialSettings,
  PLUGIN_SOCKET_DIR,
  validatePluginConfig,
  type PluginObject,
} from '../../src/plugins/index.js';

const paths = {
  rootfs: '/var/lib/berth/plugins/ID/rootfs',
  socketDir: '/run/berth/plugins/ID',
  propagatedMountDir: '/var/lib/berth/plugins/ID/propagated-mount',
  cgroupsPath: '/berth.plugins/ID',
};

function plugin(raw: Record<string, unknown>): PluginObject {
  const config = validatePluginConfig({
    Interface: { Types: ['docker.volumedriver/1.0'], Socket: 'x.sock' },
    Entrypoint: ['/bin/plugin', '--serve'],
    ...raw,
  });
  return { Id: 'ID', Name: 'me/p:latest', Enabled: false, Settings: initialSettings(config), PluginReference: 'me/p:latest', Config: config };
}

describe('plugin OCI spec', () => {
  it('runs Entrypoint + Args with PATH and the env settings, in the rootfs directory', () => {
    const spec = buildPluginSpec(plugin({ Args: { Value: ['-v'] }, Env: [{ Name: 'DEBUG', Value: '1' }], WorkDir: '/work', User: { UID: 10, GID: 20 } }), paths);
    assert.deepEqual(spec.process.args, ['/bin/plugin', '--serve', '-v']);
    assert.deepEqual(spec.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'DEBUG=1']);
    assert.equal(spec.process.cwd, '/work');
    assert.deepEqual(spec.process.user, { uid: 10, gid: 20 });
    assert.equal(spec.process.terminal, false);
    assert.deepEqual(spec.root, { path: paths.rootfs, readonly: false });
    assert.equal(spec.linux.cgroupsPath, paths.cgroupsPath);
  });

  it('lets the env settings replace PATH', () => {
    const spec = buildPluginSpec(plugin({ Env: [{ Name: 'PATH', Value: '/opt/bin' }] }), paths);
    assert.deepEqual(spec.process.env, ['PATH=/opt/bin']);
  });

  it('defaults cwd to / and user to root', () => {
    const spec = buildPluginSpec(plugin({}), paths);
    assert.equal(spec.process.cwd, '/');
    assert.deepEqual(spec.process.user, { uid: 0, gid: 0 });
  });

  it('bind-mounts the socket directory at /run/docker/plugins, and keeps the default mounts', () => {
    const spec = buildPluginSpec(plugin({}), paths);
    const sock = spec.mounts.find((m) => m.destination === PLUGIN_SOCKET_DIR);
    assert.deepEqual(sock, { destination: '/run/docker/plugins', type: 'bind', source: paths.socketDir, options: ['rbind', 'rw'] });
    for (const d of ['/proc', '/dev', '/dev/pts', '/sys', '/dev/shm', '/dev/mqueue']) {
      assert.ok(spec.mounts.some((m) => m.destination === d), `default mount ${d}`);
    }
    assert.ok(!spec.mounts.some((m) => m.destination === '/etc/hosts'), 'no network type: no /etc/hosts');
  });

  it('adds the config mounts with their settings, and a user mount replaces a default one', () => {
    const p = plugin({
      Mounts: [
        { Name: 'data', Destination: '/data', Type: 'bind', Options: ['rbind'], Settable: ['source'] },
        { Destination: '/dev/shm', Type: 'tmpfs', Options: ['size=1g'] },
      ],
    });
    assert.throws(() => buildPluginSpec(p, paths), /mount data has no source: give one with "docker plugin set me\/p:latest data\.source=\/host\/path"/);
    const m0 = p.Settings.Mounts[0];
    assert.ok(m0 !== undefined);
    m0.Source = '/srv/data';
    const spec = buildPluginSpec(p, paths);
    assert.deepEqual(spec.mounts.find((m) => m.destination === '/data'), { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] });
    const shm = spec.mounts.filter((m) => m.destination === '/dev/shm');
    assert.equal(shm.length, 1);
    assert.deepEqual(shm[0]?.options, ['size=1g']);
  });

  it('shares the host network namespace for Network.Type host, and mounts hosts and resolv.conf', () => {
    const host = buildPluginSpec(plugin({ Network: { Type: 'host' } }), paths);
    assert.ok(!host.linux.namespaces.some((n) => n.type === 'network'));
    assert.ok(host.mounts.some((m) => m.destination === '/etc/hosts' && m.source === '/etc/hosts' && m.options.includes('ro')));
    assert.ok(host.mounts.some((m) => m.destination === '/etc/resolv.conf'));
    const none = buildPluginSpec(plugin({ Network: { Type: 'none' } }), paths);
    assert.ok(none.linux.namespaces.some((n) => n.type === 'network'));
    const unset = buildPluginSpec(plugin({}), paths);
    assert.deepEqual(unset.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  });

  it('shares pid and ipc namespaces on request', () => {
    const spec = buildPluginSpec(plugin({ PidHost: true, IpcHost: true }), paths);
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type).sort(), ['mount', 'network', 'uts']);
  });

  it('adds the config capabilities to the default set', () => {
    const spec = buildPluginSpec(plugin({ Linux: { Capabilities: ['CAP_SYS_ADMIN', 'CAP_CHOWN'] } }), paths);
    assert.deepEqual(spec.process.capabilities.bounding, [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
    assert.deepEqual(spec.process.capabilities.effective, spec.process.capabilities.bounding);
    assert.deepEqual(spec.process.capabilities.permitted, spec.process.capabilities.bounding);
  });

  it('denies devices by default, allows all with AllowAllDevices, and adds given devices', () => {
    const base = buildPluginSpec(plugin({}), paths);
    assert.deepEqual(base.linux.resources.devices[0], { allow: false, access: 'rwm' });
    assert.ok(!base.linux.resources.devices.some((r) => r.allow && r.type === undefined));
    const all = buildPluginSpec(plugin({ Linux: { AllowAllDevices: true } }), paths);
    assert.ok(all.linux.resources.devices.some((r) => r.allow && r.type === undefined && r.access === 'rwm'));
    const dev = { path: '/dev/fuse', type: 'c' as const, major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };
    const withDev = buildPluginSpec(plugin({}), paths, [dev]);
    assert.deepEqual(withDev.linux.devices, [dev]);
    assert.ok(withDev.linux.resources.devices.some((r) => r.allow && r.major === 10 && r.minor === 229));
  });

  it('mounts the propagated-mount directory shared', () => {
    const spec = buildPluginSpec(plugin({ PropagatedMount: '/mnt/volumes' }), paths);
    const m = spec.mounts.find((x) => x.destination === '/mnt/volumes');
    assert.deepEqual(m, { destination: '/mnt/volumes', type: 'bind', source: paths.propagatedMountDir, options: ['rbind', 'rw', 'rshared'] });
    assert.equal(spec.linux.rootfsPropagation, 'rshared');
  });
});
