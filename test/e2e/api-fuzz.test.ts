// Property test of berthd's input handling: a few hundred malformed API
// requests and daemon.json files, generated from a seeded PRNG so a failure
// reproduces. Every one must be refused with a 4xx and a JSON message (404 for
// unknown ids), never a 5xx or a stack trace, and must change nothing.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { importBusybox } from '../fixtures/images.js';
import { berthdBin, runCommand, startBerthd, type BerthdHandle, type CommandResult, ok } from '../helpers/berthd.js';

const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20240607);
const RANDOM_CASES = Number(process.env.BERTH_FUZZ_CASES ?? 300);

/** mulberry32: small, seeded, good enough to spread inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  what: string;
  method: string;
  path: string;
  /** raw body bytes; JSON objects are serialised by the generator */
  body?: string | Buffer;
  /** send without Content-Length (chunked) */
  chunked?: boolean;
  /** the exact status expected, when one is */
  status?: number;
}

interface Reply {
  status: number;
  body: string;
  contentType: string;
}

/**
 * Huge bodies go over a raw socket: the server may answer 413 and close while
 * the body is still being written, and an http client would then drop the
 * answer it already received on the write error (EPIPE).
 */
function sendRaw(socketPath: string, c: Case): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => undefined);
    sock.setTimeout(30_000, () => sock.destroy());
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m === null) {
        reject(new Error(`no HTTP answer (${text.length} bytes received)`));
        return;
      }
      const [head, ...rest] = text.split('\r\n\r\n');
      const ct = /\r\ncontent-type: *([^\r]*)/i.exec(head ?? '')?.[1] ?? '';
      let body = rest.join('\r\n\r\n');
      // A chunked answer: keep the JSON object inside it.
      const json = /\{[\s\S]*\}/.exec(body);
      if (json !== null) body = json[0];
      resolve({ status: Number(m[1]), body, contentType: ct });
    });
    const buf = Buffer.from(c.body ?? '');
    const lengthHeader = c.chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${buf.length}\r\n`;
    sock.write(`${c.method} ${c.path} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n${lengthHeader}\r\n`);
    if (c.chunked) {
      for (let off = 0; off < buf.length; off += 256 * 1024) {
        const part = buf.subarray(off, off + 256 * 1024);
        sock.write(`${part.length.toString(16)}\r\n`);
        sock.write(part);
        sock.write('\r\n');
      }
      sock.end('0\r\n\r\n');
    } else sock.end(buf);
  });
}

function send(socketPath: string, c: Case): Promise<Reply> {
  if (c.body !== undefined && Buffer.byteLength(c.body) > 1024 * 1024) return sendRaw(socketPath, c);
  return new Promise((resolve, reject) => {
    let replied = false;
    const headers: Record<string, string | number> = {};
    if (c.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      if (!c.chunked) headers['Content-Length'] = Buffer.byteLength(c.body);
    }
    const req = request({ socketPath, method: c.method, path: c.path, headers }, (res) => {
      replied = true;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), contentType: String(res.headers['content-type'] ?? '') }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!replied) reject(err);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${c.what}`)));
    if (c.body !== undefined) {
      if (c.chunked) {
        // Several writes so the body really arrives in pieces.
        const buf = Buffer.from(c.body);
        for (let off = 0; off < buf.length; off += 256 * 1024) req.write(buf.subarray(off, off + 256 * 1024));
      } else req.write(c.body);
    }
    req.end();
  });
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomId(rnd: () => number): string {
  let s = '';
  for (let i = 0; i < 64; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)];
  return s;
}

