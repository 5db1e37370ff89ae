// docker-compose 1.29 (Debian's) on berthd, and — in the same test, when
// dockerd is installed — on dockerd 20.10 as the reference: the projects of
// test/fixtures/compose, asserting what a user sees, and then that both
// daemons showed the same.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox } from '../fixtures/images.js';
import { ok, repoRoot, runCommand, startBerthd, until, type BerthdHandle, type CommandResult } from '../helpers/berthd.js';
import { dockerdMissing, holdDockerdLock, startDockerd, type DockerdHandle } from '../helpers/dockerd.js';
import { httpGet } from '../helpers/network.js';

const COMPOSE = '/usr/bin/docker-compose';
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'compose');

interface Target {
  name: 'berth' | 'dockerd';
  root: string;
  env: NodeJS.ProcessEnv;
  docker: BerthdHandle['docker'];
}

/** What a user saw, per project and step, free of ids, ports and times so that both daemons can be compared. */
type Seen = Record<string, unknown>;

function compose(t: Target, dir: string, project: string, args: string[], timeoutMs = 120_000): Promise<CommandResult> {
  return runCommand(COMPOSE, ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], t.env, { timeoutMs });
}

async function must(t: Target, dir: string, project: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await compose(t, dir, project, args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')} on ${t.name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `docker-compose ps` as container name → State column (`Up`, `Up (healthy)`, `Paused`, `Exit 137`). */
async function states(t: Target, dir: string, project: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await must(t, dir, project, ['ps'])).split('\n')) {
    const m = new RegExp(`^(${project}_\\S+)\\s+.*?\\s{2,}(Up \\(\\w+\\)|Up|Paused|Exit \\d+|Restarting)(?=\\s|$)`).exec(line);
    if (m !== null) out[m[1]!] = m[2]!;
  }
  return out;
}

async function inspect(t: Target, name: string, format: string): Promise<string> {
  return ok(await t.docker(['inspect', '-f', format, name]), `inspect ${name}`).trim();
}

async function webPort(t: Target, dir: string, project: string): Promise<number> {
  const line = (await must(t, dir, project, ['port', 'web', '80'])).trim();
  assert.match(line, /^127\.0\.0\.1:\d+$/, `published on 127.0.0.1 only (${t.name})`);
  return Number(line.split(':')[1]);
}

