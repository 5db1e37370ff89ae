// The Engine API contract: each endpoint's request shapes (as the Docker
// Engine API reference writes them, and as the docker CLI 28 and compose send
// them) replayed against a real berthd, checking the status codes, headers,
// JSON keys and types that those clients read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { startBerthd, ok, sleep, type BerthdHandle } from '../helpers/berthd.js';
import { freePort, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { importBusybox } from '../fixtures/images.js';
import { encodeFrame, FrameDecoder, OPCODE, type Frame } from '../../src/api/websocket.js';

type Json = Record<string, unknown>;
type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null' | 'string|null' | 'number|null' | 'object|null' | 'array|null';

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Every key of `spec` is in `obj` with that JSON type. */
function shape(obj: unknown, spec: Record<string, Kind>, where: string): void {
  assert.equal(kindOf(obj), 'object', `${where} is an object`);
  for (const [key, kind] of Object.entries(spec)) {
    assert.ok(Object.prototype.hasOwnProperty.call(obj, key), `${where}.${key} is present`);
    const got = kindOf((obj as Json)[key]);
    assert.ok(kind.split('|').includes(got), `${where}.${key} is ${kind}, got ${got}`);
  }
}

const enc = (v: unknown): string => encodeURIComponent(JSON.stringify(v));

describe('Engine API contract', { timeout: 600_000 }, () => {
  let d: BerthdHandle;
  let registry: RegistryHandle;
  let webPort: number;
  let t0: number;
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string; headers: Record<string, string | string[] | undefined> }> => {
    const r = await d.api(method, path, body);
    let json: unknown;
    try {
      json = JSON.parse(r.body);
    } catch {
      json = undefined;
    }
    return { status: r.status, json, text: r.body, headers: r.headers };
  };
  const names = async (filters: Record<string, unknown> | string, all = true): Promise<string[]> => {
    const f = typeof filters === 'string' ? filters : enc(filters);
    const r = await api('GET', `/containers/json?all=${all ? 1 : 0}&filters=${f}`);
    assert.equal(r.status, 200, r.text);
    return (r.json as Array<{ Names: string[] }>).map((c) => c.Names[0]!.slice(1)).sort();
  };

  before(async () => {
    t0 = Date.now() / 1000;
    [d, registry] = await Promise.all([startBerthd(), startRegistry()]);
    await importBusybox(d);
    webPort = await freePort();
    ok(await d.docker(['network', 'create', '--label', 'contract=1', 'contract-net']), 'network create');
    ok(
      await d.docker([
        'run', '-d', '--name', 'web', '--network', 'contract-net', '-p', `127.0.0.1:${webPort}:80`, '--expose', '9090',
        '-l', 'tier=front', '-l', 'flag', '-v', 'contract-vol:/data', '-v', `${d.root}:/host:ro`, '--tmpfs', '/scratch',
        '--health-cmd', 'true', '--health-interval', '1s', '--memory', '64m', '--restart', 'on-failure:2', '--init',
        'busybox', 'sleep', '1000',
      ]),
      'run web',
    );
    await d.docker(['run', '--name', 'done3', '-l', 'tier=batch', 'busybox', 'sh', '-c', 'exit 3']);
    ok(await d.docker(['create', '--name', 'fresh', '-t', 'busybox', 'sleep', '1000']), 'create fresh');
    // health: wait for the first probe
    for (let i = 0; i < 60; i++) {
      const h = ok(await d.docker(['inspect', '-f', '{{.State.Health.Status}}', 'web']), 'inspect').trim();
      if (h === 'healthy') break;
      await sleep(500);
    }
  });

  after(async () => {
    await Promise.all([d?.cleanup(), registry?.cleanup()]);
  });

  it('negotiates API versions up to 1.50 (docker CLI 28) with dockerd headers and texts', async () => {
    const ping = await api('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.text, 'OK');
    assert.equal(ping.headers['api-version'], '1.50');
    assert.equal(ping.headers['ostype'], 'linux');
    assert.equal(ping.headers['docker-experimental'], 'false');
    assert.equal(ping.headers['builder-version'], '1');
    assert.equal(ping.headers['swarm'], 'inactive');
    assert.match(String(ping.headers['cache-control']), /no-cache/);
    const head = await api('HEAD', '/_ping');
    assert.equal(head.status, 200);
    assert.equal(head.headers['api-version'], '1.50');
    const v = await api('GET', '/v1.50/version');
    assert.equal(v.status, 200);
    shape(v.json, { Version: 'string', ApiVersion: 'string', MinAPIVersion: 'string', Os: 'string', Arch: 'string', KernelVersion: 'string', Components: 'array', GoVersion: 'string', GitCommit: 'string' }, 'version');
    assert.equal((v.json as Json).ApiVersion, '1.50');
    assert.equal((v.json as Json).MinAPIVersion, '1.24');
    for (const old of ['1.24', '1.41', '1.47']) assert.equal((await api('GET', `/v${old}/containers/json`)).status, 200, old);
    const tooNew = await api('GET', '/v1.51/containers/json');
    assert.equal(tooNew.status, 400);
    assert.deepEqual(tooNew.json, { message: 'client version 1.51 is too new. Maximum supported API version is 1.50' });
    const tooOld = await api('GET', '/v1.23/containers/json');
    assert.equal(tooOld.status, 400);
    assert.match((tooOld.json as Json).message as string, /client version 1.23 is too old. Minimum supported API version is 1.24/);
    const cli = ok(await d.docker(['version', '--format', '{{.Client.APIVersion}} {{.Server.APIVersion}}']), 'docker version').trim();
    assert.equal(cli, '1.50 1.50');
  });

  it('lists containers with the fields docker ps and compose read', async () => {
    const r = await api('GET', '/containers/json?all=1');
    assert.equal(r.status, 200);
    const list = r.json as Json[];
    const web = list.find((c) => (c.Names as string[])[0] === '/web')!;
    shape(web, { Id: 'string', Names: 'array', Image: 'string', ImageID: 'string', Command: 'string', Created: 'number', Ports: 'array', Labels: 'object', State: 'string', Status: 'string', HostConfig: 'object', NetworkSettings: 'object', Mounts: 'array' }, 'entry');
    assert.equal(web.State, 'running');
    assert.match(web.Status as string, /^Up .* \(healthy\)$/);
    const published = (web.Ports as Json[]).find((p) => p.PublicPort === webPort)!;
    assert.deepEqual(published, { IP: '127.0.0.1', PrivatePort: 80, PublicPort: webPort, Type: 'tcp' });
    assert.ok((web.Ports as Json[]).some((p) => p.PrivatePort === 9090 && p.PublicPort === undefined));
    const net = ((web.NetworkSettings as Json).Networks as Json)['contract-net'] as Json;
    shape(net, { NetworkID: 'string', EndpointID: 'string', Gateway: 'string', IPAddress: 'string', IPPrefixLen: 'number', MacAddress: 'string' }, 'Networks.contract-net');
    assert.match(net.IPAddress as string, /^\d+\.\d+\.\d+\.\d+$/);
    const vol = (web.Mounts as Json[]).find((m) => m.Type === 'volume')!;
    shape(vol, { Type: 'string', Name: 'string', Source: 'string', Destination: 'string', Driver: 'string', Mode: 'string', RW: 'boolean', Propagation: 'string' }, 'Mounts[volume]');
    assert.equal(vol.Name, 'contract-vol');
    const ps = ok(await d.docker(['ps', '--filter', 'name=^web$', '--format', '{{.Ports}}|{{.Networks}}|{{.Status}}']), 'docker ps').trim();
    assert.match(ps, new RegExp(`^(9090/tcp, )?127\\.0\\.0\\.1:${webPort}->80/tcp(, 9090/tcp)?\\|contract-net\\|Up .*\\(healthy\\)$`));
  });

  it('applies every docker ps filter as dockerd does', async () => {
    assert.deepEqual(await names({ label: ['tier=front'] }), ['web']);
    assert.deepEqual(await names({ label: { 'tier=front': true } }), ['web']);
    assert.deepEqual(await names({ label: ['tier'] }), ['done3', 'web']);
    assert.deepEqual(await names({ label: ['flag', 'tier=front'] }), ['web']);
    assert.deepEqual(await names({ label: ['tier=back'] }), []);
    assert.deepEqual(await names({ status: ['exited'] }), ['done3']);
    assert.deepEqual(await names({ status: ['created'] }), ['fresh']);
    assert.deepEqual(await names({ status: ['running'] }), ['web']);
    assert.deepEqual(await names({ health: ['healthy'] }), ['web']);
    assert.deepEqual(await names({ health: ['none'] }), ['done3', 'fresh']);
    assert.deepEqual(await names({ network: ['contract-net'] }), ['web']);
    const netId = ok(await d.docker(['network', 'inspect', '-f', '{{.Id}}', 'contract-net']), 'network inspect').trim();
    assert.deepEqual(await names({ network: [netId.slice(0, 10)] }), ['web']);
    assert.deepEqual(await names({ volume: ['contract-vol'] }), ['web']);
    assert.deepEqual(await names({ volume: ['/data'] }), ['web']);
    assert.deepEqual(await names({ ancestor: ['busybox'] }), ['done3', 'fresh', 'web']);
    assert.deepEqual(await names({ ancestor: ['busybox:latest'] }), ['done3', 'fresh', 'web']);
    assert.deepEqual(await names({ before: ['done3'] }), ['web']);
    assert.deepEqual(await names({ since: ['done3'] }), ['fresh']);
    assert.deepEqual(await names({ publish: [String(webPort)] }), ['web']);
    assert.deepEqual(await names({ publish: [`${webPort - 1}-${webPort + 1}/tcp`] }), ['web']);
    assert.deepEqual(await names({ publish: ['80'] }), []);
    assert.deepEqual(await names({ expose: ['80'] }), ['web']);
    assert.deepEqual(await names({ expose: ['9000-9100'] }), ['web']);
    assert.deepEqual(await names({ expose: ['9090/udp'] }), []);
    const id = ok(await d.docker(['inspect', '-f', '{{.Id}}', 'web']), 'inspect').trim();
    assert.deepEqual(await names({ id: [id.slice(0, 12)] }), ['web']);
    assert.deepEqual(await names({ name: ['^/?do'] }), ['done3']);
    assert.deepEqual(await names({ exited: ['3'] }), ['done3']);
    assert.deepEqual(await names({ exited: ['0'] }), []);
    assert.deepEqual(await names({ 'is-task': ['false'] }), ['done3', 'fresh', 'web']);
    assert.deepEqual(await names({ 'is-task': ['true'] }), []);
    // the CLI's own spelling, through docker ps
    assert.equal(ok(await d.docker(['ps', '-a', '--filter', 'label=tier=batch', '--format', '{{.Names}}']), 'ps').trim(), 'done3');
    const bad = await api('GET', `/containers/json?filters=${enc({ colour: ['red'] })}`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { message: "Invalid filter 'colour'" });
    const badStatus = await api('GET', `/containers/json?filters=${enc({ status: ['sleeping'] })}`);
    assert.equal(badStatus.status, 400);
    assert.deepEqual(badStatus.json, { message: "Invalid filter 'status=sleeping'" });
    const badPublish = await api('GET', `/containers/json?filters=${enc({ publish: ['127.0.0.1:80'] })}`);
    assert.equal(badPublish.status, 400);
    assert.deepEqual(badPublish.json, { message: "filter for 'publish' should not contain ':': 127.0.0.1:80" });
  });

  it('inspect shows State.Health, Mounts, NetworkSettings and HostConfig as asked', async () => {
    const r = await api('GET', '/containers/web/json');
    assert.equal(r.status, 200);
    const c = r.json as Json;
    shape(c, { Id: 'string', Created: 'string', Path: 'string', Args: 'array', State: 'object', Image: 'string', Name: 'string', RestartCount: 'number', HostConfig: 'object', Mounts: 'array', Config: 'object', NetworkSettings: 'object', LogPath: 'string', ExecIDs: 'array|null' }, 'inspect');
    const state = c.State as Json;
    shape(state, { Status: 'string', Running: 'boolean', Paused: 'boolean', Restarting: 'boolean', OOMKilled: 'boolean', Dead: 'boolean', Pid: 'number', ExitCode: 'number', Error: 'string', StartedAt: 'string', FinishedAt: 'string', Health: 'object' }, 'State');
    shape(state.Health, { Status: 'string', FailingStreak: 'number', Log: 'array' }, 'State.Health');
    shape((state.Health as { Log: unknown[] }).Log[0], { Start: 'string', End: 'string', ExitCode: 'number', Output: 'string' }, 'State.Health.Log[0]');
    const host = c.HostConfig as Json;
    assert.equal(host.Memory, 64 * 1024 * 1024);
    assert.deepEqual(host.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
    assert.deepEqual(host.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(webPort) }] });
    assert.equal(host.Init, true);
    assert.equal(host.NetworkMode, 'contract-net');
    assert.deepEqual([...(host.Binds as string[])].sort(), [`${d.root}:/host:ro`, 'contract-vol:/data'].sort());
    // dockerd lists --tmpfs in HostConfig.Tmpfs only, not in Mounts
    assert.deepEqual(host.Tmpfs, { '/scratch': '' });
    const mounts = c.Mounts as Json[];
    assert.deepEqual(mounts.map((m) => m.Type).sort(), ['bind', 'volume']);
    const bind = mounts.find((m) => m.Type === 'bind')!;
    assert.deepEqual({ Source: bind.Source, Destination: bind.Destination, RW: bind.RW, Mode: bind.Mode }, { Source: d.root, Destination: '/host', RW: false, Mode: 'ro' });
    const ns = c.NetworkSettings as Json;
    assert.deepEqual(ns.Ports, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(webPort) }], '9090/tcp': null });
    shape((ns.Networks as Json)['contract-net'], { NetworkID: 'string', IPAddress: 'string', Gateway: 'string', Aliases: 'array|null', DNSNames: 'array|null' }, 'NetworkSettings.Networks');
    const grep = ok(await d.docker(['inspect', '-f', '{{.State.Health.Status}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}} {{(index .Mounts 0).Type}}', 'web']), 'inspect -f');
    assert.match(grep.trim(), /^healthy contract-net (bind|volume)$/);
    const missing = await api('GET', '/containers/nope/json');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { message: 'No such container: nope' });
  });

  it('changes, export, archive (HEAD, GET, PUT), update, resize and prune', async () => {
    ok(await d.docker(['exec', 'web', 'sh', '-c', 'echo hi > /root-marker']), 'exec');
    const changes = await api('GET', '/containers/web/changes');
    assert.equal(changes.status, 200);
    assert.ok((changes.json as Json[]).some((c) => c.Path === '/root-marker' && c.Kind === 1), changes.text);
    for (const ch of changes.json as Json[]) shape(ch, { Path: 'string', Kind: 'number' }, 'change');

    const exported = await exportEntries(d.socket, '/containers/web/export');
    assert.ok(exported.includes('root-marker'), 'export holds the new file');
    assert.ok(exported.includes('bin/busybox'), 'export holds the image files');

    const head = await api('HEAD', '/containers/web/archive?path=/root-marker');
    assert.equal(head.status, 200);
    const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString()) as Json;
    shape(stat, { name: 'string', size: 'number', mode: 'number', mtime: 'string', linkTarget: 'string' }, 'path stat');
    assert.deepEqual([stat.name, stat.size], ['root-marker', 3]);
    assert.equal((await api('HEAD', '/containers/web/archive?path=/nope')).status, 404);
    const got = await exportEntries(d.socket, '/containers/web/archive?path=/root-marker');
    assert.deepEqual(got, ['root-marker']);
    const local = join(d.root, 'put.txt');
    writeFileSync(local, 'put\n');
    ok(await d.docker(['cp', local, 'web:/tmp/']), 'docker cp to');
    assert.equal(ok(await d.docker(['exec', 'web', 'cat', '/tmp/put.txt']), 'cat'), 'put\n');
    const putMissing = await api('PUT', '/containers/web/archive?path=/no/such/dir', Buffer.alloc(1024));
    assert.equal(putMissing.status, 404);

    const upd = await api('POST', '/containers/web/update', { Memory: 96 * 1024 * 1024, MemorySwap: 192 * 1024 * 1024, RestartPolicy: { Name: 'unless-stopped' } });
    assert.equal(upd.status, 200, upd.text);
    shape(upd.json, { Warnings: 'array|null' }, 'update');
    const after = (await api('GET', '/containers/web/json')).json as { HostConfig: Json };
    assert.equal(after.HostConfig.Memory, 96 * 1024 * 1024);
    assert.deepEqual(after.HostConfig.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });

    ok(await d.docker(['start', 'fresh']), 'start fresh');
    assert.equal((await api('POST', '/containers/fresh/resize?h=30&w=100')).status, 200);
    assert.equal((await api('POST', '/containers/fresh/resize?h=x&w=100')).status, 400);
    assert.equal((await api('POST', '/containers/done3/resize?h=30&w=100')).status, 409);
    assert.equal((await api('POST', '/containers/nope/resize?h=30&w=100')).status, 404);

    ok(await d.docker(['run', '--name', 'prune-keep', '-l', 'keep=1', 'busybox', 'true']), 'run keep');
    ok(await d.docker(['run', '--name', 'prune-go', '-l', 'keep=0', 'busybox', 'true']), 'run go');
    const none = await api('POST', `/containers/prune?filters=${enc({ until: ['2000-01-01T00:00:00Z'] })}`);
    assert.deepEqual(none.json, { ContainersDeleted: null, SpaceReclaimed: 0 });
    const pruned = await api('POST', `/containers/prune?filters=${enc({ label: ['keep=0'], until: ['0s'] })}`);
    assert.equal(pruned.status, 200);
    shape(pruned.json, { ContainersDeleted: 'array', SpaceReclaimed: 'number' }, 'prune');
    assert.equal((pruned.json as { ContainersDeleted: string[] }).ContainersDeleted.length, 1);
    assert.deepEqual(await names({ name: ['prune-'] }), ['prune-keep']);
    ok(await d.docker(['run', '--name', 'prune-go2', '-l', 'keep=2', 'busybox', 'true']), 'run go2');
    const notLabel = await api('POST', `/containers/prune?filters=${enc({ label: ['keep'], 'label!': ['keep=1'] })}`);
    assert.equal((notLabel.json as { ContainersDeleted: string[] }).ContainersDeleted.length, 1);
    assert.deepEqual(await names({ name: ['prune-'] }), ['prune-keep']);
    const badPrune = await api('POST', `/containers/prune?filters=${enc({ status: ['exited'] })}`);
    assert.equal(badPrune.status, 400);
    ok(await d.docker(['rm', 'prune-keep']), 'rm');
  });

  it('exec: inspect before, during and after, resize of a TTY', async () => {
    const created = await api('POST', '/containers/web/exec', { Cmd: ['sh', '-c', 'sleep 2; exit 5'], Tty: true, AttachStdout: true });
    assert.equal(created.status, 201);
    const execId = (created.json as { Id: string }).Id;
    const spec = { ID: 'string', Running: 'boolean', ExitCode: 'number|null', ProcessConfig: 'object', OpenStdin: 'boolean', OpenStdout: 'boolean', OpenStderr: 'boolean', CanRemove: 'boolean', ContainerID: 'string', DetachKeys: 'string', Pid: 'number' } as const;
    const before = (await api('GET', `/exec/${execId}/json`)).json as Json;
    shape(before, spec, 'exec inspect');
    assert.deepEqual([before.Running, before.ExitCode, before.Pid], [false, null, 0]);
    shape(before.ProcessConfig, { tty: 'boolean', entrypoint: 'string', arguments: 'array', privileged: 'boolean', user: 'string' }, 'ProcessConfig');
    assert.deepEqual(before.ProcessConfig, { tty: true, entrypoint: 'sh', arguments: ['-c', 'sleep 2; exit 5'], privileged: false, user: '' });
    assert.equal((await api('POST', `/exec/${execId}/start`, { Detach: true, Tty: true })).status, 200);
    const during = (await api('GET', `/exec/${execId}/json`)).json as Json;
    assert.equal(during.Running, true);
    assert.ok((during.Pid as number) > 0);
    assert.equal((await api('POST', `/exec/${execId}/resize?h=20&w=70`)).status, 200);
    assert.equal((await api('POST', `/exec/nope/resize?h=20&w=70`)).status, 404);
    let done: Json = during;
    for (let i = 0; i < 60 && done.Running === true; i++) {
      await sleep(250);
      done = (await api('GET', `/exec/${execId}/json`)).json as Json;
    }
    assert.deepEqual([done.Running, done.ExitCode], [false, 5]);
    const gone = await api('GET', '/exec/nope/json');
    assert.deepEqual([gone.status, gone.json], [404, { message: 'No such exec instance: nope' }]);
  });

  it('images: history, prune filters, search, and a get of several images that docker load takes', async () => {
    const history = await api('GET', '/images/busybox/history');
    assert.equal(history.status, 200);
    for (const h of history.json as Json[]) shape(h, { Id: 'string', Created: 'number', CreatedBy: 'string', Tags: 'array|null', Size: 'number', Comment: 'string' }, 'history');
    assert.deepEqual(((history.json as Json[])[0] as Json).Tags, ['busybox:latest']);

    ok(await d.docker(['tag', 'busybox', 'contract/a:1']), 'tag a');
    ok(await d.docker(['commit', '-c', 'LABEL stage=b', 'done3', 'contract/b:1']), 'commit b');
    const tar = await exportEntries(d.socket, '/images/get?names=contract/a:1&names=contract/b:1');
    assert.ok(tar.includes('manifest.json') && tar.includes('index.json'), tar.join(','));
    const archive = join(d.root, 'two.tar');
    await download(d.socket, '/images/get?names=contract/a:1&names=contract/b:1', archive);
    ok(await d.docker(['rm', '-f', 'done3']), 'rm done3');
    ok(await d.docker(['rmi', 'contract/a:1', 'contract/b:1']), 'rmi');
    const loaded = ok(await d.docker(['load', '-i', archive]), 'docker load');
    assert.match(loaded, /Loaded image: contract\/a:1/);
    assert.match(loaded, /Loaded image: contract\/b:1/);

    // prune: dangling=false takes unused tagged images, filtered by label and until
    const keep = await api('POST', `/images/prune?filters=${enc({ dangling: ['false'], until: ['2000-01-01T00:00:00Z'] })}`);
    assert.deepEqual(keep.json, { ImagesDeleted: null, SpaceReclaimed: 0 });
    const byLabel = await api('POST', `/images/prune?filters=${enc({ dangling: ['false'], label: ['stage=b'] })}`);
    assert.equal(byLabel.status, 200, byLabel.text);
    shape(byLabel.json, { ImagesDeleted: 'array', SpaceReclaimed: 'number' }, 'image prune');
    assert.ok((byLabel.json as { ImagesDeleted: Json[] }).ImagesDeleted.some((x) => x.Untagged === 'contract/b:1'));
    assert.equal((await d.docker(['image', 'inspect', 'contract/a:1'])).code, 0, 'a has no label: kept');
    const notLabel = await api('POST', `/images/prune?filters=${enc({ dangling: ['false'], 'label!': ['nothing'], until: ['2000-01-01T00:00:00Z'] })}`);
    assert.deepEqual(notLabel.json, { ImagesDeleted: null, SpaceReclaimed: 0 });
    const badFilter = await api('POST', `/images/prune?filters=${enc({ reference: ['x'] })}`);
    assert.deepEqual([badFilter.status, badFilter.json], [400, { message: "invalid filter 'reference'" }]);

    ok(await d.docker(['tag', 'busybox', `${registry.host}/team/tool:1`]), 'tag');
    ok(await d.docker(['push', `${registry.host}/team/tool:1`]), 'push');
    const found = await api('GET', `/images/search?term=${encodeURIComponent(`${registry.host}/too`)}`);
    assert.equal(found.status, 200, found.text);
    assert.deepEqual(found.json, [{ name: `${registry.host}/team/tool`, description: '', star_count: 0, is_official: false, is_automated: false }]);
    const cli = ok(await d.docker(['search', '--format', '{{.Name}}', `${registry.host}/team`]), 'docker search').trim();
    assert.equal(cli, `${registry.host}/team/tool`);
    const hub = await api('GET', '/images/search?term=busybox');
    assert.equal(hub.status, 501);
    assert.match((hub.json as Json).message as string, /berth does not search Docker Hub/);
    assert.equal((await api('GET', `/images/search?term=${registry.host}/x&limit=101`)).status, 400);
  });

  it('distribution inspect resolves at the registry: Descriptor and Platforms', async () => {
    ok(await d.docker(['tag', 'busybox', `${registry.host}/dist/busybox:1`]), 'tag');
    const pushed = ok(await d.docker(['push', `${registry.host}/dist/busybox:1`]), 'push');
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    assert.ok(digest, pushed);
    const r = await api('GET', `/distribution/${registry.host}/dist/busybox:1/json`);
    assert.equal(r.status, 200, r.text);
    const body = r.json as { Descriptor: Json; Platforms: Json[] };
    shape(body.Descriptor, { mediaType: 'string', digest: 'string', size: 'number' }, 'Descriptor');
    assert.equal(body.Descriptor.digest, digest);
    assert.equal(body.Platforms.length, 1);
    assert.equal(body.Platforms[0]!.os, 'linux');
    assert.equal(typeof body.Platforms[0]!.architecture, 'string');
    const missing = await api('GET', `/distribution/${registry.host}/dist/nothing/json`);
    assert.equal(missing.status, 404);
  });

  it('/system/df and the events of containers, images, networks, volumes and the daemon', async () => {
    const df = await api('GET', '/system/df');
    assert.equal(df.status, 200);
    shape(df.json, { LayersSize: 'number', Images: 'array', Containers: 'array', Volumes: 'array', BuildCache: 'array|null' }, 'df');
    const vol = ((df.json as { Volumes: Json[] }).Volumes).find((v) => v.Name === 'contract-vol')!;
    shape(vol.UsageData, { Size: 'number', RefCount: 'number' }, 'df volume UsageData');

    ok(await d.docker(['run', '-d', '--name', 'ev', '-v', 'ev-vol:/v', 'busybox', 'sleep', '100']), 'run ev');
    ok(await d.docker(['top', 'ev']), 'top');
    ok(await d.docker(['rename', 'ev', 'ev2']), 'rename');
    ok(await d.docker(['pause', 'ev2']), 'pause');
    ok(await d.docker(['unpause', 'ev2']), 'unpause');
    ok(await d.docker(['exec', 'ev2', 'true']), 'exec');
    ok(await d.docker(['update', '--cpu-shares', '512', 'ev2']), 'update');
    ok(await d.docker(['export', '-o', join(d.root, 'ev.tar'), 'ev2']), 'export');
    ok(await d.docker(['cp', 'ev2:/etc/hostname', join(d.root, 'h')]), 'cp from');
    ok(await d.docker(['cp', join(d.root, 'h'), 'ev2:/tmp/']), 'cp to');
    ok(await d.docker(['commit', '-c', 'LABEL evl=1', 'ev2', 'ev-img']), 'commit');
    ok(await d.docker(['restart', '-t', '1', 'ev2']), 'restart');
    ok(await d.docker(['kill', 'ev2']), 'kill');
    ok(await d.docker(['rm', 'ev2']), 'rm');
    ok(await d.docker(['save', '-o', join(d.root, 'ev.img.tar'), 'ev-img']), 'save');
    ok(await d.docker(['tag', 'ev-img', 'ev-img:2']), 'tag');
    ok(await d.docker(['rmi', 'ev-img:2', 'ev-img']), 'rmi');
    ok(await d.docker(['load', '-i', join(d.root, 'ev.img.tar')]), 'load');
    ok(await d.docker(['network', 'create', 'ev-net']), 'network create');
    ok(await d.docker(['network', 'connect', 'ev-net', 'web']), 'connect');
    ok(await d.docker(['network', 'disconnect', 'ev-net', 'web']), 'disconnect');
    ok(await d.docker(['network', 'rm', 'ev-net']), 'network rm');
    ok(await d.docker(['volume', 'create', 'ev-vol2']), 'volume create');
    ok(await d.docker(['volume', 'rm', 'ev-vol2']), 'volume rm');
    ok(await d.docker(['image', 'prune', '-f']), 'image prune');
    process.kill(d.pid, 'SIGHUP');
    await sleep(1500);
    const r = await api('GET', `/events?since=${t0.toFixed(3)}&until=${(Date.now() / 1000).toFixed(3)}`);
    assert.equal(r.status, 200);
    const events = r.text.trim().split('\n').map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; scope: string; time: number; timeNano: number });
    for (const e of events) {
      shape(e, { Type: 'string', Action: 'string', Actor: 'object', scope: 'string', time: 'number', timeNano: 'number' }, `event ${e.Type} ${e.Action}`);
      assert.equal(e.scope, 'local');
    }
    const find = (type: string, action: string | RegExp, attrs: Record<string, string> = {}): (typeof events)[number] => {
      const e = events.find((x) => x.Type === type && (typeof action === 'string' ? x.Action === action : action.test(x.Action)) && Object.entries(attrs).every(([k, v]) => x.Actor.Attributes[k] === v));
      assert.ok(e, `a ${type} ${String(action)} event with ${JSON.stringify(attrs)}`);
      return e;
    };
    const evId = find('container', 'create', { name: 'ev' }).Actor.ID;
    for (const action of ['start', 'top', 'pause', 'unpause', 'update', 'export', 'commit', 'restart', 'stop', 'die', 'kill', 'destroy', 'archive-path', 'extract-to-dir', 'exec_die']) {
      const e = events.find((x) => x.Type === 'container' && x.Action === action && x.Actor.ID === evId);
      assert.ok(e, `container ${action}`);
      assert.equal(e.Actor.Attributes.image, 'busybox', `${action} names the image`);
    }
    find('container', 'rename', { name: 'ev2', oldName: '/ev' });
    find('container', 'kill', { signal: '9', name: 'ev2' });
    find('container', 'die', { name: 'ev2', exitCode: '137' });
    // dockerd joins entrypoint and arguments with a space, even when there are none
    find('container', 'exec_create: true ', { name: 'ev2' });
    find('container', 'exec_start: true ', { name: 'ev2' });
    find('container', 'resize', { name: 'fresh', height: '30', width: '100' });
    find('container', 'health_status: healthy', { name: 'web' });
    find('container', 'prune');
    find('volume', 'create', { driver: 'local' });
    find('volume', 'mount', { container: evId, destination: '/v', driver: 'local', 'read/write': 'true' });
    find('volume', 'unmount', { container: evId, driver: 'local' });
    assert.equal(find('volume', 'destroy').Actor.ID.length > 0, true);
    find('network', 'create', { name: 'ev-net', type: 'bridge' });
    find('network', 'connect', { name: 'ev-net' });
    find('network', 'disconnect', { name: 'ev-net' });
    find('network', 'destroy', { name: 'ev-net' });
    find('network', 'connect', { name: 'bridge', container: evId });
    for (const action of ['tag', 'untag', 'delete', 'save', 'load', 'import', 'push', 'prune']) find('image', action);
    // image events carry the image's labels, as dockerd's do
    find('image', 'tag', { name: 'ev-img:2', evl: '1' });
    find('image', 'save', { evl: '1' });
    find('image', 'delete', { evl: '1' });
    const reload = find('daemon', 'reload');
    assert.ok('default-runtime' in reload.Actor.Attributes);
  });

  it('swarm, session and unknown paths answer as dockerd does', async () => {
    const notManager = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
    for (const [method, path] of [['GET', '/swarm'], ['GET', '/services'], ['GET', '/nodes'], ['GET', '/tasks'], ['GET', '/secrets'], ['GET', '/configs'], ['POST', '/v1.50/services/create']] as const) {
      const r = await api(method, path);
      assert.deepEqual([r.status, r.json], [503, { message: notManager }], path);
    }
    const leave = await api('POST', '/swarm/leave');
    assert.deepEqual([leave.status, leave.json], [503, { message: 'This node is not part of a swarm' }]);
    const session = await api('POST', '/session');
    assert.equal(session.status, 501);
    assert.match((session.json as Json).message as string, /berth has no BuildKit/);
    const unknown = await api('GET', '/no/such/path');
    assert.deepEqual([unknown.status, unknown.json], [404, { message: 'page not found' }]);
  });

  it('attach/ws carries stdin and output over WebSocket frames', async () => {
    ok(await d.docker(['run', '-d', '-i', '--name', 'wscat', 'busybox', 'cat']), 'run cat');
    const ws = await openWebSocket(d.socket, '/containers/wscat/attach/ws?stream=1&stdin=1&stdout=1&stderr=1');
    assert.equal(ws.status, 101);
    ws.send(Buffer.from('hello over ws\n'));
    const frame = await ws.next();
    assert.equal(frame.opcode, OPCODE.binary);
    assert.equal(frame.payload.toString(), 'hello over ws\n');
    ws.close();
    // before API 1.28 the frames are text frames
    const old = await openWebSocket(d.socket, '/v1.27/containers/wscat/attach/ws?stream=1');
    assert.equal(old.status, 101);
    old.send(Buffer.from('text\n'));
    const text = await old.next();
    assert.deepEqual([text.opcode, text.payload.toString()], [OPCODE.text, 'text\n']);
    old.close();
    const missing = await openWebSocket(d.socket, '/containers/nope/attach/ws?stream=1');
    assert.equal(missing.status, 404);
    const plain = await api('GET', '/containers/wscat/attach/ws?stream=1');
    assert.deepEqual([plain.status, plain.text], [400, 'not websocket protocol']);
    ok(await d.docker(['rm', '-f', 'wscat']), 'rm');
  });
});