// Values of the wrong type (or otherwise invalid) for each create field; each
// must be refused — Docker's StrSlice accepts a string for Cmd/Entrypoint, so
// strings are not listed there.
const BAD_CREATE_FIELDS: Record<string, readonly unknown[]> = {
  Cmd: [5, true, { a: 1 }, [1], [['x']]],
  Entrypoint: [5, false, { a: 'b' }, [2]],
  Env: ['x', 5, { A: 'b' }, [1], [true]],
  Labels: [{ a: 1 }, [], 'x', 5, { a: true }, { a: ['b'] }],
  HostConfig: [[], 'x', 5, true],
  Image: [5, [], {}, true],
  Tty: ['yes', 1, []],
  OpenStdin: ['no', {}],
  User: [5, [], {}],
  WorkingDir: [5, {}, 'relative/dir'],
  Hostname: [5, []],
  StopTimeout: ['x', {}, []],
  StopSignal: [9, []],
};
const BAD_HOSTCONFIG_FIELDS: Record<string, readonly unknown[]> = {
  Runtime: [5, [], {}],
  AutoRemove: ['yes', 1],
  Binds: ['x', [5]],
  RestartPolicy: ['always', { Name: 5 }, { Name: 'sometimes' }],
  NetworkMode: [5, []],
  Privileged: ['true'],
};
// Never a permissible shim name (those contain a '.' after a non-empty part and no '/').
const BAD_RUNTIMES = ['nope', '/usr/bin/evil', 'a/b.c', '../runc', 'io.containerd.runc.v2/../../x', '.v2', './runc', '/', 'x'.repeat(300), 'RUNC', 'run c'];
const BAD_NAMES = ['../x', 'a/b', 'x'.repeat(300), '..', '/', ' space', 'a b', '-dash', '.dot', 'a\u0000b', 'é', '%', 'a;b', '../../etc/passwd'];
const MALFORMED_JSON = ['{', '}', '[', '{"Image":', '{"Image": "busybox",}', "{'Image': 'busybox'}", 'nul', 'true', '"x"', '5', '[]', '{"Image": "busybox"} trailing', '\u0000\u0001', '{"Image": "busy\u0000box"', '{"a":1}}', '{"Image":"busybox","Cmd":["true"]', '\ufeff{'];

