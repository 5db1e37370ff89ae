// What a build fetches over the network, with dockerd's rules: `ADD <url>`
// (a file named from the URL, mode 0600, mtime from Last-Modified, never
// unpacked) and the `remote=` context (a tarball, a bare Dockerfile, or a
// git repository cloned with git). Everything is written under the build's
// staging directory and handed on as files or a tar stream.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { lstat, mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { detectCompression, peek } from '../daemon/images/index.js';
import { invalidParameter, messageOf } from '../errors/index.js';
import { resolveInRoot } from './copy.js';

const execFileAsync = promisify(execFile);

/** moby's urlutil.IsURL: http and https only. */
export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** moby's urlutil.IsGitURL: a URL ending in .git (with a fragment), git://, github.com/ or git@. */
export function isGitUrl(s: string): boolean {
  if (isUrl(s) && /\.git(?:#.+)?$/.test(s)) return true;
  return ['git://', 'github.com/', 'git@'].some((p) => s.startsWith(p));
}

/** A git context `URL#ref:subdir` split as dockerd does. */
export function parseGitRemote(remote: string): { url: string; ref: string; subdir: string } {
  const hash = remote.indexOf('#');
  let url = hash < 0 ? remote : remote.slice(0, hash);
  const fragment = hash < 0 ? '' : remote.slice(hash + 1);
  if (url.startsWith('github.com/')) url = `https://${url}`;
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  if (ref.startsWith('-')) throw invalidParameter(`invalid refspec: ${ref}`);
  return { url, ref, subdir };
}

interface Fetched {
  body: Readable;
  header(name: string): string | null;
}

const MAX_REDIRECTS = 10;

/** GET through node:http(s) (berthd runs without WebAssembly, which fetch needs), following redirects. */
function request(url: string, signal: AbortSignal | undefined, redirects = 0): Promise<{ res: IncomingMessage; url: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const get = u.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(u, { ...(signal ? { signal } : {}), headers: { 'User-Agent': 'berth' } }, (res) => {
      const location = res.headers.location;
      if (res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400 && location !== undefined) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new Error(`stopped after ${MAX_REDIRECTS} redirects`));
        return resolve(request(new URL(location, u).toString(), signal, redirects + 1));
      }
      resolve({ res, url });
    });
    req.on('error', reject);
  });
}

