// docker cp, export and diff with the real docker CLI on real containerd, on
// running and stopped containers, including the symlink attacks: a path in a
// container must never lead docker cp to the host's files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { busyboxRootfsTarFile, importBusybox, tarBuffer } from '../fixtures/images.js';
import { sleep, startBerthd, type BerthdHandle, type CommandResult, ok } from '../helpers/berthd.js';

describe('docker cp, export and diff', { timeout: 300_000 }, () => {
  let d: BerthdHandle;
  let host: string;
  let secret: string;
  const docker = (...args: string[]): Promise<CommandResult> => d.docker(args);

  before(async () => {
    d = await startBerthd();
    await importBusybox(d);
    // what an attacker would like to reach on the host
    host = join(d.root, 'host-dir');
    mkdirSync(host);
    secret = join(host, 'secret');
    writeFileSync(secret, 'host secret\n');
  });

  after(async () => {
    await d?.cleanup();
  });

  const src = (): string => {
    const dir = join(d.root, `src-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'aaa\n');
    writeFileSync(join(dir, 'sub', 'b.txt'), 'bbb\n');
    return dir;
  };

  for (const running of [true, false]) {
    it(`cp both ways on a ${running ? 'running' : 'stopped'} container, into its volume too`, async () => {
      const name = running ? 'cp-run' : 'cp-stop';
      ok(await docker('run', '-d', '--name', name, '-v', `${name}-vol:/vol`, 'busybox', 'sh', '-c', 'echo in-ctr > /etc/ctr-file; sleep 1000'), 'run');
      await sleep(300);
      if (!running) ok(await docker('stop', '-t', '0', name), 'stop');
      const dir = src();
      ok(await docker('cp', dir, `${name}:/tmp/copied`), 'cp in (new name)');
      ok(await docker('cp', join(dir, 'a.txt'), `${name}:/vol/`), 'cp into the volume');
      const out = join(d.root, `${name}-out`);
      ok(await docker('cp', `${name}:/tmp/copied`, out), 'cp out');
      assert.equal(readFileSync(join(out, 'sub', 'b.txt'), 'utf8'), 'bbb\n');
      ok(await docker('cp', `${name}:/etc/.`, join(d.root, `${name}-etc`)), 'cp the contents of a directory out');
      assert.ok(readdirSync(join(d.root, `${name}-etc`)).includes('ctr-file'));
      ok(await docker('cp', `${name}:/`, join(d.root, `${name}-root`)), 'cp the whole root out');
      assert.ok(statSync(join(d.root, `${name}-root`, 'bin', 'busybox')).isFile());
      ok(await docker('cp', `${name}:/etc/ctr-file`, join(d.root, `${name}-file`)), 'cp a file out');
      assert.equal(readFileSync(join(d.root, `${name}-file`), 'utf8'), 'in-ctr\n');
      ok(await docker('cp', `${name}:/vol/a.txt`, join(d.root, `${name}-vol-a`)), 'cp out of the volume');
      assert.equal(readFileSync(join(d.root, `${name}-vol-a`), 'utf8'), 'aaa\n');
      const missing = await docker('cp', `${name}:/does/not/exist`, join(d.root, 'x'));
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /Could not find the file \/does\/not\/exist in container cp-/);
      if (!running) ok(await docker('start', name), 'start');
      assert.equal(ok(await docker('exec', name, 'cat', '/tmp/copied/a.txt', '/tmp/copied/sub/b.txt', '/vol/a.txt'), 'read back'), 'aaa\nbbb\naaa\n');
      ok(await docker('rm', '-f', '-v', name), 'rm');
      ok(await docker('volume', 'rm', `${name}-vol`), 'volume rm');
    });
  }

  it('the path stat header: mode bits as Go writes them, linkTarget resolved in the container', async () => {
    ok(await docker('run', '-d', '--name', 'st', 'busybox', 'sh', '-c', 'ln -s /etc/passwd /pw; sleep 1000'), 'run');
    await sleep(300);
    const r = await d.api('HEAD', '/containers/st/archive?path=/pw');
    assert.equal(r.status, 200);
    const stat = JSON.parse(Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
    assert.equal(stat.name, 'pw');
    assert.equal(stat.linkTarget, '/etc/passwd');
    assert.equal(stat.mode, (2 ** 27 + 0o777) >>> 0);
    const dir = await d.api('HEAD', '/containers/st/archive?path=/tmp');
    const dstat = JSON.parse(Buffer.from(String(dir.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
    assert.equal(dstat.mode, (2 ** 31 + 2 ** 20 + 0o777) >>> 0);
    assert.equal((await d.api('HEAD', '/containers/st/archive?path=/nope')).status, 404);
    assert.equal((await d.api('HEAD', '/containers/st/archive')).status, 400);
    ok(await docker('rm', '-f', 'st'), 'rm');
  });

  for (const running of [true, false]) {
    it(`symlink attacks on a ${running ? 'running' : 'stopped'} container never reach the host`, async () => {
      const name = running ? 'atk-run' : 'atk-stop';
      const script = [
        `ln -s ${host} /abs`,
        `ln -s ${secret} /abs-file`,
        'ln -s ../../../../../../../../ /up',
        'ln -s /etc /etcl',
        `mkdir -p /inside && ln -s ${host} /inside/h`,
        'sleep 1000',
      ].join('; ');
      ok(await docker('run', '-d', '--name', name, 'busybox', 'sh', '-c', script), 'run');
      await sleep(400);
      if (!running) ok(await docker('stop', '-t', '0', name), 'stop');
      // reads: the container has no such files, so these are 404s
      for (const p of ['/abs/secret', '/abs-file', `/up${secret}`, `/inside/h/secret`]) {
        const r = await docker('cp', `${name}:${p}`, '-');
        assert.notEqual(r.code, 0, p);
        assert.doesNotMatch(r.stdout, /host secret/, p);
      }
      // a link to /etc is the container's /etc
      const pw = ok(await docker('cp', `${name}:/etcl/passwd`, '-'), 'cp /etcl/passwd');
      assert.match(pw, /app:x:1000:1000/);
      assert.doesNotMatch(pw, new RegExp(readFileSync('/etc/passwd', 'utf8').split('\n')[1] ?? 'never-matches-anything'));
      // writes through links land inside the container (or fail), never in the host directory
      const dir = src();
      await docker('cp', join(dir, 'a.txt'), `${name}:/abs/`);
      await docker('cp', join(dir, 'a.txt'), `${name}:/up${host}/`);
      await docker('cp', dir, `${name}:/inside/h/`);
      assert.deepEqual(readdirSync(host), ['secret']);
      assert.equal(readFileSync(secret, 'utf8'), 'host secret\n');
      ok(await docker('rm', '-f', name), 'rm');
    });
  }

  it('a container swapping a directory for a symlink during copies does not win', async () => {
    const script = `mkdir -p /w; while :; do mv /w /w2 2>/dev/null; ln -s ${host} /w 2>/dev/null; rm -f /w; mv /w2 /w 2>/dev/null; done`;
    ok(await docker('run', '-d', '--name', 'racer', 'busybox', 'sh', '-c', script), 'run');
    const dir = src();
    for (let i = 0; i < 15; i++) {
      await docker('cp', join(dir, 'a.txt'), 'racer:/w/');
      await docker('cp', dir, `racer:/w/d${i}`);
      await docker('cp', 'racer:/w/secret', '-');
    }
    assert.deepEqual(readdirSync(host), ['secret']);
    assert.equal(readFileSync(secret, 'utf8'), 'host secret\n');
    ok(await docker('rm', '-f', 'racer'), 'rm');
  });

  it('PUT archive refuses ../ and absolute entries, and links out of the archive, changing nothing', async () => {
    ok(await docker('run', '-d', '--name', 'put', 'busybox', 'sleep', '1000'), 'run');
    const file = (name: string, data = 'x'): Parameters<typeof tarBuffer>[0][number] => ({ header: { name, type: 'file', mode: 0o644 }, data: Buffer.from(data) });
    const cases: Array<[string, Parameters<typeof tarBuffer>[0], RegExp]> = [
      ['dotdot', [file('ok1'), file('../../../../../../../../..' + secret)], /is outside of/],
      ['absolute', [file('ok2'), file(secret)], /absolute names are refused/],
      ['hardlink', [file('ok3'), { header: { name: 'hl', type: 'link', linkname: '../../../../../../etc/shadow' } }], /is outside of/],
    ];
    for (const [what, entries, pattern] of cases) {
      const r = await d.api('PUT', '/containers/put/archive?path=/tmp&noOverwriteDirNonDir=true', await tarBuffer(entries));
      assert.equal(r.status, 400, what);
      assert.match(r.body, pattern, what);
    }
    // a symlink entry followed by a file "through" it
    const viaLink = await tarBuffer([{ header: { name: 'lnk', type: 'symlink', linkname: host } }, file('lnk/evil')]);
    const r = await d.api('PUT', '/containers/put/archive?path=/tmp', viaLink);
    assert.equal(r.status, 400);
    assert.deepEqual(readdirSync(host), ['secret']);
    // Unpacked as it arrives, as dockerd does; what a refused archive had created is removed again.
    assert.equal(ok(await docker('exec', 'put', 'ls', '-A', '/tmp'), 'ls'), '', 'the refused archives left nothing');
    const notDir = await d.api('PUT', '/containers/put/archive?path=/etc/passwd', await tarBuffer([file('x')]));
    assert.equal(notDir.status, 400);
    assert.match(notDir.body, /extraction point is not a directory/);
    const missing = await d.api('PUT', '/containers/put/archive?path=/nope', await tarBuffer([file('x')]));
    assert.equal(missing.status, 404);
    // noOverwriteDirNonDir
    const over = await d.api('PUT', '/containers/put/archive?path=/&noOverwriteDirNonDir=true', await tarBuffer([file('tmp')]));
    assert.equal(over.status, 400);
    assert.equal((JSON.parse(over.body) as { message: string }).message, 'cannot overwrite directory "/tmp" with non-directory "tmp"');
    assert.ok((await docker('exec', 'put', 'test', '-d', '/tmp')).code === 0);
    ok(await docker('rm', '-f', 'put'), 'rm');
  });

  for (const running of [true, false]) {
    it(`cp in creates FIFOs and device nodes as dockerd does (${running ? 'running' : 'stopped'}), never through a symlink`, async () => {
      const name = running ? 'nodes-run' : 'nodes-stop';
      ok(await docker('run', '-d', '--name', name, 'busybox', 'sleep', '1000'), 'run');
      if (!running) ok(await docker('stop', '-t', '0', name), 'stop');
      const nodes = await tarBuffer([
        { header: { name: 'nodes/', type: 'directory', mode: 0o755 } },
        { header: { name: 'nodes/pipe', type: 'fifo', mode: 0o640, uid: 12, gid: 34 } },
        { header: { name: 'nodes/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 } },
        { header: { name: 'nodes/loop', type: 'block-device', mode: 0o600, devmajor: 7, devminor: 0 } },
      ]);
      ok(await d.docker(['cp', '-', `${name}:/tmp`], { input: nodes }), 'cp in');
      if (!running) ok(await docker('start', name), 'start');
      const listing = ok(await docker('exec', name, 'stat', '-c', '%n %F %a %u:%g %t:%T', '/tmp/nodes/pipe', '/tmp/nodes/null', '/tmp/nodes/loop'), 'stat');
      assert.equal(listing, '/tmp/nodes/pipe fifo 640 12:34 0:0\n/tmp/nodes/null character special file 666 0:0 1:3\n/tmp/nodes/loop block special file 600 0:0 7:0\n');
      // A node "through" a symlink the archive made is refused and nothing reaches the host.
      const via = await tarBuffer([
        { header: { name: 'esc', type: 'symlink', linkname: host } },
        { header: { name: 'esc/pipe', type: 'fifo', mode: 0o644 } },
      ]);
      const r = await d.api('PUT', `/containers/${name}/archive?path=/tmp`, via);
      assert.equal(r.status, 400);
      assert.deepEqual(readdirSync(host), ['secret']);
      ok(await docker('rm', '-f', name), 'rm');
    });
  }

  it('owners: tar headers by default, the container user with cp -a; read-only rootfs and volumes refuse', async () => {
    ok(await docker('run', '-d', '--name', 'own', '-u', 'app', '-v', 'rov:/ro:ro', 'busybox', 'sleep', '1000'), 'run');
    const tar = await tarBuffer([{ header: { name: 'f', type: 'file', mode: 0o600, uid: 123, gid: 456 }, data: Buffer.from('x') }]);
    assert.equal((await d.api('PUT', '/containers/own/archive?path=/tmp', tar)).status, 200);
    assert.equal(ok(await docker('exec', 'own', 'stat', '-c', '%u:%g %a', '/tmp/f'), 'stat'), '123:456 600\n');
    assert.equal((await d.api('PUT', '/containers/own/archive?path=/tmp&copyUIDGID=true', tar)).status, 200);
    assert.equal(ok(await docker('exec', 'own', 'stat', '-c', '%u:%g', '/tmp/f'), 'stat'), '1000:1000\n');
    const dir = src();
    const ro = await docker('cp', join(dir, 'a.txt'), 'own:/ro/');
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /mounted volume is marked read-only/);
    // an entry below the extraction point that lands in the read-only volume, running and stopped
    const intoRo = await tarBuffer([{ header: { name: 'ro/x', type: 'file', mode: 0o644 }, data: Buffer.from('x') }]);
    for (const state of ['running', 'stopped']) {
      if (state === 'stopped') ok(await docker('stop', '-t', '0', 'own'), 'stop');
      const r = await d.api('PUT', '/containers/own/archive?path=/', intoRo);
      assert.equal(r.status, 400, state);
      assert.match(r.body, /mounted volume is marked read-only/, state);
    }
    ok(await docker('rm', '-f', '-v', 'own'), 'rm');
    ok(await docker('volume', 'rm', 'rov'), 'volume rm');
    ok(await docker('create', '--name', 'rofs', '--read-only', 'busybox', 'true'), 'create');
    const rofs = await docker('cp', join(dir, 'a.txt'), 'rofs:/tmp/');
    assert.match(rofs.stderr, /container rootfs is marked read-only/);
    ok(await docker('rm', 'rofs'), 'rm');
  });

  it('a client that hangs up during a read of a stopped container leaves no mount behind', async () => {
    ok(await docker('create', '--name', 'hang', 'busybox', 'true'), 'create');
    // enough data that the walk is still going when the client hangs up
    const big = join(d.root, 'big');
    mkdirSync(big);
    for (let i = 0; i < 40; i++) writeFileSync(join(big, `f${i}`), Buffer.alloc(1 << 20, i));
    ok(await docker('cp', big, 'hang:/big'), 'cp in');
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: d.socket, path: '/containers/hang/archive?path=/big', method: 'GET' }, (res) => {
        assert.equal(res.statusCode, 200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
      req.end();
    });
    const tmp = join(d.dataRoot, 'tmp');
    const mountsLeft = async (): Promise<string[]> => {
      const info = readFileSync('/proc/self/mountinfo', 'utf8');
      return info.split('\n').filter((l) => l.includes(`${tmp}/rootfs-`));
    };
    for (let i = 0; i < 50 && (await mountsLeft()).length > 0; i++) await sleep(100);
    assert.deepEqual(await mountsLeft(), []);
    ok(await docker('rm', 'hang'), 'rm');
  });

  it('a client that hangs up part way through an upload leaves no writer behind and nothing it created', async () => {
    ok(await docker('run', '-d', '--name', 'hangup', 'busybox', 'sleep', '1000'), 'run');
    const entries = Array.from({ length: 60 }, (_, i) => ({ header: { name: `up/d${i % 6}/f${i}`, type: 'file' as const, mode: 0o644 }, data: Buffer.alloc(256 * 1024, i) }));
    const whole = await tarBuffer(entries);
    // berthd's children that are a tar extracting (any process may end while it is looked at)
    const writers = (): string[] =>
      readdirSync('/proc').filter((p) => {
        if (!/^\d+$/.test(p)) return false;
        try {
          return readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(d.pid) && readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('tar\0-x');
        } catch {
          return false;
        }
      });
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: d.socket, path: '/containers/hangup/archive?path=/tmp', method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
      // half the archive, then the writers are running, then the client is gone
      req.write(whole.subarray(0, whole.length >> 1), () => {
        setTimeout(() => {
          assert.ok(writers().length > 0, 'the upload is being written');
          req.destroy();
          resolve();
        }, 500);
      });
    });
    for (let i = 0; i < 50 && writers().length > 0; i++) await sleep(100);
    assert.deepEqual(writers(), []);
    for (let i = 0; i < 50 && ok(await docker('exec', 'hangup', 'ls', '/tmp'), 'ls') !== ''; i++) await sleep(100);
    assert.equal(ok(await docker('exec', 'hangup', 'ls', '/tmp'), 'ls'), '', 'what the upload created is removed');
    ok(await docker('rm', '-f', 'hangup'), 'rm');
  });

  it('export and diff, running and stopped', async () => {
    ok(await docker('run', '-d', '--name', 'ex', '-v', 'exv:/data', 'busybox', 'sh', '-c', 'echo new > /etc/added; rm /etc/group; echo x >> /etc/passwd; echo v > /data/in-volume; sleep 1000'), 'run');
    await sleep(400);
    const diff = ok(await docker('diff', 'ex'), 'diff');
    assert.equal(diff, 'C /etc\nA /etc/added\nD /etc/group\nC /etc/passwd\n');
    const exported = join(d.root, 'export.tar');
    ok(await docker('export', '-o', exported, 'ex'), 'export running');
    const list = await listTar(exported);
    assert.ok(list.includes('etc/added'));
    assert.ok(list.includes('bin/busybox'));
    assert.ok(!list.includes('etc/group'));
    assert.ok(!list.some((n) => n.startsWith('data/in-volume')), 'volumes are not exported');
    assert.ok(!list.some((n) => n.startsWith('proc/') && n !== 'proc/'), '/proc is not exported');
    ok(await docker('stop', '-t', '0', 'ex'), 'stop');
    assert.equal(ok(await docker('diff', 'ex'), 'diff stopped'), diff);
    ok(await docker('export', '-o', exported, 'ex'), 'export stopped');
    const list2 = await listTar(exported);
    assert.ok(list2.includes('etc/added'));
    assert.ok(!list2.some((n) => n.startsWith('data/in-volume')));
    assert.ok(statSync(exported).size > 1000);
    ok(await docker('rm', '-v', 'ex'), 'rm');
    ok(await docker('volume', 'rm', 'exv'), 'volume rm');
    assert.equal(existsSync(join(d.dataRoot, 'tmp')) ? readdirSync(join(d.dataRoot, 'tmp')).filter((n) => n.startsWith('rootfs-') || n.startsWith('put-')).length : 0, 0, 'no temporary mounts left');
  });
});

async function listTar(file: string): Promise<string[]> {
  const { extract } = await import('tar-stream');
  const { createReadStream } = await import('node:fs');
  const ex = extract();
  createReadStream(file).pipe(ex);
  const names: string[] = [];
  for await (const e of ex) {
    names.push(e.header.name);
    e.resume();
  }
  return names;
}