/** A private copy of a fixture project (tests change files in it). */
function project(t: Target, name: string): string {
  const dir = join(t.root, 'compose', name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Runs `body` on a private copy of a fixture project as project `p`, then takes the project down (volumes too) whatever happened. */
async function inProject(t: Target, fixture: string, p: string, body: (dir: string, p: string) => Promise<Seen>): Promise<Seen> {
  const dir = project(t, fixture);
  try {
    return await body(dir, p);
  } finally {
    await compose(t, dir, p, ['down', '-v']);
  }
}

async function webAndDb(t: Target): Promise<Seen> {
  const seen: Seen = {};
  const dir = project(t, 'webdb');
  const p = 'c16web';
  try {
    const up = await compose(t, dir, p, ['up', '-d'], 180_000);
    assert.equal(up.code, 0, `${t.name}: up -d\n${up.stderr}`);
    seen.upSays = [...up.stderr.matchAll(/^(Creating (?:network|volume) "[^"]+")/gm)].map((m) => m[1]).sort();
    seen.states = await states(t, dir, p);
    let port = await webPort(t, dir, p);
    seen.page = await httpGet(port, 30_000);
    const boot = (await httpGet(port, 30_000, '/boot.txt')).trim();
    assert.match(boot, /^[0-9a-f-]{36}$/, `${t.name}: web serves the db's marker read from the shared volume`);
    seen.logsHaveBoot = (await must(t, dir, p, ['logs', '--no-color', 'db'])).includes(boot);
    seen.logsSay = /db_1\s+\| db ready/.test(await must(t, dir, p, ['logs', '--no-color']));
    seen.execEnv = (await must(t, dir, p, ['exec', '-T', 'web', 'sh', '-c', 'echo $GREETING'])).trim();
    seen.envFile = (await must(t, dir, p, ['exec', '-T', 'db', 'sh', '-c', 'echo $DB_NAME $DB_MODE'])).trim();
    // The alias on the back network and the service name, from the web service (on front and back).
    seen.aliasResolves = (await compose(t, dir, p, ['exec', '-T', 'web', 'busybox', 'nslookup', 'store'])).code === 0;
    seen.serviceResolves = (await compose(t, dir, p, ['exec', '-T', 'web', 'busybox', 'nslookup', 'db'])).code === 0;
    seen.webNetworks = await inspect(t, `${p}_web_1`, '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}');
    seen.dbAliases = (await inspect(t, `${p}_db_1`, `{{json (index .NetworkSettings.Networks "${p}_back").Aliases}}`)).includes('"store"');
    seen.restart = await inspect(t, `${p}_db_1`, '{{.HostConfig.RestartPolicy.Name}}');
    seen.init = await inspect(t, `${p}_web_1`, '{{.HostConfig.Init}}');
    seen.label = await inspect(t, `${p}_db_1`, '{{index .Config.Labels "tier"}}');
    seen.pid1 = (await must(t, dir, p, ['exec', '-T', 'web', 'cat', '/proc/1/cmdline'])).split('\0')[0];
    seen.bindRo = (await must(t, dir, p, ['exec', '-T', 'web', 'sh', '-c', 'ls /src; touch /src/x 2>&1 || true'])).trim();
    seen.bindSourceMade = existsSync(join(dir, 'made-by-daemon'));
    const anon = (await must(t, dir, p, ['exec', '-T', 'db', 'cat', '/var/cache/db/anon'])).trim();
    seen.top = /sleep 3600/.test(await must(t, dir, p, ['top', 'db']));
    seen.images = (await must(t, dir, p, ['images'])).split('\n').slice(2).map((l) => l.split(/\s+/).slice(0, 3).join(' ')).filter(Boolean).sort();
    seen.config = /services:\n {2}db:/.test(await must(t, dir, p, ['config']));

    await must(t, dir, p, ['restart']);
    seen.afterRestart = await states(t, dir, p);
    await must(t, dir, p, ['stop']);
    seen.afterStop = Object.values(await states(t, dir, p)).map((s) => s.startsWith('Exit'));
    await must(t, dir, p, ['start']);
    await must(t, dir, p, ['pause']);
    seen.afterPause = await states(t, dir, p);
    await must(t, dir, p, ['unpause']);
    port = await webPort(t, dir, p);
    assert.equal((await httpGet(port, 30_000, '/boot.txt')).trim(), boot, `${t.name}: data kept across stop and start`);

    const recreated = await must(t, dir, p, ['up', '-d', '--force-recreate']).then(() => inspect(t, `${p}_db_1`, '{{.Name}}'));
    seen.recreatedName = recreated;
    port = await webPort(t, dir, p);
    assert.equal((await httpGet(port, 30_000, '/boot.txt')).trim(), boot, `${t.name}: data kept across --force-recreate`);
    seen.anonKeptByRecreate = (await must(t, dir, p, ['exec', '-T', 'db', 'cat', '/var/cache/db/anon'])).trim() === anon;

    writeFileSync(join(dir, 'web', 'index.html'), 'rebuilt page\n');
    const rebuilt = await compose(t, dir, p, ['up', '-d', '--build'], 180_000);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    seen.rebuildRecreates = /Recreating c16web_web_1/.test(rebuilt.stderr);
    port = await webPort(t, dir, p);
    seen.rebuiltPage = await httpGet(port, 30_000);

    await must(t, dir, p, ['down']);
    seen.volumesAfterDown = ok(await t.docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`]), 'volume ls').trim();
    seen.containersAfterDown = ok(await t.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`]), 'ps').trim();
    seen.networksAfterDown = ok(await t.docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`]), 'network ls').trim();
    await must(t, dir, p, ['up', '-d'], 180_000);
    port = await webPort(t, dir, p);
    assert.equal((await httpGet(port, 30_000, '/boot.txt')).trim(), boot, `${t.name}: data survives down without -v`);
    await must(t, dir, p, ['down', '-v', '--rmi', 'local']);
    seen.volumesAfterDownV = ok(await t.docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`]), 'volume ls').trim();
    // Anonymous volumes too: the one the recreated db took over by name stays, as dockerd keeps volumes named in Binds.
    seen.anyVolumesAfterDownV = ok(await t.docker(['volume', 'ls', '-q']), 'volume ls').trim().split('\n').filter(Boolean).length;
    seen.imagesAfterRmi = ok(await t.docker(['images', '--format', '{{.Repository}}']), 'images').trim().split('\n').sort();
    await must(t, dir, p, ['up', '-d', '--no-build', 'db']).catch(() => undefined);
    const fresh = (await must(t, dir, p, ['logs', '--no-color', 'db'])).match(/[0-9a-f-]{36}/)?.[0];
    seen.freshDataAfterDownV = fresh !== undefined && fresh !== boot;
    return seen;
  } finally {
    await compose(t, dir, p, ['down', '-v', '--rmi', 'local']);
  }
}

