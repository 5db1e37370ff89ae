// Unpacks the context of `docker plugin create` (a tar of DIR, gzip or not):
// config.json is kept in memory, rootfs/ is written under a directory of
// ours. Entries may not leave that directory, neither by ".." nor through a
// symbolic link unpacked earlier.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, lchown, lstat, lutimes, mkdir, rm, symlink, unlink } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, type Header } from 'tar-stream';
import { invalidParameter, isBerthError } from '../errors/index.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ExtractedContext {
  /** raw bytes of config.json */
  configJson: Buffer;
  /** sha256 of the (uncompressed) context tar, "sha256:<hex>" */
  diffId: string;
  /** entries skipped because berth does not create them (device nodes, FIFOs) */
  skipped: string[];
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** The entry's path relative to the context, or undefined for the context root itself. */
function cleanName(raw: string): string | undefined {
  const name = posix.normalize(raw.replace(/^\/+/, ''));
  if (name === '.' || name === '') return undefined;
  if (name === '..' || name.startsWith('../')) throw invalidParameter(`invalid plugin context: entry ${JSON.stringify(raw)} points outside the context`);
  return name.replace(/\/+$/, '');
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

/** Absolute path for `rel` under `root`, creating missing parents; refuses parents that are not plain directories. */
async function placeUnder(root: string, rel: string): Promise<string> {
  const parts = rel.split('/');
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    const st = await lstatOrUndefined(current);
    if (st === undefined) await mkdir(current, { mode: 0o755 });
    else if (st.isSymbolicLink()) {
      throw invalidParameter(`invalid plugin context: rootfs/${rel} lies under a symbolic link (${posix.relative(root, current)}): archives of a directory never do that`);
    } else if (!st.isDirectory()) {
      throw invalidParameter(`invalid plugin context: rootfs/${rel} lies under ${posix.relative(root, current)}, which is not a directory`);
    }
  }
  return join(current, parts[parts.length - 1] ?? '');
}

/** Removes whatever is at `path` unless it is a directory and `keepDir`. */
async function clear(path: string, keepDir: boolean): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st === undefined) return;
  if (st.isDirectory() && !st.isSymbolicLink()) {
    if (keepDir) return;
    await rm(path, { recursive: true, force: true });
    return;
  }
  await unlink(path);
}

async function applyMeta(path: string, header: Header, isLink: boolean): Promise<void> {
  if (isRoot) await lchown(path, header.uid, header.gid);
  if (!isLink) await chmod(path, header.mode & 0o7777);
  if (header.type !== 'directory') await lutimes(path, header.mtime, header.mtime);
}

async function readAll(stream: AsyncIterable<Buffer>, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk;
    size += buf.length;
    if (size > limit) throw invalidParameter(`invalid plugin context: ${what} is larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** An entry's data; tar-stream's entries are streamx readables of Buffers. */
function bytes(entry: AsyncIterable<unknown>): AsyncIterable<Buffer> {
  return entry as AsyncIterable<Buffer>;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // discard
  }
}

async function writeEntry(rootfs: string, rel: string, header: Header, body: AsyncIterable<Buffer>, skipped: string[]): Promise<void> {
  const target = await placeUnder(rootfs, rel);
  switch (header.type) {
    case 'directory': {
      await clear(target, true);
      if ((await lstatOrUndefined(target)) === undefined) await mkdir(target, { mode: 0o755 });
      await applyMeta(target, header, false);
      await drain(body);
      return;
    }
    case 'file':
    case 'contiguous-file': {
      await clear(target, false);
      await pipeline(body, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      await applyMeta(target, header, false);
      return;
    }
    case 'symlink': {
      await clear(target, false);
      await symlink(header.linkname, target);
      await applyMeta(target, header, true);
      await drain(body);
      return;
    }
    case 'link': {
      const source = cleanName(header.linkname);
      if (source === undefined || !source.startsWith('rootfs/')) {
        throw invalidParameter(`invalid plugin context: hard link rootfs/${rel} points outside rootfs/ (${header.linkname})`);
      }
      const sourcePath = await placeUnder(rootfs, source.slice('rootfs/'.length));
      const st = await lstatOrUndefined(sourcePath);
      if (st === undefined || st.isDirectory()) {
        throw invalidParameter(`invalid plugin context: hard link rootfs/${rel} points at ${source}, which is not a file unpacked before it`);
      }
      await clear(target, false);
      await link(sourcePath, target);
      await drain(body);
      return;
    }
    default:
      // Device nodes and FIFOs: /dev is a fresh tmpfs in the plugin anyway.
      skipped.push(`rootfs/${rel}`);
      await drain(body);
  }
}

/** A readable of the tar bytes, gunzipped when the body starts with the gzip magic. */
async function decompressed(input: Readable): Promise<Readable> {
  const out = new PassThrough();
  const iterator = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2) {
    const next = (await iterator.next()) as IteratorResult<Buffer>;
    if (next.done === true) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, next.value]);
  }
  if (head.length === 0) throw invalidParameter('invalid plugin context: the request body is empty (send a tar of the plugin directory)');
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield head;
    if (ended) return;
    while (true) {
      const next = (await iterator.next()) as IteratorResult<Buffer>;
      if (next.done === true) return;
      yield next.value;
    }
  };
  const source = Readable.from(rest());
  if (gzip) {
    pipeline(source, createGunzip(), out).catch((err: Error) => out.destroy(invalidParameter(`invalid plugin context: bad gzip data: ${err.message}`)));
  } else {
    pipeline(source, out).catch((err: Error) => out.destroy(err));
  }
  return out;
}

/**
 * Unpacks `input` into `rootfsDir` (created, must not exist yet). On error the
 * caller removes the directory.
 */
export async function extractPluginContext(input: Readable, rootfsDir: string): Promise<ExtractedContext> {
  await mkdir(rootfsDir, { mode: 0o755 });
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const extractor = tarExtract();
  let configJson: Buffer | undefined;
  let hasRootfs = false;
  const skipped: string[] = [];
  try {
    const tar = await decompressed(input);
    const feeding = pipeline(tar, tap, extractor);
    // Read after the loop; a failure of our own first must not leave it unhandled.
    feeding.catch(() => undefined);
    for await (const entry of extractor) {
      const header = entry.header;
      const name = cleanName(header.name);
      if (name === 'config.json' && (header.type === 'file' || header.type === 'contiguous-file')) {
        configJson = await readAll(bytes(entry), MAX_CONFIG_BYTES, 'config.json');
      } else if (name === 'rootfs') {
        hasRootfs = hasRootfs || header.type === 'directory';
        if (header.type === 'directory') await applyMeta(rootfsDir, header, false);
        await drain(entry);
      } else if (name !== undefined && name.startsWith('rootfs/')) {
        hasRootfs = true;
        await writeEntry(rootfsDir, name.slice('rootfs/'.length), header, bytes(entry), skipped);
      } else {
        await drain(entry);
      }
    }
    await feeding;
  } catch (err) {
    extractor.destroy();
    input.resume();
    if (isBerthError(err)) throw err;
    throw invalidParameter(`invalid plugin context: ${(err as Error).message}`, err);
  }
  if (configJson === undefined) {
    throw invalidParameter('invalid plugin context: config.json not found: the plugin directory must hold config.json and rootfs/');
  }
  if (!hasRootfs) {
    throw invalidParameter('invalid plugin context: rootfs/ not found: the plugin directory must hold config.json and rootfs/');
  }
  return { configJson, diffId: `sha256:${hash.digest('hex')}`, skipped };
}
