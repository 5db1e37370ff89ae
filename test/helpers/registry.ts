// A real CNCF distribution registry (Debian's docker-registry 2.8) on
// 127.0.0.1 for end-to-end tests: a config file the test writes, storage in
// a temporary directory, stopped by PID. Plus a small uploader that puts
// fixture images into it over the registry API without berth.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type ServerResponse } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { sha256, type FixtureImage } from '../fixtures/images.js';

export const REGISTRY_BIN = process.env.BERTH_TEST_REGISTRY ?? '/usr/bin/docker-registry';

export interface RegistryOptions {
  /** extra YAML lines under the top level (auth: …) */
  extra?: string;
  /** http: {tls: …} lines */
  tls?: { certificate: string; key: string; clientcas?: string[] };
  port?: number;
  env?: Record<string, string>;
  /** reuse a storage directory (restart after a kill) */
  dir?: string;
}

export interface RegistryHandle {
  host: string;
  port: number;
  dir: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  /** SIGKILL, keeping the storage */
  kill(): Promise<void>;
  /** stop and remove the storage */
  cleanup(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) {
    try {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryHandle> {
  const dir = opts.dir ?? mkdtempSync('/tmp/berth-reg-');
  const port = opts.port ?? (await freePort());
  const clientcas = opts.tls?.clientcas?.length ? `\n    clientcas:\n${opts.tls.clientcas.map((c) => `      - ${c}`).join('\n')}` : '';
  const tls = opts.tls ? `\n  tls:\n    certificate: ${opts.tls.certificate}\n    key: ${opts.tls.key}${clientcas}` : '';
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}${tls}`,
    opts.extra ?? '',
    '',
  ].join('\n');
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, config);
  const child = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env } });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const handle: RegistryHandle = {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    pid: child.pid ?? -1,
    child,
    output: () => out,
    kill: async () => {
      try {
        process.kill(handle.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await waitExit(child);
      live.delete(child);
    },
    cleanup: async () => {
      await handle.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited at start:\n${out}`);
    const up = await new Promise<boolean>((resolve) => {
      const r = request({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (res) => {
        res.resume();
        resolve(true);
      });
      r.on('error', () => resolve(false));
      r.end();
    });
    if (up) return handle;
    if (Date.now() > deadline) {
      await handle.cleanup();
      throw new Error(`docker-registry did not listen on ${port}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function http(method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method, headers: body ? { 'content-length': String(body.length), ...headers } : headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Uploads one blob (POST then monolithic PUT), skipping it when present. */
export async function uploadBlob(host: string, repo: string, data: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha256(data);
  const head = await http('HEAD', `http://${host}/v2/${repo}/blobs/${digest}`, undefined, headers);
  if (head.status === 200) return digest;
  const start = await http('POST', `http://${host}/v2/${repo}/blobs/uploads/`, Buffer.alloc(0), headers);
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${start.body.toString()}`);
  const loc = new URL(String(start.headers.location), `http://${host}`);
  loc.searchParams.set('digest', digest);
  const put = await http('PUT', loc.href, data, { 'content-type': 'application/octet-stream', ...headers });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${put.body.toString()}`);
  return digest;
}

export async function putManifest(host: string, repo: string, ref: string, mediaType: string, data: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const r = await http('PUT', `http://${host}/v2/${repo}/manifests/${ref}`, data, { 'content-type': mediaType, ...headers });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${r.body.toString()}`);
  return String(r.headers['docker-content-digest']);
}

/** Puts a fixture image (OCI manifest) into the registry under repo:tag; returns the manifest digest. */
export async function uploadImage(host: string, repo: string, tag: string, img: FixtureImage, headers: Record<string, string> = {}): Promise<string> {
  for (const l of img.layers) await uploadBlob(host, repo, l.blob, headers);
  await uploadBlob(host, repo, img.config, headers);
  return putManifest(host, repo, tag, 'application/vnd.oci.image.manifest.v1+json', img.manifest, headers);
}

/** An OCI index of fixture images for their platforms; returns the index digest. */
export async function uploadIndex(
  host: string,
  repo: string,
  tag: string,
  images: { img: FixtureImage; platform: { os: string; architecture: string; variant?: string } }[],
): Promise<{ digest: string; data: Buffer }> {
  for (const { img } of images) {
    for (const l of img.layers) await uploadBlob(host, repo, l.blob);
    await uploadBlob(host, repo, img.config);
    await putManifest(host, repo, img.manifestDigest, 'application/vnd.oci.image.manifest.v1+json', img.manifest);
  }
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: images.map(({ img, platform }) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: img.manifest.length, platform })),
    }),
  );
  const digest = await putManifest(host, repo, tag, 'application/vnd.oci.image.index.v1+json', data);
  return { digest, data };
}

/** A self-signed certificate (usable as its own CA) for 127.0.0.1 and localhost, made with openssl. */
export function selfSignedCert(dir: string, name: string, cn = '127.0.0.1'): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'pipe' });
  return { cert, key };
}

/** htpasswd file with bcrypt entries (the only kind registry 2.8 accepts). */
export function htpasswdFile(path: string, user: string, password: string): void {
  execFileSync('htpasswd', ['-Bbc', path, user, password], { stdio: 'pipe' });
}

export interface TokenServer {
  realm: string;
  /** token requests in order: GET (Basic or anonymous) or OAuth2 POST (`grant` is its grant_type) */
  requests: { method: string; grant?: string; scope: string[]; account: string | null; authorized: boolean }[];
  /** refresh tokens handed out */
  issued: string[];
  close(): Promise<void>;
}