/** The entry names of a tar answer. */
function exportEntries(socketPath: string, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${path}: ${res.statusCode}`));
        res.resume();
        return;
      }
      const x = extract();
      const out: string[] = [];
      x.on('entry', (h, stream, next) => {
        out.push(h.name.replace(/^\.?\//, '').replace(/\/$/, ''));
        stream.on('end', next);
        stream.resume();
      });
      x.on('finish', () => resolve(out));
      x.on('error', reject);
      res.pipe(x);
    });
    req.on('error', reject);
    req.end();
  });
}

function download(socketPath: string, path: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        writeFileSync(file, Buffer.concat(chunks));
        resolve();
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface WsClient {
  status: number;
  send(data: Buffer): void;
  next(): Promise<Frame>;
  close(): void;
}

/** A minimal WebSocket client on the API socket: the handshake, masked frames out, frames in. */
function openWebSocket(socketPath: string, path: string): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket: Socket = connect(socketPath);
    let buf = Buffer.alloc(0);
    let headerDone = false;
    const decoder = new FrameDecoder({ requireMask: false });
    const frames: Frame[] = [];
    const waiting: Array<(f: Frame) => void> = [];
    const deliver = (): void => {
      while (frames.length > 0 && waiting.length > 0) waiting.shift()!(frames.shift()!);
    };
    const client = (status: number): WsClient => ({
      status,
      send: (data) => socket.write(encodeFrame(OPCODE.binary, data, { mask: randomBytes(4) })),
      next: () =>
        new Promise<Frame>((res, rej) => {
          const timer = setTimeout(() => rej(new Error('no frame within 20 s')), 20_000);
          waiting.push((f) => {
            clearTimeout(timer);
            res(f);
          });
          deliver();
        }),
      close: () => {
        socket.write(encodeFrame(OPCODE.close, Buffer.from([0x03, 0xe8]), { mask: randomBytes(4) }));
        socket.end();
      },
    });
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        [`GET ${path} HTTP/1.1`, 'Host: localhost', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', 'Origin: http://localhost', '', ''].join('\r\n'),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (headerDone) {
        frames.push(...decoder.push(chunk));
        deliver();
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      headerDone = true;
      const head = buf.subarray(0, end).toString();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      if (status === 101) {
        const accept = /sec-websocket-accept: *(\S+)/i.exec(head)?.[1];
        const want = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (accept !== want) {
          reject(new Error(`bad Sec-WebSocket-Accept ${accept}`));
          return;
        }
        frames.push(...decoder.push(buf.subarray(end + 4)));
      } else {
        socket.destroy();
      }
      resolve(client(status));
    });
  });
}
