// Content writes over containerd's bidirectional Write stream:
// STAT (resume point, or "already exists"), WRITE in chunks, COMMIT with the
// expected digest and size. Messages go in lock-step: one answer per request.
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors/index.js';
import { statusCode } from './errors.js';
import type { Rpc } from './connection.js';
import { messageCodec, type MessageCodec } from './proto.js';
import type { IngestLabels, IngestSource } from './types.js';

const SVC = 'containerd.services.content.v1.Content';
/** Bytes of content per WRITE message. */
export const MESSAGE_BYTES = 512 * 1024;
const CHUNK = MESSAGE_BYTES;
/**
 * WRITE messages of a resumable ingest sent ahead of their answers: 2 MiB
 * in flight. With 1 MiB messages a 30 MB pull took 600 ms here, with 64 KiB
 * ones 850 ms.
 */
const WRITE_WINDOW = 4;
/**
 * Every message leaves dead buffers behind (the socket's reads, the
 * message's encoding, grpc's frame), outside V8's heap,
 * and an ingest allocates so little on the heap itself that young
 * collections, which would free them, hardly run: during a 200 MB layer
 * berthd's RSS rose 40-50 MiB above idle before V8's external-memory limit
 * forced a collection. A young collection after every COLLECT_EVERY bytes
 * ingested, counted over all ingests so that parallel layers do not each
 * collect, keeps that bounded. One after every MiB of each ingest cost a
 * quarter more CPU per pull; asking process.memoryUsage() before each
 * message how much is outside the heap stood out in a CPU profile of a pull.
 * Only with --expose-gc, which bin/berthd sets.
 */
const COLLECT_EVERY = 2 * 1024 * 1024;
const gcHook = (globalThis as { gc?: (opts: { type: 'minor' }) => void }).gc;
let uncollected = 0;
export function collectAfter(bytes: number): void {
  if (!gcHook) return;
  uncollected += bytes;
  if (uncollected < COLLECT_EVERY) return;
  uncollected = 0;
  gcHook({ type: 'minor' });
}
// Another writer holding the same ref (a concurrent import of the same blob) gets a "locked" answer.
const LOCKED_RETRY_MS = 30_000;

type WriteAction = 'STAT' | 'WRITE' | 'COMMIT';

export interface WriteRequest {
  action: WriteAction;
  ref: string;
  total?: number;
  expected?: string;
  offset?: number;
  /** pieces are written one after the other as the message's data */
  data?: Buffer | Buffer[];
  labels?: Record<string, string>;
}

/** Field 6 (data) of WriteContentRequest, length-delimited. */
const DATA_TAG = (6 << 3) | 2;

/**
 * The generic encoder would need the data in one buffer and then copy it
 * into its own: this one encodes the other fields and writes the data's
 * pieces straight after them, one copy for all (fields may come in any
 * order on the wire).
 */
let writeCodec: MessageCodec | undefined;
export function serializeWrite(req: WriteRequest): Buffer {
  writeCodec ??= messageCodec('containerd.services.content.v1.WriteContentRequest')!;
  const codec = writeCodec;
  const { data, ...rest } = req;
  const head = codec.serialize(rest);
  if (data === undefined) return head;
  const parts = Array.isArray(data) ? data : [data];
  let size = 0;
  for (const p of parts) size += p.length;
  const prefix: number[] = [DATA_TAG];
  for (let n = size; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      prefix.push(n);
      break;
    }
    prefix.push((n % 128) | 128);
  }
  const out = Buffer.allocUnsafe(head.length + prefix.length + size);
  head.copy(out, 0);
  let at = head.length;
  for (const b of prefix) out[at++] = b;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

const openWrite = (rpc: Rpc): ClientDuplexStream<WriteRequest, WriteResponse> => rpc.bidi<WriteRequest, WriteResponse>(SVC, 'Write', 'none', serializeWrite);

interface WriteResponse {
  action: WriteAction;
  offset: number;
  total: number;
  digest: string;
}

