// berthd driven by dockerode, and two berthds on their own roots side by side.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { startBerthd, ok, type BerthdHandle } from '../helpers/berthd.js';
import { dockerSaveArchiveFile } from '../fixtures/images.js';
import { demux } from '../helpers/connections.js';

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
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    assert.equal(demux(Buffer.concat(chunks)).stdout, 'from-exec\n');
    assert.equal((await exec.inspect()).ExitCode, 2);
    await sleeper.remove({ force: true });
    const unknown = await docker.getContainer('no-such-container').inspect().catch((e: { statusCode?: number; message: string }) => e);
    assert.equal((unknown as { statusCode?: number }).statusCode, 404);
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
