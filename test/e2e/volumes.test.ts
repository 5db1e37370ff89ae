// Volumes and mounts driven by the real docker CLI against bin/berthd on a
// real containerd: named and anonymous volumes, copy-up, rm -v, restarts,
// --mount, --tmpfs, --read-only, --volumes-from, and dockerd's errors.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTar, writeFixture, type TarEntry } from '../fixtures/images.js';
import { startBerthd, type BerthdHandle, type CommandResult, ok } from '../helpers/berthd.js';

const entry = (name: string, type: 'directory' | 'file' | 'symlink', opts: { mode?: number; uid?: number; gid?: number; data?: string; linkname?: string } = {}): TarEntry => {
  const e: TarEntry = { header: { name, type, mode: opts.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: opts.uid ?? 0, gid: opts.gid ?? 0 } };
  if (opts.linkname !== undefined) e.header.linkname = opts.linkname;
  if (opts.data !== undefined) e.data = Buffer.from(opts.data);
  return e;
};

describe('volumes and mounts through the docker CLI', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);
  const fails = async (args: string[], pattern: RegExp): Promise<void> => {
    const r = await docker(...args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, pattern);
  };

  before(async () => {
    d = await startBerthd();
    const tar = await busyboxRootfsTar(undefined, [
      // what postgres-style images ship: a data directory owned by its user
      entry('data/', 'directory', { mode: 0o700, uid: 999, gid: 998 }),
      entry('data/conf', 'file', { mode: 0o640, uid: 999, gid: 998, data: 'from-image\n' }),
      entry('data/sub/', 'directory', { mode: 0o750, uid: 999, gid: 998 }),
      entry('etc/motd', 'file', { data: 'motd\n' }),
    ]);
    const file = await writeFixture(d.root, 'rootfs.tar', tar);
    ok(await docker('import', '-c', 'CMD ["sh"]', file, 'busybox'), 'import');
    ok(await docker('import', '-c', 'CMD ["sh"]', '-c', 'VOLUME /data', file, 'withvol'), 'import withvol');
  });

  after(async () => {
    await d?.cleanup();
  });

  it('volume create, ls, inspect, rm; the same name again returns it', async () => {
    assert.equal(ok(await docker('volume', 'create', '--label', 'tier=db', 'v1'), 'create'), 'v1\n');
    assert.equal(ok(await docker('volume', 'create', 'v1'), 'create again'), 'v1\n');
    const [vol] = JSON.parse(ok(await docker('volume', 'inspect', 'v1'), 'inspect')) as Array<Record<string, unknown>>;
    assert.equal(vol?.Driver, 'local');
    assert.equal(vol?.Scope, 'local');
    assert.equal(vol?.Mountpoint, join(d.dataRoot, 'volumes', 'v1', '_data'));
    assert.deepEqual(vol?.Labels, { tier: 'db' });
    assert.match(String(vol?.CreatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(statSync(join(d.dataRoot, 'volumes', 'v1', '_data')).isDirectory());
    ok(await docker('volume', 'create', 'v2'), 'create v2');
    assert.equal(ok(await docker('volume', 'ls', '-q', '--filter', 'label=tier=db'), 'ls'), 'v1\n');
    assert.equal(ok(await docker('volume', 'ls', '-q', '--filter', 'name=v'), 'ls'), 'v1\nv2\n');
    assert.equal(ok(await docker('volume', 'ls', '-q', '--filter', 'dangling=true'), 'ls'), 'v1\nv2\n');
    ok(await docker('volume', 'rm', 'v1', 'v2'), 'rm');
    assert.equal(ok(await docker('volume', 'ls', '-q'), 'ls'), '');
    await fails(['volume', 'inspect', 'v1'], /no such volume/);
    await fails(['volume', 'create', 'a'], /volume name is too short, names should be at least two alphanumeric characters/);
    await fails(['volume', 'create', '../../etc'], /includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
    await fails(['volume', 'create', '-o', 'nope=1', 'v3'], /invalid option: "nope"/);
    assert.ok(!existsSync(join(d.dataRoot, 'etc')));
  });

  it('-v NAME:/dst: data written by one container is read by another and survives a berthd restart', async () => {
    ok(await docker('run', '--rm', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo hello > /data/f'), 'write');
    assert.equal(ok(await docker('run', '--rm', '-v', 'shared:/d:ro', 'busybox', 'cat', '/d/f'), 'read'), 'hello\n');
    const ro = await docker('run', '--rm', '-v', 'shared:/d:ro', 'busybox', 'sh', '-c', 'echo x > /d/g');
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    ok(await docker('create', '--name', 'holder', '-v', 'shared:/data', 'busybox', 'true'), 'create holder');
    const mounts = JSON.parse(ok(await docker('inspect', '-f', '{{json .Mounts}}', 'holder'), 'inspect')) as unknown;
    assert.deepEqual(mounts, [
      { Type: 'volume', Name: 'shared', Source: join(d.dataRoot, 'volumes', 'shared', '_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
    ]);
    const holderId = ok(await docker('inspect', '-f', '{{.Id}}', 'holder'), 'inspect').trim();
    assert.equal(ok(await docker('ps', '-aq', '--filter', 'volume=shared'), 'ps --filter volume'), `${holderId.slice(0, 12)}\n`);
    assert.equal(ok(await docker('ps', '-aq', '--filter', 'volume=/data'), 'ps --filter volume=dst'), `${holderId.slice(0, 12)}\n`);
    const inUse = await docker('volume', 'rm', 'shared');
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /remove shared: volume is in use - \[[0-9a-f]{64}\]/);
    await d.stop();
    d = await startBerthd({ root: d.root });
    assert.equal(ok(await docker('run', '--rm', '-v', 'shared:/data', 'busybox', 'cat', '/data/f'), 'after restart'), 'hello\n');
    assert.match(ok(await docker('volume', 'ls', '-q'), 'ls'), /^shared$/m);
    // still in use by the stopped container after the restart
    assert.notEqual((await docker('volume', 'rm', 'shared')).code, 0);
    ok(await docker('rm', 'holder'), 'rm holder');
    ok(await docker('volume', 'rm', 'shared'), 'volume rm');
  });

  it('copy-up: an empty volume gets the image content with owners and modes; nocopy and binds get none', async () => {
    const out = ok(await docker('run', '--rm', '-v', 'pgdata:/data', 'busybox', 'sh', '-c', 'stat -c "%u:%g %a" /data /data/conf /data/sub; cat /data/conf'), 'run');
    assert.equal(out, '999:998 700\n999:998 640\n999:998 750\nfrom-image\n');
    const data = join(d.dataRoot, 'volumes', 'pgdata', '_data');
    assert.equal(statSync(data).uid, 999);
    // not again once the volume has content
    ok(await docker('run', '--rm', '-v', 'pgdata:/data', 'busybox', 'sh', '-c', 'rm /data/conf'), 'rm conf');
    assert.equal(ok(await docker('run', '--rm', '-v', 'pgdata:/data', 'busybox', 'ls', '/data'), 'ls'), 'sub\n');
    assert.equal(ok(await docker('run', '--rm', '-v', 'fresh:/data:nocopy', 'busybox', 'ls', '-A', '/data'), 'nocopy'), '');
    assert.equal(ok(await docker('run', '--rm', '--mount', 'type=volume,src=fresh2,dst=/data,volume-nocopy', 'busybox', 'ls', '-A', '/data'), 'volume-nocopy'), '');
    const host = mkdtempSync(join(d.root, 'bind-'));
    assert.equal(ok(await docker('run', '--rm', '-v', `${host}:/data`, 'busybox', 'ls', '-A', '/data'), 'bind'), '');
    assert.deepEqual(readdirSync(host), []);
    await fails(['run', '--rm', '-v', 'x1:/etc/motd', 'busybox', 'true'], /cannot mount volume over existing file, file exists/);
    ok(await docker('volume', 'rm', 'pgdata', 'fresh', 'fresh2'), 'volume rm');
  });

  it('anonymous volumes: image VOLUMEs and -v /dst are created with copy-up and removed by rm -v and --rm', async () => {
    ok(await docker('create', '--name', 'anon', '-v', '/scratch', 'withvol', 'true'), 'create');
    const mounts = JSON.parse(ok(await docker('inspect', '-f', '{{json .Mounts}}', 'anon'), 'inspect')) as Array<Record<string, unknown>>;
    assert.equal(mounts.length, 2);
    const names = mounts.map((m) => String(m.Name));
    for (const m of mounts) {
      assert.equal(m.Type, 'volume');
      assert.match(String(m.Name), /^[0-9a-f]{64}$/);
      assert.equal(m.Mode, '');
    }
    const dataVol = mounts.find((m) => m.Destination === '/data');
    assert.ok(dataVol !== undefined);
    assert.ok(existsSync(join(String(dataVol.Source), 'conf')), 'image content copied into the anonymous volume');
    const labels = JSON.parse(ok(await docker('volume', 'inspect', '-f', '{{json .Labels}}', names[0] as string), 'vol inspect')) as unknown;
    assert.deepEqual(labels, { 'com.docker.volume.anonymous': '' });
    ok(await docker('rm', '-v', 'anon'), 'rm -v');
    const left = ok(await docker('volume', 'ls', '-q'), 'ls');
    for (const n of names) assert.doesNotMatch(left, new RegExp(n));

    ok(await docker('create', '--name', 'anon2', 'withvol', 'true'), 'create');
    const keep = ok(await docker('inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'anon2'), 'inspect').trim();
    ok(await docker('rm', 'anon2'), 'rm without -v');
    assert.match(ok(await docker('volume', 'ls', '-q'), 'ls'), new RegExp(keep));
    // volume prune (API >= 1.42) removes the unused anonymous one and keeps named ones
    ok(await docker('volume', 'create', 'named-keep'), 'create');
    const pruned = ok(await docker('volume', 'prune', '-f'), 'prune');
    assert.match(pruned, new RegExp(keep));
    assert.equal(ok(await docker('volume', 'ls', '-q'), 'ls'), 'named-keep\n');
    ok(await docker('volume', 'prune', '-f', '-a'), 'prune -a');
    assert.equal(ok(await docker('volume', 'ls', '-q'), 'ls'), '');

    const before = ok(await docker('volume', 'ls', '-q'), 'ls');
    ok(await docker('run', '--rm', 'withvol', 'ls', '/data'), 'run --rm');
    assert.equal(ok(await docker('volume', 'ls', '-q'), 'ls'), before);
  });

  it('local driver options: tmpfs and bind volumes are mounted for their containers', async () => {
    ok(await docker('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'tmpvol'), 'create tmpfs volume');
    const [vol] = JSON.parse(ok(await docker('volume', 'inspect', 'tmpvol'), 'inspect')) as Array<{ Options: unknown }>;
    assert.deepEqual(vol?.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' });
    const mounts = ok(await docker('run', '--rm', '-v', 'tmpvol:/t', 'busybox', 'sh', '-c', 'echo kept > /t/f; grep " /t " /proc/mounts'), 'run');
    assert.match(mounts, /^tmpfs \/t tmpfs .*size=2048k/);
    assert.equal(ok(await docker('run', '--rm', '-v', 'tmpvol:/t', 'busybox', 'cat', '/t/f'), 'second container sees it'), 'kept\n');
    const hostDir = mkdtempSync(join(d.root, 'bindvol-'));
    ok(await docker('volume', 'create', '--driver', 'local', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${hostDir}`, 'bindvol'), 'create bind volume');
    ok(await docker('run', '--rm', '-v', 'bindvol:/b', 'busybox', 'sh', '-c', 'echo through > /b/f'), 'run');
    assert.ok(existsSync(join(hostDir, 'f')));
    ok(await docker('run', '--rm', '--mount', 'type=volume,src=optvol,dst=/o,volume-opt=type=tmpfs,volume-opt=device=tmpfs', 'busybox', 'true'), '--mount volume-opt');
    const [opt] = JSON.parse(ok(await docker('volume', 'inspect', 'optvol'), 'inspect')) as Array<{ Options: unknown }>;
    assert.deepEqual(opt?.Options, { type: 'tmpfs', device: 'tmpfs' });
    ok(await docker('volume', 'rm', 'tmpvol', 'bindvol', 'optvol'), 'rm');
    assert.ok(existsSync(join(hostDir, 'f')), 'removing a bind volume leaves the host directory alone');
    assert.ok(!existsSync(join(d.dataRoot, 'volumes', 'tmpvol')));
  });

  it('--mount, --tmpfs, --read-only, --volumes-from', async () => {
    const host = mkdtempSync(join(d.root, 'bind-'));
    ok(await docker('run', '--rm', '--mount', `type=bind,src=${host},dst=/h`, 'busybox', 'sh', '-c', 'echo b > /h/x'), 'bind');
    assert.ok(existsSync(join(host, 'x')));
    const tmpfs = ok(await docker('run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %a /t'), 'tmpfs');
    assert.match(tmpfs, /^tmpfs \/t tmpfs [^ ]*size=1024k[^ ]*mode=1770/);
    assert.match(tmpfs, /1770\n$/);
    assert.match(ok(await docker('run', '--rm', '--tmpfs', '/run2:size=2m', 'busybox', 'grep', ' /run2 ', '/proc/mounts'), '--tmpfs'), /size=2048k/);
    const ro = await docker('run', '--rm', '--read-only', '-v', 'rw1:/w', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'echo a > /w/a && echo b > /tmp/b && echo c > /c');
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(ok(await docker('run', '--rm', '-v', 'rw1:/w', 'busybox', 'cat', '/w/a'), 'volume writable under --read-only'), 'a\n');

    ok(await docker('create', '--name', 'src', '-v', 'rw1:/w', '-v', `${host}:/h:ro`, 'withvol', 'true'), 'create src');
    const got = ok(await docker('run', '--rm', '--volumes-from', 'src', 'busybox', 'sh', '-c', 'cat /w/a /h/x; ls /data'), 'volumes-from');
    assert.equal(got, 'a\nb\nconf\nsub\n');
    const roFrom = await docker('run', '--rm', '--volumes-from', 'src:ro', 'busybox', 'sh', '-c', 'echo z > /w/z');
    assert.match(roFrom.stderr, /Read-only file system/);
    await fails(['run', '--rm', '--volumes-from', 'src:nocopy', 'busybox', 'true'], /invalid mode: nocopy/);
    // (through the API: the CLI takes any 404 from create for a missing image)
    const nosuch = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { VolumesFrom: ['nosuch'] } });
    assert.equal(nosuch.status, 404);
    assert.match(nosuch.body, /No such container: nosuch/);
    ok(await docker('rm', '-v', 'src'), 'rm src');
    ok(await docker('volume', 'rm', 'rw1'), 'volume rm');
  });

  it('bad mount specs get dockerd\'s errors and leave nothing behind', async () => {
    const volumesBefore = ok(await docker('volume', 'ls', '-q'), 'ls');
    const cases: Array<[string[], RegExp]> = [
      [['-v', 'a:b:c:d'], /invalid volume specification: 'a:b:c:d'/],
      [['-v', 'vol:relative'], /invalid mount path: 'relative' mount path must be absolute/],
      [['-v', 'vol:/'], /invalid specification: destination can't be '\/'/],
      [['-v', 'vol:/x:bogus'], /invalid mode: bogus/],
      [['-v', 'vol:/x:ro,rw'], /invalid mode: ro,rw/],
      [['-v', 'aa:/d', '-v', 'bb:/d'], /Duplicate mount point: \/d/],
      [['-v', 'aa:/d', '--mount', 'type=volume,src=bb,dst=/d'], /Duplicate mount point: \/d/],
      [['--mount', 'type=bind,src=/nonexistent-berth,dst=/x'], /invalid mount config for type "bind": bind source path does not exist: \/nonexistent-berth/],
      [['--mount', 'type=volume,dst=/x,readonly'], /must not set ReadOnly mode when using anonymous volumes/],
      [['--mount', 'type=bind,src=/tmp,dst=/x,bind-propagation=bogus'], /invalid propagation mode: bogus|invalid value for bind-propagation/],
      [['--mount', 'type=tmpfs,src=/tmp,dst=/x'], /field Source must not be specified/],
    ];
    for (const [args, pattern] of cases) await fails(['create', ...args, 'busybox', 'true'], pattern);
    assert.equal(ok(await docker('volume', 'ls', '-q'), 'ls'), volumesBefore);
    assert.equal(ok(await docker('ps', '-aq'), 'ps'), '');
    // -v creates a missing bind source, as dockerd does
    const missing = join(d.root, 'made-by-v');
    ok(await docker('run', '--rm', '-v', `${missing}:/m`, 'busybox', 'true'), 'run');
    assert.ok(statSync(missing).isDirectory());
  });
});