function workers(t: Target): Promise<Seen> {
  return inProject(t, 'workers', 'c16pool', async (dir, p) => {
    const seen: Seen = {};
    await must(t, dir, p, ['up', '-d', '--scale', 'worker=3'], 180_000);
    seen.states = await states(t, dir, p);
    // Each worker finds every member of the pool by the service name, and the coordinator by its alias.
    const lookups: number[] = [];
    for (const index of ['1', '2', '3']) {
      const out = await must(t, dir, p, ['exec', '-T', '--index', index, 'worker', 'busybox', 'nslookup', 'worker']);
      lookups.push(out.split('\n').filter((l) => /^Address: \d/.test(l)).length);
    }
    seen.workerLookups = lookups;
    seen.bossResolves = (await compose(t, dir, p, ['exec', '-T', 'worker', 'busybox', 'nslookup', 'boss'])).code === 0;
    seen.peerPing = (await compose(t, dir, p, ['exec', '-T', '--index', '1', 'worker', 'busybox', 'ping', '-c', '1', '-W', '5', `${p}_worker_3`])).code === 0;
    const sh = async (script: string): Promise<CommandResult> => compose(t, dir, p, ['exec', '-T', 'worker', 'sh', '-c', script]);
    seen.readOnlyRoot = (await sh('touch /x 2>&1')).stdout.includes('Read-only file system');
    seen.tmpfsWritable = (await sh('touch /scratch/y && grep " /scratch " /proc/mounts | cut -d" " -f3')).stdout.trim();
    // The main process's limits, set by runc init itself: a process that runc 1.1 execs gets its
    // open-files limits through a race with the Go runtime's own raise (runc#4195), on either daemon.
    seen.ulimits = (await sh('grep "open files" /proc/1/limits')).stdout.trim().split(/\s+/).slice(3, 5).join(' ');
    seen.capEff = /CapEff:\s+(\S+)/.exec((await sh('cat /proc/self/status')).stdout)?.[1];
    seen.entrypoint = await inspect(t, `${p}_worker_1`, '{{json .Config.Entrypoint}} {{json .Config.Cmd}}');
    seen.pid1 = (await must(t, dir, p, ['exec', '-T', 'worker', 'cat', '/proc/1/cmdline'])).split('\0').join(' ').trim();
    return seen;
  });
}