async function get(url: string, signal?: AbortSignal): Promise<Fetched> {
  let res: IncomingMessage;
  try {
    ({ res } = await request(url, signal));
  } catch (err) {
    throw invalidParameter(`error downloading remote context ${url}: ${messageOf(err)}`, err);
  }
  const status = res.statusCode ?? 0;
  if (status >= 400) {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8').trim();
    throw invalidParameter(`failed to GET ${url} with status ${status} ${res.statusMessage ?? ''}: ${body}`);
  }
  return {
    body: res,
    header: (name) => {
      const v = res.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/** The name ADD gives a downloaded file: the URL path's last part, else Content-Disposition's filename. */
export function downloadName(url: string, contentDisposition: string | null): string {
  const path = new URL(url).pathname;
  if (path !== '' && !path.endsWith('/')) {
    const name = posix.basename(decodeURIComponent(path));
    if (name !== '' && name !== '.' && name !== '..') return name;
  }
  const m = contentDisposition === null ? null : /filename\*?=(?:"([^"]*)"|([^;]*))/i.exec(contentDisposition);
  const given = (m?.[1] ?? m?.[2] ?? '').trim();
  if (given !== '' && !given.endsWith('/')) {
    const name = posix.basename(given);
    if (name !== '' && name !== '.' && name !== '..') return name;
  }
  throw invalidParameter(`cannot determine filename from url: ${url}`);
}

export interface Downloaded {
  /** directory holding the file (remove it when done) */
  dir: string;
  path: string;
  name: string;
}

/** `ADD <url>`: the file, mode 0600, with the server's Last-Modified time. */
export async function downloadSource(url: string, tmpRoot: string, signal?: AbortSignal): Promise<Downloaded> {
  const res = await get(url, signal);
  const name = downloadName(url, res.header('content-disposition'));
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'build-add-'));
  try {
    const path = join(dir, name);
    await pipeline(res.body, createWriteStream(path, { mode: 0o600 }));
    const modified = Date.parse(res.header('last-modified') ?? '');
    if (!Number.isNaN(modified)) await utimes(path, new Date(modified), new Date(modified));
    return { dir, path, name };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A tar with the one file, for a context that is only a Dockerfile. */
function singleFileTar(name: string, data: Buffer): Readable {
  const p = pack();
  p.entry({ name, mode: 0o644, size: data.length, mtime: new Date() }, data);
  p.finalize();
  return Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
}

const looksLikeText = (b: Buffer): boolean => !b.includes(0);

/**
 * An http(s) context: a tar (plain or compressed) streams on; anything else
 * that is text is a Dockerfile alone, under the requested Dockerfile name.
 */
async function urlContext(url: string, dockerfile: string, signal?: AbortSignal): Promise<Readable> {
  const res = await get(url, signal);
  const { head, stream } = await peek(res.body, 512);
  if (head.length === 0) throw invalidParameter(`error downloading remote context ${url}: empty response`);
  const isTar = detectCompression(head) !== 'none' || (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar');
  const type = (res.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (isTar || !(type === 'text/plain' || ((type === '' || type === 'application/octet-stream') && looksLikeText(head)))) return stream;
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  let text = Buffer.concat(chunks);
  if (text.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) text = text.subarray(3);
  return singleFileTar(dockerfile, text);
}

async function git(args: string[], cwd: string): Promise<void> {
  await execFileAsync('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: cwd }, maxBuffer: 16 * 1024 * 1024 });
}

/** Clones a git context (shallow when the server allows), checked out at the fragment's ref. */
async function cloneContext(remote: string, tmpRoot: string): Promise<{ root: string; dir: string }> {
  const { url, ref, subdir } = parseGitRemote(remote);
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'build-git-'));
  const repo = join(dir, 'repo');
  try {
    await mkdir(repo);
    await git(['init', '--quiet'], repo);
    await git(['remote', 'add', 'origin', url], repo);
    const spec = ref === '' ? [] : ['--', ref];
    // A dumb HTTP server cannot serve a shallow fetch: dockerd retries in full.
    await git(['fetch', '--quiet', '--depth', '1', 'origin', ...spec], repo).catch(() => git(['fetch', '--quiet', 'origin', ...spec], repo));
    await git(['checkout', '--quiet', 'FETCH_HEAD'], repo);
    await git(['submodule', 'update', '--quiet', '--init', '--recursive', '--depth', '1'], repo).catch(() => undefined);
    const root = subdir === '' ? repo : await resolveInRoot(repo, subdir);
    const st = await lstat(root).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) throw invalidParameter(`error setting git context, not a directory: ${subdir}`);
    return { root, dir };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if ((err as { stderr?: unknown }).stderr !== undefined) {
      throw invalidParameter(`error fetching git context ${url}: ${String((err as { stderr: unknown }).stderr).trim()}`, err);
    }
    throw err;
  }
}

/** The context of `remote=` as a tar stream; `cleanup` removes what was fetched. */
export async function remoteContext(remote: string, tmpRoot: string, dockerfile: string, signal?: AbortSignal): Promise<{ tar: Readable; cleanup(): Promise<void> }> {
  if (isGitUrl(remote)) {
    const { root, dir } = await cloneContext(remote, tmpRoot);
    const child = spawn('tar', ['-c', '-C', root, '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
    // Read at once: a child's unread output is dropped when it exits, and the
    // reader may come later (a small context is written before it is asked for).
    const tar = new PassThrough();
    child.stdout.pipe(tar);
    child.on('error', (err) => tar.destroy(err));
    child.on('exit', (code) => {
      if (code !== 0) tar.destroy(new Error(`tar could not read the git context (exit ${code})`));
    });
    return { tar, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  if (isUrl(remote)) return { tar: await urlContext(remote, dockerfile, signal), cleanup: async () => undefined };
  throw invalidParameter(`unable to prepare context: remote URL ${remote} is neither a git repository nor an http(s) URL`);
}
