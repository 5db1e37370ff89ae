// Resumable ingests written straight into containerd's local content store.
// Pushing a download's bytes through the content Write stream costs berthd
// (grpc-js, interpreted) and containerd (decode, hash, write) more than the
// download itself: a 30 MB pull spent most of its time there. containerd 1.6
// shares blobs between namespaces: a Write opened with the expected digest
// of a file already in <root>/blobs/sha256/ has nothing to receive, and its
// commit only records the blob in the namespace, under the caller's lease.
// So the download goes to a partial file next to the store (<root>/berth-ingest/),
// hashed as it comes, fsynced as containerd's own commit does, made
// read-only and linked into blobs/; then a Write of that descriptor commits
// it. Between the link and the Write a garbage collection may take the
// unreferenced file (once the Write is open, its expected digest protects
// it, both under containerd's collection lock); the Write then asks for the
// bytes and gets them from the partial file, the normal way. A containerd
// whose root berthd cannot write or does not share (another host or mount
// namespace) gets every ingest the normal way.
import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, isKind } from '../errors/index.js';
import { collectAfter, ingestContent, type IngestJob, type IngestOpener } from './content-write.js';
import type { Connection, Rpc } from './connection.js';
import type { IngestLabels, IngestSource } from './types.js';

const INTROSPECTION = 'containerd.services.introspection.v1.Introspection';
export const CONTENT_PLUGIN = { type: 'io.containerd.content.v1', id: 'content' } as const;
/** Partial downloads, beside blobs/ and ingest/ on the same file system (for link). */
export const PARTIAL_DIR = 'berth-ingest';
/** Partial files nobody resumed for this long are removed (pull leases last 8 hours). */
export const STALE_MS = 24 * 3600 * 1000;
/** Bytes gathered per file write. */
const WRITE_BYTES = 1024 * 1024;

export interface PluginInfo {
  type: string;
  id: string;
  exports?: Record<string, string>;
}

/** The local content store's root folder among containerd's plugins (an absolute path), if it names one. */
export function contentRootOf(plugins: readonly PluginInfo[]): string | undefined {
  const p = plugins.find((x) => x.type === CONTENT_PLUGIN.type && x.id === CONTENT_PLUGIN.id);
  const root = p?.exports?.root;
  return typeof root === 'string' && root.startsWith('/') ? root : undefined;
}

const SHA256 = /^sha256:([0-9a-f]{64})$/;

/** Where containerd's local store keeps a blob; undefined for digests it would not name this way. */
export function blobPath(root: string, digest: string): string | undefined {
  const m = SHA256.exec(digest);
  return m ? join(root, 'blobs', 'sha256', m[1]!) : undefined;
}

/** One partial file per namespace and blob: a resumed download finds what the last attempt wrote. */
export function partialPath(root: string, namespace: string, digest: string): string | undefined {
  const m = SHA256.exec(digest);
  if (!m || !/^[A-Za-z0-9._-]+$/.test(namespace)) return undefined;
  return join(root, PARTIAL_DIR, `${namespace}-${m[1]!}`);
}

/** Whether a partial file is old enough to remove. */
export function isStale(mtimeMs: number, now: number): boolean {
  return now - mtimeMs > STALE_MS;
}

/**
 * Where a download resumes, given what the partial file holds: a file
 * longer than the blob is not a prefix of it.
 */
export function resumeAt(have: number, size: number): number {
  return have <= size ? have : 0;
}

const direct = new WeakMap<Connection, Promise<string | undefined>>();

/**
 * The content root berthd may write into, found once per connection;
 * undefined: ingest the normal way. A failure to find out (containerd
 * restarting, a folder berthd may not write) is asked again next time.
 */
function storeRoot(rpc: Rpc): Promise<string | undefined> {
  let found = direct.get(rpc.conn);
  if (found === undefined) {
    const asked = findRoot(rpc).catch(() => {
      if (direct.get(rpc.conn) === asked) direct.delete(rpc.conn);
      return undefined;
    });
    found = asked;
    direct.set(rpc.conn, found);
  }
  return found;
}