/** Source chunks regrouped into messages of at most CHUNK bytes, as the pieces that make each up. */
async function* chunkedParts(src: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<{ parts: Buffer[]; length: number }> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of src) {
    let b: Buffer = Buffer.isBuffer(piece) ? piece : typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (b.length > 0) {
      const take = Math.min(CHUNK - held, b.length);
      parts.push(b.subarray(0, take));
      held += take;
      b = b.subarray(take);
      if (held === CHUNK) {
        yield { parts, length: held };
        parts = [];
        held = 0;
      }
    }
  }
  if (held > 0) yield { parts, length: held };
}

/** Source chunks regrouped into messages of at most CHUNK bytes. */
export async function* chunked(src: Readable): AsyncGenerator<Buffer> {
  for await (const { parts, length } of chunkedParts(src as AsyncIterable<Buffer>)) yield Buffer.concat(parts, length);
}

class WriteSession {
  private readonly answers: AsyncIterator<WriteResponse>;

  constructor(private readonly call: ClientDuplexStream<WriteRequest, WriteResponse>) {
    this.answers = call[Symbol.asyncIterator]() as AsyncIterator<WriteResponse>;
  }

  async exchange(req: WriteRequest): Promise<WriteResponse> {
    this.call.write(req);
    const next = await this.answers.next();
    if (next.done === true) throw new Error(`containerd ended the write of ${req.ref} before answering ${req.action}`);
    return next.value;
  }

  /** Sends without waiting; collect the answer later with `answer`. */
  send(req: WriteRequest): void {
    this.call.write(req);
  }

  async answer(what: string): Promise<WriteResponse> {
    const next = await this.answers.next();
    if (next.done === true) throw new Error(`containerd ended the write of ${what} before answering`);
    return next.value;
  }

  finish(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

async function writeOnce(
  rpc: Rpc,
  ref: string,
  data: Buffer | Readable,
  expected: { digest: string; size: number },
  labels: Record<string, string> | undefined,
): Promise<void> {
  const total = expected.size > 0 ? expected.size : 0;
  const session = new WriteSession(openWrite(rpc));
  let ownsRef = false;
  try {
    // Naming the digest up front lets containerd answer "already exists" (and lease the blob) at once.
    const stat = await session.exchange({ action: 'STAT', ref, total, expected: expected.digest });
    ownsRef = true;
    let offset: number;
    if (Buffer.isBuffer(data)) {
      // Resume an interrupted write of the same bytes; offset 0 makes containerd truncate.
      offset = stat.offset > 0 && stat.offset <= data.length ? stat.offset : 0;
      if (offset === data.length && offset > 0) offset = 0;
      while (offset < data.length) {
        const piece = data.subarray(offset, Math.min(offset + CHUNK, data.length));
        await session.exchange({ action: 'WRITE', ref, offset, data: piece });
        offset += piece.length;
      }
    } else {
      offset = 0;
      for await (const { parts, length } of chunkedParts(data as AsyncIterable<Buffer>)) {
        await session.exchange({ action: 'WRITE', ref, offset, data: parts });
        offset += length;
      }
    }
    const commit: WriteRequest = { action: 'COMMIT', ref, total, expected: expected.digest, offset };
    if (labels !== undefined) commit.labels = labels;
    await session.exchange(commit);
    session.finish();
  } catch (err) {
    session.cancel();
    if (statusCode(err) === status.ALREADY_EXISTS) {
      if (labels !== undefined && Object.keys(labels).length > 0) {
        // The blob was there already: still give it the caller's labels (GC references).
        const paths = Object.keys(labels).map((k) => `labels.${k}`);
        await rpc.unary(SVC, 'Update', { info: { digest: expected.digest, labels }, updateMask: { paths } });
      }
      return;
    }
    if (ownsRef) {
      // Leave no half-written ingest behind; the next write starts clean.
      await rpc.unary(SVC, 'Abort', { ref }).catch(() => undefined);
    }
    throw rpc.error(err);
  }
}

function isLocked(err: unknown): boolean {
  return statusCode(err) === status.UNAVAILABLE && err instanceof Error && /locked/.test(err.message);
}

/** Runs `attempt` again, with doubling pauses, while another writer holds the ingest's lock (up to LOCKED_RETRY_MS). */
async function whileLocked<T>(attempt: () => Promise<T>, firstPauseMs: number, maxPauseMs: number): Promise<T> {
  const giveUpAt = Date.now() + LOCKED_RETRY_MS;
  let pause = firstPauseMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!isLocked(err) || Date.now() > giveUpAt) throw err;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, maxPauseMs);
    }
  }
}