const b64url = (b: Buffer): string => b.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/**
 * A token server for registry `auth: token`: RS256 JWTs with the signing
 * certificate in x5c, granting what is asked to the one user it knows. With
 * `refreshTokens` it is an OAuth2 server too, as Docker Hub's is: a GET with
 * `offline_token=true` (docker login) or a POST with grant_type=password and
 * access_type=offline also answers a refresh_token, and a POST with
 * grant_type=refresh_token trades one for an access token.
 */
export async function startTokenServer(opts: {
  certFile: string;
  keyFile: string;
  service: string;
  issuer: string;
  user: string;
  password: string;
  refreshTokens?: boolean;
}): Promise<TokenServer> {
  const pem = readFileSync(opts.certFile, 'utf8');
  const der = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const key = createPrivateKey(readFileSync(opts.keyFile));
  const requests: TokenServer['requests'] = [];
  const issued: string[] = [];
  const expected = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
  const refuse = (res: ServerResponse, status = 401): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }));
  };
  const answer = (res: ServerResponse, scopes: string[], authorized: boolean, offline: boolean): void => {
    const now = Math.floor(Date.now() / 1000);
    const access = authorized
      ? scopes.map((s) => {
          const [type, ...rest] = s.split(':');
          const actions = rest.pop() ?? '';
          return { type, name: rest.join(':'), actions: actions.split(',') };
        })
      : [];
    const header = b64url(Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] })));
    const claims = b64url(Buffer.from(JSON.stringify({ iss: opts.issuer, sub: authorized ? opts.user : '', aud: opts.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access })));
    const sig = b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    const token = `${header}.${claims}.${sig}`;
    const out: Record<string, unknown> = { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() };
    if (offline && authorized && opts.refreshTokens) {
      const refresh = randomBytes(24).toString('hex');
      issued.push(refresh);
      out.refresh_token = refresh;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  };
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') return refuse(res, 404);
    if (req.method === 'POST') {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(parts).toString());
        const grant = form.get('grant_type') ?? '';
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const authorized =
          opts.refreshTokens === true &&
          form.get('service') === opts.service &&
          ((grant === 'password' && form.get('username') === opts.user && form.get('password') === opts.password) ||
            (grant === 'refresh_token' && issued.includes(form.get('refresh_token') ?? '')));
        requests.push({ method: 'POST', grant, scope: scopes, account: form.get('username'), authorized });
        // Without refresh tokens this is a plain token server, which has no POST.
        if (!opts.refreshTokens) return refuse(res, 405);
        if (!authorized) return refuse(res);
        answer(res, scopes, true, grant === 'password' && form.get('access_type') === 'offline');
      });
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    const authorized = req.headers.authorization === expected;
    requests.push({ method: 'GET', scope: scopes, account: url.searchParams.get('account'), authorized });
    if ((req.headers.authorization !== undefined && !authorized) || (!authorized && scopes.length === 0)) return refuse(res);
    answer(res, scopes, authorized, url.searchParams.get('offline_token') === 'true');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requests,
    issued,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface ThrottleProxy {
  host: string;
  /** request lines and Range / Content-Range headers seen, in order */
  requests: { line: string; range?: string; contentRange?: string }[];
  /** bytes sent to clients so far */
  sent(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a registry that sends the answers at
 * `bytesPerSecond`, so that a test can act in the middle of a download. It
 * changes no byte; when the registry goes away its connections close.
 */
export async function startThrottleProxy(
  upstreamPort: number,
  bytesPerSecond: number,
  opts: {
    /** each cuts the connection of the first request whose line matches, before the registry sees any of it */
    cut?: RegExp[];
  } = {},
): Promise<ThrottleProxy> {
  const cuts = [...(opts.cut ?? [])];
  const requests: ThrottleProxy['requests'] = [];
  let sent = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const up = connect(upstreamPort, '127.0.0.1');
    sockets.add(up);
    let queue: Buffer[] = [];
    let upEnded = false;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (timer) clearInterval(timer);
      timer = undefined;
      queue = [];
    };
    client.on('error', () => up.destroy());
    client.on('close', () => {
      stop();
      up.destroy();
      sockets.delete(client);
    });
    // A registry that is gone: the client sees its connection cut.
    up.on('error', () => client.destroy());
    up.on('close', () => {
      sockets.delete(up);
      upEnded = true;
      if (queue.length === 0) client.end();
    });
    client.on('data', (d: Buffer) => {
      for (const m of d.toString('latin1').matchAll(/^(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1\r\n((?:[^\r\n]+\r\n)*)/gm)) {
        const range = /^range:\s*(\S+)/im.exec(m[3] ?? '')?.[1];
        const contentRange = /^content-range:\s*(\S+)/im.exec(m[3] ?? '')?.[1];
        const line = `${m[1]} ${m[2]}`;
        requests.push({ line, ...(range ? { range } : {}), ...(contentRange ? { contentRange } : {}) });
        const i = cuts.findIndex((re) => re.test(line));
        if (i >= 0) {
          cuts.splice(i, 1);
          client.destroy();
          up.destroy();
          return;
        }
      }
      if (!up.destroyed) up.write(d);
    });
    // Slices of at most 1/20 s of bandwidth, one every 50 ms.
    const slice = Math.max(1, Math.floor(bytesPerSecond / 20));
    const pump = (): void => {
      let budget = slice;
      while (budget > 0 && queue.length > 0) {
        const b = queue[0]!;
        const piece = b.subarray(0, budget);
        if (piece.length === b.length) queue.shift();
        else queue[0] = b.subarray(piece.length);
        budget -= piece.length;
        sent += piece.length;
        client.write(piece);
      }
      if (queue.length === 0) {
        stop();
        if (upEnded) client.end();
        else up.resume();
      }
    };
    up.on('data', (d: Buffer) => {
      queue.push(d);
      up.pause();
      if (!timer) timer = setInterval(pump, 50);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    sent: () => sent,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