function oneOffJob(t: Target): Promise<Seen> {
  return inProject(t, 'job', 'c16job', async (dir, p) => {
    const seen: Seen = {};
    seen.output = (await must(t, dir, p, ['run', '--rm', '-e', 'JOB_ARG=given', 'job'])).trim();
    seen.result = (await must(t, dir, p, ['run', '--rm', 'job', 'cat', '/out/result'])).trim();
    seen.leftContainers = ok(await t.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`]), 'ps').trim();
    const failed = await compose(t, dir, p, ['run', '--rm', 'job', 'sh', '-c', 'exit 3']);
    seen.failedCode = failed.code;
    return seen;
  });
}

function healthGated(t: Target): Promise<Seen> {
  return inProject(t, 'healthgate', 'c16health', async (dir, p) => {
    const seen: Seen = {};
    await must(t, dir, p, ['up', '-d'], 180_000);
    seen.states = await states(t, dir, p);
    // db turns healthy no sooner than 2 s after its start (its command sleeps first).
    const dbStarted = Date.parse(await inspect(t, `${p}_db_1`, '{{.State.StartedAt}}'));
    const appStarted = Date.parse(await inspect(t, `${p}_app_1`, '{{.State.StartedAt}}'));
    seen.appStartedAfterHealthy = appStarted - dbStarted >= 2_000;
    await until(`${t.name}: app's log`, async () => (await must(t, dir, p, ['logs', '--no-color', 'app'])).includes('started after db'), 30_000);
    seen.health = await inspect(t, `${p}_db_1`, '{{.State.Health.Status}}');
    return seen;
  });
}

const PROJECTS = { webAndDb, workers, oneOffJob, healthGated } as const;

describe('docker-compose projects on berthd and on dockerd', { timeout: 1_500_000 }, () => {
  let berthd: BerthdHandle | undefined;
  let dockerd: DockerdHandle | undefined;
  let lock: { release(): void } | undefined;
  let dockerdSkip = dockerdMissing();
  const seen = { berth: {} as Record<string, Seen>, dockerd: {} as Record<string, Seen> };
  const targets: Target[] = [];

  before(async () => {
    assert.ok(existsSync(COMPOSE), `${COMPOSE} (Debian package docker-compose) is needed`);
    berthd = await startBerthd();
    await importBusybox(berthd);
    targets.push({ name: 'berth', root: berthd.root, env: berthd.env, docker: berthd.docker });
  });

  /** dockerd, started (under the machine's dockerd lock) once berthd's half is done, so the lock is held no longer than needed. */
  async function reference(): Promise<Target | undefined> {
    if (dockerdSkip !== undefined || berthd === undefined) return undefined;
    const started = targets.find((x) => x.name === 'dockerd');
    if (started !== undefined) return started;
    lock = await holdDockerdLock(900_000);
    if (lock === undefined) {
      dockerdSkip = 'the dockerd lock stayed taken for 15 minutes';
      return undefined;
    }
    const root = join(berthd.root, 'dockerd');
    // berthd's containerd (dockerd keeps to its own namespace), a bridge and address pool of its own.
    dockerd = await startDockerd({
      root,
      containerd: join(berthd.execRoot, 'containerd', 'containerd.sock'),
      network: { bridge: 'berth-t-dk0', cidr: '10.219.0.1/24', pool: '10.220.0.0/16' },
    }).catch((err: unknown) => {
      dockerdSkip = `dockerd could not start here: ${err instanceof Error ? err.message : String(err)}`;
      return undefined;
    });
    if (dockerd === undefined) return undefined;
    await importBusybox(dockerd);
    const target: Target = { name: 'dockerd', root, env: dockerd.env, docker: dockerd.docker };
    targets.push(target);
    return target;
  }

  after(async () => {
    // dockerd first: its containers run on berthd's containerd.
    await dockerd?.stop();
    lock?.release();
    await berthd?.cleanup();
  });

  for (const daemon of ['berth', 'dockerd'] as const) {
    for (const [name, run] of Object.entries(PROJECTS)) {
      it(`${name} on ${daemon}`, async (t) => {
        const target = daemon === 'berth' ? targets[0] : await reference();
        if (target === undefined) return t.skip(dockerdSkip ?? 'dockerd did not start');
        seen[daemon][name] = await run(target);
      });
    }
  }

  it('what berthd showed', () => {
    const s = seen.berth;
    const web = s.webAndDb!;
    assert.deepEqual(web.states, { c16web_db_1: 'Up', c16web_web_1: 'Up' });
    assert.equal(web.page, 'served by compose\n');
    assert.equal(web.rebuiltPage, 'rebuilt page\n');
    assert.equal(web.bindRo, 'Dockerfile\nindex.html\nstart.sh\ntouch: /src/x: Read-only file system');
    for (const k of ['bindSourceMade', 'anonKeptByRecreate', 'logsHaveBoot', 'logsSay', 'aliasResolves', 'serviceResolves', 'dbAliases', 'top', 'config', 'rebuildRecreates', 'freshDataAfterDownV']) assert.equal(web[k], true, k);
    assert.equal(web.execEnv, 'hello');
    assert.equal(web.envFile, 'berthdb rw');
    assert.equal(web.webNetworks, 'c16web_back c16web_front');
    assert.equal(web.restart, 'unless-stopped');
    assert.equal(web.init, 'true');
    assert.equal(web.label, 'data');
    assert.equal(web.pid1, '/sbin/docker-init');
    assert.deepEqual(web.afterPause, { c16web_db_1: 'Paused', c16web_web_1: 'Paused' });
    assert.deepEqual(web.afterStop, [true, true]);
    assert.notEqual(web.volumesAfterDown, '', 'the named volume survives down');
    assert.equal(web.containersAfterDown, '');
    assert.equal(web.networksAfterDown, '');
    assert.equal(web.volumesAfterDownV, '', 'down -v removes it');
    // The built image goes; the one its tag left at the rebuild stays as <none> (as on dockerd).
    assert.deepEqual(web.imagesAfterRmi, ['<none>', 'busybox'], 'down --rmi local removes the built image');
    const pool = s.workers!;
    assert.deepEqual(Object.keys(pool.states as object).sort(), ['c16pool_coordinator_1', 'c16pool_worker_1', 'c16pool_worker_2', 'c16pool_worker_3']);
    assert.deepEqual(pool.workerLookups, [3, 3, 3]);
    assert.equal(pool.bossResolves, true);
    assert.equal(pool.peerPing, true);
    assert.equal(pool.readOnlyRoot, true);
    assert.equal(pool.tmpfsWritable, 'tmpfs');
    assert.equal(pool.ulimits, '1024 2048');
    assert.equal(pool.entrypoint, '["sh","-c"] ["exec sleep 3600"]');
    // NET_ADMIN (bit 12) on top of the default set.
    assert.equal((BigInt(`0x${String(pool.capEff)}`) >> 12n) & 1n, 1n);
    const job = s.oneOffJob!;
    assert.equal(job.output, 'job ran with given');
    assert.equal(job.result, 'done');
    assert.equal(job.leftContainers, '');
    assert.equal(job.failedCode, 3);
    const health = s.healthGated!;
    assert.deepEqual(health.states, { c16health_app_1: 'Up', c16health_db_1: 'Up (healthy)' });
    assert.equal(health.appStartedAfterHealthy, true);
    assert.equal(health.health, 'healthy');
  });

  it('berthd showed what dockerd shows', (t) => {
    if (seen.dockerd.webAndDb === undefined) return t.skip(dockerdSkip ?? 'dockerd did not run the projects');
    for (const name of Object.keys(PROJECTS)) {
      assert.ok(seen.berth[name] !== undefined && seen.dockerd[name] !== undefined, `${name} ran on both`);
      assert.deepEqual(seen.berth[name], seen.dockerd[name], `${name}: berth (actual) vs dockerd (expected)`);
    }
  });
});
