// Content service: the blob store (reads, listings, labels); writes live in content-write.ts.
import { Readable } from 'node:stream';
import { fromWireContentInfo, toWireContentInfo } from './convert.js';
import { ingestDirect } from './content-direct.js';
import { writeContent } from './content-write.js';
import type { Rpc } from './connection.js';
import type { ContainerdClient, ContentInfo } from './types.js';
import type { WireContentInfo } from './wire.js';

const CONTENT_SVC = 'containerd.services.content.v1.Content';

interface InfoAnswer {
  info: WireContentInfo | null;
}

async function updateContentInfo(rpc: Rpc, info: ContentInfo, fieldPaths: string[]): Promise<ContentInfo> {
  const res = await rpc.unary<InfoAnswer>(CONTENT_SVC, 'Update', {
    info: toWireContentInfo(info),
    updateMask: { paths: fieldPaths },
  });
  return fromWireContentInfo(res.info);
}

/** The blob (or `size` bytes of it from `offset`; size 0: to the end) as a byte stream; destroying the stream cancels the read. */
export function readContent(rpc: Rpc, digest: string, offset = 0, size = 0): Readable {
  const call = rpc.serverStream<{ offset: number; data: Buffer }>(CONTENT_SVC, 'Read', { digest, offset, size });
  const out = new Readable({
    read() {
      call.resume();
    },
    destroy(err, callback) {
      call.cancel();
      callback(err);
    },
  });
  call.on('data', (msg: { data: Buffer }) => {
    if (!out.push(msg.data)) call.pause();
  });
  call.on('end', () => out.push(null));
  call.on('error', (err: Error) => out.destroy(rpc.error(err)));
  return out;
}

export function contentApi(rpc: Rpc): ContainerdClient['content'] {
  return {
    async info(digest) {
      const res = await rpc.unary<InfoAnswer>(CONTENT_SVC, 'Info', { digest });
      return fromWireContentInfo(res.info);
    },

    async list(filters = []) {
      const msgs = await rpc.collect<{ info: WireContentInfo[] }>(CONTENT_SVC, 'List', { filters });
      return msgs.flatMap((m) => m.info.map((i) => fromWireContentInfo(i)));
    },

    async delete(digest) {
      await rpc.unary(CONTENT_SVC, 'Delete', { digest });
    },

    update(info, fieldPaths) {
      return updateContentInfo(rpc, info, fieldPaths);
    },

    read(digest, range) {
      return readContent(rpc, digest, range?.offset, range?.size);
    },

    async readAll(digest) {
      const parts: Buffer[] = [];
      for await (const chunk of readContent(rpc, digest)) parts.push(chunk as Buffer);
      return Buffer.concat(parts);
    },

    write(ref, data, expected, labels) {
      return writeContent(rpc, ref, data, expected, labels);
    },

    ingest(ref, expected, labels, open, opts = {}) {
      return ingestDirect(rpc, { ref, expected, labels, open, progress: opts.progress, ready: opts.ready });
    },
  };
}