async function findRoot(rpc: Rpc): Promise<string | undefined> {
  const res = await rpc.unary<{ plugins: PluginInfo[] }>(INTROSPECTION, 'Plugins', { filters: [] });
  const root = contentRootOf(res.plugins);
  if (root === undefined) return undefined;
  if (!(await stat(root)).isDirectory()) return undefined;
  // The store makes blobs/sha256 at its first commit, with these modes.
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
  const dir = join(root, PARTIAL_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await removeStale(dir);
  return root;
}

/** When partial files were last looked through: at the first ingest, then at most once per SWEEP_MS. */
let sweptAt = 0;
const SWEEP_MS = 3600 * 1000;

async function removeStale(dir: string): Promise<void> {
  const now = Date.now();
  sweptAt = now;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile() && isStale(st.mtimeMs, now)) await unlink(path).catch(() => undefined);
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Ingests of one partial file, one after the other (one process, one writer). */
const busy = new Map<string, Promise<unknown>>();

/**
 * The content store's ingest (see ingestContent): through the store's
 * folder when containerd shares it, else over the Write stream.
 */
export async function ingestDirect(rpc: Rpc, job: IngestJob): Promise<'exists' | 'written'> {
  const { expected } = job;
  const root = expected.size > 0 ? await storeRoot(rpc) : undefined;
  const blob = root === undefined ? undefined : blobPath(root, expected.digest);
  const partial = root === undefined ? undefined : partialPath(root, rpc.scope.namespace, expected.digest);
  if (blob === undefined || partial === undefined) return ingestContent(rpc, job);
  if (Date.now() - sweptAt > SWEEP_MS) void removeStale(join(root!, PARTIAL_DIR)).catch(() => undefined);
  const before = busy.get(partial);
  const run = (before ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => ingestThroughFile(rpc, { ...job, ref: `direct-${job.ref}` }, blob, partial));
  busy.set(partial, run);
  try {
    return await run;
  } finally {
    if (busy.get(partial) === run) busy.delete(partial);
  }
}

export async function ingestThroughFile(rpc: Rpc, job: IngestJob, blob: string, partial: string): Promise<'exists' | 'written'> {
  const { expected, open: source, progress } = job;
  // A blob the store holds already (another namespace's, or linked before an interruption) needs no download.
  let downloaded = false;
  if ((await sizeOf(blob)) !== expected.size) {
    await download(partial, expected, source, progress);
    downloaded = true;
    try {
      await link(partial, blob);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // Asked only when containerd does not see the blob: collected meanwhile, or not containerd's folder after all.
  const fallback: IngestOpener = async (offset) => {
    if (!downloaded) return source(offset);
    const [ours, there] = await Promise.all([stat(partial), stat(blob).catch(() => undefined)]);
    if (there !== undefined && there.ino === ours.ino && there.dev === ours.dev) {
      // The file is there and containerd still says it is not: it looks elsewhere.
      direct.set(rpc.conn, Promise.resolve(undefined));
      await unlink(blob).catch(() => undefined);
    }
    return readFrom(partial, offset);
  };
  const result = await ingestContent(rpc, { ...job, open: fallback });
  // Committed: a partial file left complete by an interrupted attempt is not needed either.
  await unlink(partial).catch(() => undefined);
  return result;
}

async function readFrom(path: string, offset: number): Promise<{ offset: number; stream: AsyncIterable<Buffer> }> {
  const fh = await open(path, 'r');
  return { offset, stream: fh.createReadStream({ start: offset, highWaterMark: WRITE_BYTES, autoClose: true }) };
}

const asBuffer = (b: Buffer | Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function hashPrefix(fh: FileHandle, length: number, hash: Hash): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(length, WRITE_BYTES));
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new Error(`${fh.fd}: short read`);
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/**
 * The blob into its partial file, resuming after what an earlier attempt
 * left there, verified; complete, synced and read-only on return. A source
 * that fails leaves the file for the next attempt; bytes that do not hash
 * to the digest are removed, as containerd aborts such an ingest.
 */
export async function download(path: string, expected: { digest: string; size: number }, source: IngestOpener, progress?: (offset: number) => void): Promise<void> {
  const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    let pos = resumeAt((await fh.stat()).size, expected.size);
    let hash = createHash('sha256');
    if (pos > 0) await hashPrefix(fh, pos, hash);
    if (pos < expected.size) {
      const src = await source(pos);
      if (src.offset !== pos) {
        // The source starts over (a registry without ranges).
        pos = 0;
        hash = createHash('sha256');
      }
      await fh.truncate(pos);
      progress?.(pos);
      if (src.fill) {
        try {
          pos = await writeFilled(fh, path, src.fill, pos, expected, hash, progress);
        } finally {
          // A source left half-read (too long, a failed write) lets go of its connection.
          (src.stream as { destroy?: () => void }).destroy?.();
        }
      } else pos = await writeStreamed(fh, path, src.stream, pos, expected, hash, progress);
    }
    if (pos !== expected.size) {
      await unlink(path).catch(() => undefined);
      throw conflict(`blob ${expected.digest}: got ${pos} bytes, not the expected size ${expected.size}`);
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== expected.digest) {
      await unlink(path).catch(() => undefined);
      throw conflict(`unexpected commit digest ${actual}, expected ${expected.digest}`);
    }
    // As containerd's own commit: on disk before the store names it, and read-only.
    await fh.sync();
    await fh.chmod(0o444);
  } finally {
    await fh.close();
  }
}

const tooLong = (expected: { digest: string; size: number }): Error => conflict(`blob ${expected.digest}: more than the expected size ${expected.size}`);

/**
 * The source's chunks into the file from `at`, gathered into writes of
 * WRITE_BYTES; returns where the file ends. What arrived before the source
 * failed is written for the next attempt.
 */
async function writeStreamed(
  fh: FileHandle,
  path: string,
  stream: AsyncIterable<Buffer | Uint8Array>,
  at: number,
  expected: { digest: string; size: number },
  hash: Hash,
  progress?: (offset: number) => void,
): Promise<number> {
  let pos = at;
  let parts: Buffer[] = [];
  let held = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const flush = async (): Promise<void> => {
    const [batch, from, n] = [parts, pos, held];
    parts = [];
    held = 0;
    await pending;
    pending = fh.writev(batch, from).then(() => progress?.(from + n));
    // Awaited below; marked handled so that a failing source does not leave it unhandled.
    pending.catch(() => undefined);
    pos += n;
  };
  try {
    for await (const piece of stream) {
      const b = asBuffer(piece);
      if (pos + held + b.length > expected.size) {
        await pending.catch(() => undefined);
        await unlink(path).catch(() => undefined);
        throw tooLong(expected);
      }
      hash.update(b);
      parts.push(b);
      held += b.length;
      collectAfter(b.length);
      if (held >= WRITE_BYTES) await flush();
    }
  } catch (err) {
    if (held > 0 && !isKind(err, 'conflict')) await flush().catch(() => undefined);
    await pending.catch(() => undefined);
    throw err;
  }
  if (held > 0) await flush();
  await pending;
  return pos;
}

/**
 * The source read straight into two buffers in turn: one fills while the
 * other is written, so nothing is allocated or copied per read.
 */
async function writeFilled(
  fh: FileHandle,
  path: string,
  fill: NonNullable<IngestSource['fill']>,
  at: number,
  expected: { digest: string; size: number },
  hash: Hash,
  progress?: (offset: number) => void,
): Promise<number> {
  const buffers = [Buffer.allocUnsafeSlow(WRITE_BYTES), Buffer.allocUnsafeSlow(WRITE_BYTES)];
  const onBytes = (view: Buffer): void => void hash.update(view);
  let pos = at;
  let writing: Promise<unknown> = Promise.resolve();
  try {
    for (let turn = 0; ; turn ^= 1) {
      // One byte of room past the blob's end shows a source that sends too much.
      const room = Math.min(WRITE_BYTES, expected.size - pos + 1);
      const n = await fill(buffers[turn]!.subarray(0, room), onBytes);
      if (n === 0) break;
      await writing;
      if (pos + n > expected.size) {
        await unlink(path).catch(() => undefined);
        throw tooLong(expected);
      }
      const from = pos;
      writing = fh.write(buffers[turn]!, 0, n, from).then(() => progress?.(from + n));
      writing.catch(() => undefined);
      pos += n;
    }
    await writing;
  } catch (err) {
    await writing.catch(() => undefined);
    throw err;
  }
  return pos;
}