function caseFromSeed(rnd: () => number, victim: string): Case {
  const kind = Math.floor(rnd() * 10);
  const create = (body: unknown, what: string, query = ''): Case => ({
    what, method: 'POST', path: `/containers/create${query}`, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  switch (kind) {
    case 0: {
      const raw = pick(rnd, MALFORMED_JSON);
      const cut = rnd() < 0.5 ? raw : raw.slice(0, Math.max(1, Math.floor(rnd() * raw.length)));
      // A cut of valid JSON may happen to be valid ("5" → "5"); keep only invalid bodies for create.
      const body = cut === '{}' ? '{' : cut;
      return create(body, `malformed JSON ${JSON.stringify(body)}`);
    }
    case 1: {
      const field = pick(rnd, Object.keys(BAD_CREATE_FIELDS));
      const value = pick(rnd, BAD_CREATE_FIELDS[field]!);
      return create({ Image: 'busybox', Cmd: ['true'], [field]: value }, `create ${field}: ${JSON.stringify(value)}`);
    }
    case 2: {
      const field = pick(rnd, Object.keys(BAD_HOSTCONFIG_FIELDS));
      const value = pick(rnd, BAD_HOSTCONFIG_FIELDS[field]!);
      return create({ Image: 'busybox', Cmd: ['true'], HostConfig: { [field]: value } }, `create HostConfig.${field}: ${JSON.stringify(value)}`);
    }
    case 3: {
      const rt = pick(rnd, BAD_RUNTIMES);
      return create({ Image: 'busybox', Cmd: ['true'], HostConfig: { Runtime: rt } }, `create runtime ${JSON.stringify(rt)}`);
    }
    case 4: {
      const name = pick(rnd, BAD_NAMES);
      return create({ Image: 'busybox', Cmd: ['true'] }, `create name ${JSON.stringify(name)}`, `?name=${encodeURIComponent(name)}`);
    }
    case 5: {
      const id = rnd() < 0.7 ? randomId(rnd) : pick(rnd, ['..%2F..%2Fetc', '%2e%2e', 'nope', 'x'.repeat(300), '%00']);
      const [method, suffix] = pick(rnd, [
        ['GET', '/json'], ['POST', '/start'], ['POST', '/stop'], ['POST', '/kill'], ['POST', '/pause'], ['POST', '/unpause'],
        ['POST', '/wait'], ['DELETE', ''], ['GET', '/logs?stdout=1'], ['GET', '/top'], ['POST', '/restart'], ['POST', '/exec'],
      ] as const);
      const body = suffix === '/exec' ? JSON.stringify({ Cmd: ['true'] }) : undefined;
      return { what: `${method} unknown container ${id}${suffix}`, method, path: `/containers/${id}${suffix}`, ...(body === undefined ? {} : { body }), status: 404 };
    }
    case 6: {
      const id = randomId(rnd);
      const [method, path] = pick(rnd, [
        ['GET', `/exec/${id}/json`], ['POST', `/exec/${id}/start`], ['POST', `/exec/${id}/resize?h=1&w=1`], ['GET', `/images/${id}/json`], ['DELETE', `/images/${id}`],
      ] as const);
      const body = path.endsWith('/start') ? JSON.stringify({ Detach: true }) : undefined;
      return { what: `${method} unknown ${path}`, method, path, ...(body === undefined ? {} : { body }), status: 404 };
    }
    case 7: {
      const [method, path] = pick(rnd, [
        ['GET', '/containers/json?all=maybe'], ['GET', '/containers/json?limit=abc'], ['GET', '/containers/json?size=perhaps'],
        ['GET', '/containers/json?filters=%7Bbad'], ['GET', '/containers/json?filters=%5B%5D'], ['GET', '/containers/json?filters=%7B%22nokey%22%3A%5B%22x%22%5D%7D'],
        ['GET', '/containers/json?filters=%7B%22status%22%3A%5B%22bogus%22%5D%7D'], ['GET', '/containers/json?filters=%7B%22status%22%3A5%7D'],
        ['GET', '/images/json?filters=%7Bbad'], ['GET', '/events?filters=%7Bbad'], ['GET', '/events?since=yesterday'],
        ['POST', `/containers/${victim}/stop?t=abc`], ['POST', `/containers/${victim}/kill?signal=BOGUS`], ['POST', `/containers/${victim}/kill?signal=99999`],
        ['DELETE', `/containers/${victim}?force=maybe`], ['GET', `/containers/${victim}/logs`], ['POST', `/containers/${victim}/wait?condition=sometime`],
        ['POST', `/containers/${victim}/rename?name=..%2Fx`], ['POST', `/containers/${victim}/resize?h=abc&w=1`],
      ] as const);
      return { what: `${method} ${path}`, method, path };
    }
    case 8: {
      const [version, what] = pick(rnd, [['v0.1', 'too old'], ['v99.99', 'too new'], ['vabc', 'not a version'], ['v1.', 'truncated'], ['v1.2.3.4', 'too many parts'], ['v-1.40', 'negative']] as const);
      const path = pick(rnd, ['/containers/json', '/info', '/version', `/containers/${victim}/json`]);
      return { what: `API version ${version} (${what}) ${path}`, method: 'GET', path: `/${version}${path}` };
    }
    default: {
      // A string Cmd is valid for exec (the API reference: "a string or array of strings").
      const bodies: unknown[] = [{ Cmd: [] }, { Cmd: [5] }, { Cmd: ['true'], Env: 5 }, { Cmd: ['true'], User: 5 }, { Cmd: ['true'], AttachStdout: 'yes' }, { Cmd: ['true'], Tty: 'x' }];
      const body = rnd() < 0.3 ? pick(rnd, MALFORMED_JSON) : JSON.stringify(pick(rnd, bodies));
      return { what: `exec body ${body}`, method: 'POST', path: `/containers/${victim}/exec`, body };
    }
  }
}

function hugeCases(): Case[] {
  const big = (mib: number): string => JSON.stringify({ Image: 'busybox', Cmd: ['true'], Labels: { pad: 'x'.repeat(mib * 1024 * 1024) } });
  return [
    { what: '3 MiB create body', method: 'POST', path: '/containers/create', body: big(3), status: 413 },
    { what: '8 MiB create body, chunked', method: 'POST', path: '/containers/create', body: big(8), chunked: true, status: 413 },
    { what: '4 MiB of garbage, chunked', method: 'POST', path: '/containers/create', body: Buffer.alloc(4 * 1024 * 1024, 0x7b), chunked: true, status: 413 },
  ];
}

describe('API fuzz', { timeout: 300_000 }, () => {
  let d: BerthdHandle | undefined;
  let victim = '';
  const docker = (...a: string[]): Promise<CommandResult> => d!.docker(a, { timeoutMs: 30_000 });

  before(async () => {
    d = await startBerthd({ config: { runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] } } } });
    await importBusybox(d);
    victim = ok(await docker('run', '-d', '--name', 'victim', '--runtime', 'wrapped', 'busybox', 'sleep', '1000'), 'run -d').trim();
    ok(await docker('create', '--name', 'idle', 'busybox', 'true'), 'create');
  });

  after(async () => {
    await d?.cleanup();
  });

  const snapshot = async (): Promise<string> => {
    const r = await d!.api('GET', '/containers/json?all=1');
    assert.equal(r.status, 200);
    const list = JSON.parse(r.body) as { Id: string; Names: string[]; State: string }[];
    const pid = ok(await docker('inspect', '-f', '{{.State.Pid}}', 'victim'), 'inspect').trim();
    return JSON.stringify({ list: list.map((c) => [c.Id, c.Names, c.State]).sort(), victimPid: pid });
  };

  it('every malformed request gets a 4xx with a JSON message and changes nothing', async () => {
    const before = await snapshot();
    const rnd = prng(SEED);
    const cases = [...hugeCases()];
    for (let i = 0; i < RANDOM_CASES; i++) cases.push(caseFromSeed(rnd, victim));
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    for (const c of cases) {
      let r: Reply;
      try {
        r = await send(d!.socket, c);
      } catch (err) {
        failures.push(`${c.what}: request failed: ${(err as Error).message}`);
        continue;
      }
      byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      let message: unknown;
      try {
        message = (JSON.parse(r.body) as { message?: unknown }).message;
      } catch {
        message = undefined;
      }
      const problems: string[] = [];
      if (r.status < 400 || r.status >= 500) problems.push(`status ${r.status}`);
      if (c.status !== undefined && r.status !== c.status) problems.push(`status ${r.status}, expected ${c.status}`);
      if (typeof message !== 'string' || message === '') problems.push('no JSON message');
      if (!r.contentType.includes('application/json')) problems.push(`content-type ${r.contentType}`);
      if (/\n\s+at \S+ \(|node:internal|\/dist\/src\//.test(r.body)) problems.push('stack trace in the body');
      if (problems.length > 0) failures.push(`${c.what} [${c.method} ${c.path.slice(0, 120)}]: ${problems.join(', ')}: ${r.body.slice(0, 200)}`);
      if (d!.child.exitCode !== null || d!.child.signalCode !== null) {
        failures.push(`berthd died after: ${c.what}`);
        break;
      }
    }
    console.log(`API fuzz (seed ${SEED}): ${cases.length} inputs tried; responses by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}; ${failures.length} failures`);
    for (const f of failures) console.log(`  refused wrongly: ${f}`);
    assert.equal((await d!.api('GET', '/_ping')).status, 200, 'berthd is alive');
    assert.equal(await snapshot(), before, 'the container list and the victim are unchanged');
    assert.deepEqual(failures, []);
  });

  it('daemon.json fuzz on reload: every bad file is refused and nothing changes', async () => {
    const infoRuntimes = async (): Promise<string> => ok(await docker('info', '--format', '{{json .Runtimes}} {{.DefaultRuntime}}'), 'info');
    const good = { runtimes: { wrapped: { path: '/usr/sbin/runc', runtimeArgs: ['--log-format', 'json'] }, shim: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/usr/sbin/runc' } } }, 'default-runtime': 'runc', debug: false };
    d!.writeConfig(good);
    const first = await runCommand(process.execPath, [berthdBin, 'reload', '-H', `unix://${d!.socket}`], process.env, { timeoutMs: 30_000 });
    assert.equal(first.code, 0, first.stderr);
    const runtimesBefore = await infoRuntimes();
    const before = await snapshot();

    const rnd = prng(SEED + 1);
    const text = JSON.stringify(good);
    const files: string[] = [];
    for (let i = 0; i < 8; i++) files.push(text.slice(0, 1 + Math.floor(rnd() * (text.length - 2))));
    const objects: unknown[] = [
      { runtimes: 5 }, { runtimes: [] }, { runtimes: { x: 5 } }, { runtimes: { x: { path: 5 } } },
      { runtimes: { x: { path: '/usr/sbin/runc', runtimeArgs: 'a' } } }, { runtimes: { x: { path: '/usr/sbin/runc', runtimeArgs: [1] } } },
      { 'default-runtime': 5 }, { 'default-runtime': 'nope' }, { debug: 'yes' }, { 'shutdown-timeout': 'x' }, { labels: 'x' },
      { 'no-such-key': 1 }, { runtimes: {}, typo: true }, { runtimes: { runc: { path: '/x' } } }, { runtimes: { x: {} } },
      { runtimes: { x: { path: '/a', runtimeType: 'io.b.v1' } } }, { runtimes: { x: { path: '/usr/sbin/runc', options: { BinaryName: 'x' } } } },
      { runtimes: { x: { runtimeType: 'io.b.v1', runtimeArgs: ['a'] } } }, { runtimes: { x: { runtimeType: 'io.containerd.runc.v2', options: { NoSuchOption: true } } } },
      { runtimes: { x: { runtimeType: 'io.containerd.runc.v2', options: { SystemdCgroup: 'yes' } } } }, { runtimes: { x: { runtimeType: 'io.containerd.runc.v2', options: { IoUid: -1 } } } },
      { runtimes: { x: { path: '/usr/sbin/runc', extra: 1 } } }, [], 5, 'null',
    ];
    for (const o of objects) files.push(typeof o === 'string' ? o : JSON.stringify(o));
    const failures: string[] = [];
    for (const f of files) {
      d!.writeConfig(f);
      const r = await runCommand(process.execPath, [berthdBin, 'reload', '-H', `unix://${d!.socket}`], process.env, { timeoutMs: 30_000 });
      if (r.code !== 1) failures.push(`${f}: reload exit ${r.code}: ${r.stdout}${r.stderr}`);
      else if (!r.stderr.includes(d!.configFile)) failures.push(`${f}: the error does not name ${d!.configFile}: ${r.stderr}`);
    }
    console.log(`daemon.json fuzz: ${files.length} bad files tried, ${failures.length} failures`);
    assert.equal(d!.child.exitCode, null, 'berthd is alive');
    assert.equal(await infoRuntimes(), runtimesBefore, 'docker info runtimes unchanged');
    assert.equal(await snapshot(), before, 'containers unchanged');
    assert.equal(ok(await docker('inspect', '-f', '{{.State.Running}}', 'victim'), 'inspect'), 'true\n');
    assert.equal(ok(await docker('exec', 'victim', 'echo', 'still'), 'exec'), 'still\n');
    assert.deepEqual(failures, []);
  });
});
