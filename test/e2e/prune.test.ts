// docker system df and the prunes (container, image, volume, system) with
// the real docker CLI: what goes, what stays, and the bytes reclaimed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { busyboxRootfsTarFile, berthdWithBusybox } from '../fixtures/images.js';
import { type BerthdHandle, type CommandResult, ok } from '../helpers/berthd.js';

describe('system df and prunes', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);

  berthdWithBusybox((h) => {
    d = h;
  });

  it('system df shows images, containers and volumes with sizes', async () => {
    ok(await docker('run', '--name', 'writer', '-v', 'dfvol:/data', 'busybox', 'sh', '-c', 'head -c 1048576 /dev/zero > /big; head -c 2048 /dev/zero > /data/f'), 'run');
    const body = JSON.parse((await d.api('GET', '/v1.47/system/df')).body) as {
      LayersSize: number;
      Images: Array<{ Containers: number; Size: number }>;
      Containers: Array<{ Names: string[]; SizeRw: number; SizeRootFs: number }>;
      Volumes: Array<{ Name: string; UsageData: { Size: number; RefCount: number } }>;
      BuildCache: unknown[];
    };
    assert.ok(body.LayersSize > 0);
    assert.equal(body.Images[0]?.Containers, 1);
    const writer = body.Containers.find((c) => c.Names[0] === '/writer');
    assert.ok(writer !== undefined && writer.SizeRw >= 1048576 && writer.SizeRw < 1048576 + 65536, `SizeRw ${writer?.SizeRw}`);
    assert.ok(writer.SizeRootFs > writer.SizeRw);
    assert.deepEqual(body.Volumes.find((v) => v.Name === 'dfvol')?.UsageData, { Size: 2048, RefCount: 1 });
    assert.deepEqual(body.BuildCache, []);
    const only = JSON.parse((await d.api('GET', '/v1.47/system/df?type=volume')).body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(only), ['Volumes']);
    const out = ok(await docker('system', 'df'), 'system df');
    assert.match(out, /^Images\s+1\s+1\s/m);
    assert.match(out, /^Containers\s+1\s+0\s/m);
    assert.match(out, /^Local Volumes\s+1\s+1\s/m);
    assert.match(ok(await docker('system', 'df', '-v'), 'system df -v'), /dfvol\s+1\s+2\.048kB/);
  });

  it('container prune reports the bytes of the removed writable layers; volumes stay', async () => {
    const r = await d.api('POST', '/v1.47/containers/prune');
    const body = JSON.parse(r.body) as { ContainersDeleted: string[]; SpaceReclaimed: number };
    assert.equal(body.ContainersDeleted.length, 1);
    assert.ok(body.SpaceReclaimed >= 1048576 && body.SpaceReclaimed < 1048576 + 65536, String(body.SpaceReclaimed));
    assert.equal(ok(await docker('volume', 'ls', '-q'), 'ls'), 'dfvol\n');
  });

  it('image prune removes dangling images and reports the freed blob bytes', async () => {
    ok(await docker('import', await busyboxRootfsTarFile(d.root, 'other.tar', { marker: 'one' }), 'tmpimg'), 'import 1');
    ok(await docker('import', await busyboxRootfsTarFile(d.root, 'other2.tar', { marker: 'two' }), 'tmpimg'), 'import 2 (the first one is now dangling)');
    const dangling = ok(await docker('images', '-q', '--filter', 'dangling=true'), 'images').trim();
    assert.match(dangling, /^[0-9a-f]{12}$/);
    const r = JSON.parse((await d.api('POST', '/v1.47/images/prune')).body) as { ImagesDeleted: unknown[]; SpaceReclaimed: number };
    assert.ok(r.ImagesDeleted.length >= 1);
    // the layer blob (busybox + marker) is not shared with any other image
    assert.ok(r.SpaceReclaimed > 500_000, String(r.SpaceReclaimed));
    assert.equal(ok(await docker('images', '-q', '--filter', 'dangling=true'), 'images'), '');
    const again = JSON.parse((await d.api('POST', '/v1.47/images/prune')).body) as { SpaceReclaimed: number };
    assert.equal(again.SpaceReclaimed, 0);
  });

  it('system prune keeps volumes; --volumes removes unused anonymous ones, never named ones or ones in use', async () => {
    ok(await docker('create', '--name', 'stopped', '-v', '/anon1', 'busybox', 'true'), 'create');
    ok(await docker('run', '-d', '--name', 'live', '-v', '/anon2', 'busybox', 'sleep', '1000'), 'run');
    ok(await docker('create', '--name', 'gone', '-v', '/anon3', 'busybox', 'true'), 'create');
    const anon3 = ok(await docker('inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'gone'), 'inspect').trim();
    ok(await docker('rm', 'gone'), 'rm without -v');
    const before = ok(await docker('volume', 'ls', '-q'), 'ls').trim().split('\n');
    assert.equal(before.length, 4);
    ok(await docker('system', 'prune', '-f'), 'system prune');
    assert.deepEqual(ok(await docker('volume', 'ls', '-q'), 'ls').trim().split('\n'), before);
    assert.equal(ok(await docker('ps', '-aq', '--filter', 'name=stopped'), 'ps'), '', 'stopped containers go');
    const out = ok(await docker('system', 'prune', '-f', '--volumes'), 'system prune --volumes');
    assert.match(out, new RegExp(anon3));
    const left = ok(await docker('volume', 'ls', '-q'), 'ls').trim().split('\n');
    assert.ok(left.includes('dfvol'), 'named volumes stay');
    assert.ok(!left.includes(anon3));
    const anon2 = ok(await docker('inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'live'), 'inspect').trim();
    // anon1 was freed when prune removed "stopped" (without -v) and goes with it
    assert.deepEqual(left.sort(), [anon2, 'dfvol'].sort());
    ok(await docker('rm', '-f', 'live'), 'rm');
  });
});