export async function writeContent(
  rpc: Rpc,
  ref: string,
  data: Buffer | Readable,
  expected: { digest: string; size: number },
  labels?: Record<string, string>,
): Promise<void> {
  await whileLocked(() => writeOnce(rpc, ref, data, expected, labels), 50, 1000);
}

export type IngestOpener = (offset: number) => Promise<IngestSource>;

/** One blob into the content store: its ingest ref, what it must be, its labels at commit, where its bytes come from. */
export interface IngestJob {
  ref: string;
  expected: { digest: string; size: number };
  labels: IngestLabels;
  open: IngestOpener;
  /** told the offset stored so far */
  progress?: ((offset: number) => void) | undefined;
  /** awaited before containerd is first asked (the lease being made) */
  ready?: Promise<unknown> | undefined;
}

/**
 * A resumable write: the ingest `ref` keeps what an earlier, interrupted
 * attempt wrote (even across a daemon crash), `open` is asked for the rest
 * from that offset, and the digest is checked at commit. A source that
 * fails leaves the ingest in place for the next attempt; a digest mismatch
 * aborts it. Resolves `exists` when the blob was already stored.
 */
export async function ingestContent(rpc: Rpc, job: IngestJob): Promise<'exists' | 'written'> {
  return whileLocked(() => ingestOnce(rpc, job), 16, 2000);
}

async function ingestOnce(rpc: Rpc, job: IngestJob): Promise<'exists' | 'written'> {
  const { ref, expected, labels: pendingLabels, open, progress } = job;
  await job.ready;
  const session = new WriteSession(openWrite(rpc));
  let stage: 'stat' | 'source' | 'commit' = 'stat';
  try {
    let stat: WriteResponse;
    try {
      stat = await session.exchange({ action: 'STAT', ref, total: expected.size, expected: expected.digest });
    } catch (err) {
      // A crash can leave an ingest whose status cannot be read (containerd#3089): start it over.
      if (statusCode(err) === status.ALREADY_EXISTS || isLocked(err)) throw err;
      await rpc.unary(SVC, 'Abort', { ref }).catch(() => undefined);
      throw err;
    }
    let offset = stat.offset > 0 && stat.offset <= expected.size ? Number(stat.offset) : 0;
    if (offset < expected.size || expected.size === 0) {
      stage = 'source';
      const src = await open(offset);
      // offset 0 makes containerd truncate what an earlier attempt wrote.
      offset = src.offset;
      progress?.(offset);
      // A few chunks in flight: the download does not wait for each disk write.
      const inFlight: number[] = [];
      for await (const { parts, length } of chunkedParts(src.stream)) {
        session.send({ action: 'WRITE', ref, offset, data: parts });
        offset += length;
        inFlight.push(offset);
        collectAfter(length);
        if (inFlight.length >= WRITE_WINDOW) {
          await session.answer(ref);
          const stored = inFlight.shift()!;
          progress?.(stored);
        }
      }
      while (inFlight.length > 0) {
        await session.answer(ref);
        const stored = inFlight.shift()!;
        progress?.(stored);
      }
    }
    stage = 'commit';
    const labels = await pendingLabels;
    const commit: WriteRequest = { action: 'COMMIT', ref, total: expected.size, expected: expected.digest, offset };
    if (labels !== undefined) commit.labels = labels;
    await session.exchange(commit);
    session.finish();
    return 'written';
  } catch (err) {
    session.cancel();
    if (statusCode(err) === status.ALREADY_EXISTS) {
      const labels = await pendingLabels;
      if (labels !== undefined && Object.keys(labels).length > 0) {
        const paths = Object.keys(labels).map((k) => `labels.${k}`);
        await rpc.unary(SVC, 'Update', { info: { digest: expected.digest, labels }, updateMask: { paths } });
      }
      return 'exists';
    }
    // Bytes that do not hash to the digest are worth nothing: the next attempt starts clean.
    if (stage === 'commit') await rpc.unary(SVC, 'Abort', { ref }).catch(() => undefined);
    throw err instanceof BerthError || statusCode(err) === undefined ? err : rpc.error(err);
  }
}
