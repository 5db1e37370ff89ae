// berthd driven by dockerode (what a Node program that manages a small
// project does: network, volume, build, ports, logs, exec, stop, remove), and
// two berthds on their own roots side by side.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { startBerthd, ok, type BerthdHandle } from '../helpers/berthd.js';
import { dockerSaveArchiveFile, tarBuffer } from '../fixtures/images.js';
import { demux } from '../helpers/connections.js';
import { httpGet } from '../helpers/network.js';

/** Starts an exec attached and returns its demultiplexed output once it ends. */
async function execOutput(exec: Docker.Exec): Promise<{ stdout: string; stderr: string }> {
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  return demux(Buffer.concat(chunks));
}

describe('dockerode and two daemons side by side', { timeout: 180_000 }, () => {
  let a: BerthdHandle | undefined;
  let b: BerthdHandle | undefined;

  before(async () => {
    [a, b] = await Promise.all([startBerthd(), startBerthd()]);
    for (const d of [a, b]) {
      const archive = await dockerSaveArchiveFile(d.root, { repoTags: ['busybox:latest'] });
      ok(await d.docker(['load', '-i', archive]), 'docker load');
    }
  });

  after(async () => {
    await Promise.all([a?.cleanup(), b?.cleanup()]);
  });

  it('create, start, wait, logs, exec and remove through dockerode', async () => {
    const docker = new Docker({ socketPath: a!.socket });
    const info = await docker.info();
    assert.equal(info.DefaultRuntime, 'runc');
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'], name: 'dockerode-one' });
    await c.start();
    const result = (await c.wait()) as { StatusCode: number };
    assert.equal(result.StatusCode, 4);
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    assert.deepEqual(demux(logs), { stdout: 'out\n', stderr: 'err\n' });
    const inspect = await c.inspect();
    assert.equal(inspect.State.ExitCode, 4);
    assert.equal(inspect.HostConfig.Runtime, 'runc');
    await c.remove();

    const sleeper = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'] });
    await sleeper.start();
    const exec = await sleeper.exec({ Cmd: ['sh', '-c', 'echo from-exec; exit 2'], AttachStdout: true, AttachStderr: true });
    assert.equal((await execOutput(exec)).stdout, 'from-exec\n');
    assert.equal((await exec.inspect()).ExitCode, 2);
    await sleeper.remove({ force: true });
    const unknown = await docker.getContainer('no-such-container').inspect().catch((e: { statusCode?: number; message: string }) => e);
    assert.equal((unknown as { statusCode?: number }).statusCode, 404);
  });

  it('a project through dockerode: network and volume, build, published port, logs, exec, stop, remove', async () => {
    const docker = new Docker({ socketPath: a!.socket });
    const labels = { 'berth.test': 'dockerode' };
    const network = await docker.createNetwork({ Name: 'dn-net', Labels: labels });
    const volume = await docker.createVolume({ Name: 'dn-data', Labels: labels });
    assert.equal((await network.inspect()).Driver, 'bridge');
    assert.equal((volume as unknown as { name: string }).name, 'dn-data');

    const context = await tarBuffer([
      { header: { name: 'Dockerfile' }, data: Buffer.from('FROM busybox\nRUN mkdir /www && echo from-dockerode > /www/index.html\nEXPOSE 80\nCMD ["busybox", "httpd", "-f", "-p", "80", "-h", "/www"]\n') },
    ]);
    const build = await docker.buildImage(Readable.from([context]), { t: 'dn-web:latest', labels });
    const progress = await new Promise<Array<{ stream?: string; error?: string }>>((resolve, reject) => docker.modem.followProgress(build, (err: Error | null, out: Array<{ stream?: string; error?: string }>) => (err ? reject(err) : resolve(out))));
    assert.ok(!progress.some((p) => p.error !== undefined), JSON.stringify(progress));
    assert.ok(progress.some((p) => p.stream?.includes('Successfully tagged dn-web:latest')));
    const image = await docker.getImage('dn-web').inspect();
    assert.deepEqual(Object.keys(image.Config.ExposedPorts ?? {}), ['80/tcp']);
    // The key compose reads from image inspect.
    assert.ok('ContainerConfig' in image, 'image inspect has ContainerConfig');

    const web = await docker.createContainer({
      name: 'dn-web',
      Image: 'dn-web',
      Labels: labels,
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, Binds: ['dn-data:/data'] },
      NetworkingConfig: { EndpointsConfig: { 'dn-net': { Aliases: ['site'] } } },
    });
    await web.start();
    const inspect = await web.inspect();
    const port = Number(inspect.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort);
    assert.ok(port > 0, JSON.stringify(inspect.NetworkSettings.Ports));
    assert.equal(inspect.NetworkSettings.Ports['80/tcp']?.[0]?.HostIp, '127.0.0.1');
    assert.equal(await httpGet(port, 30_000), 'from-dockerode\n');
    assert.ok(inspect.NetworkSettings.Networks['dn-net']?.Aliases?.includes('site'));
    assert.equal(inspect.Mounts.find((m) => m.Destination === '/data')?.Name, 'dn-data');

    // A peer on the same network reaches it by alias (container to container, inside berth's bridge).
    const peer = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'busybox wget -q -O - http://site/ && echo x > /data/written'], HostConfig: { Binds: ['dn-data:/data'], NetworkMode: 'dn-net' } });
    await peer.start();
    const peerExit = ((await peer.wait()) as { StatusCode: number }).StatusCode;
    const peerOutput = demux((await peer.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    assert.equal(peerExit, 0, JSON.stringify(peerOutput));
    assert.deepEqual(peerOutput, { stdout: 'from-dockerode\n', stderr: '' });
    await peer.remove();

    const exec = await web.exec({ Cmd: ['cat', '/data/written'], AttachStdout: true, AttachStderr: true });
    assert.equal((await execOutput(exec)).stdout, 'x\n');
    assert.equal((await exec.inspect()).Running, false);

    const listed = await docker.listContainers({ filters: { label: ['berth.test=dockerode'] } });
    assert.deepEqual(listed.map((c) => c.Names), [['/dn-web']]);
    await web.stop({ t: 1 });
    assert.equal((await web.inspect()).State.Running, false);
    await web.remove({ v: true });
    await network.remove();
    await docker.getImage('dn-web').remove();
    await docker.getVolume('dn-data').remove();
    const volumes = await docker.listVolumes({ filters: { label: ['berth.test=dockerode'] } });
    assert.deepEqual(volumes.Volumes ?? [], []);
    const networks = await docker.listNetworks({ filters: { label: ['berth.test=dockerode'] } });
    assert.deepEqual(networks, []);
  });

  it('two berthds on their own roots do not see or disturb each other', async () => {
    const runA = a!.docker(['run', '-d', '--name', 'same-name', 'busybox', 'sleep', '1000']);
    const runB = b!.docker(['run', '-d', '--name', 'same-name', 'busybox', 'sleep', '1000']);
    const [idA, idB] = [ok(await runA, 'run on a').trim(), ok(await runB, 'run on b').trim()];
    assert.notEqual(idA, idB);
    assert.equal(ok(await a!.docker(['ps', '-q', '--no-trunc']), 'ps a').trim(), idA);
    assert.equal(ok(await b!.docker(['ps', '-q', '--no-trunc']), 'ps b').trim(), idB);
    ok(await a!.docker(['rm', '-f', 'same-name']), 'rm on a');
    assert.equal(ok(await b!.docker(['inspect', '-f', '{{.State.Running}}', 'same-name']), 'inspect b').trim(), 'true');
    assert.equal(ok(await b!.docker(['exec', 'same-name', 'echo', 'still']), 'exec b'), 'still\n');
    ok(await b!.docker(['rm', '-f', 'same-name']), 'rm on b');
  });
});
