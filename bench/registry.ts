// Pull and push figures: both daemons against the same loopback registry
// (Debian's docker-registry 2.8), a 3-layer image of about 30 MB.
import { randomBytes } from 'node:crypto';
import { buildFixtureImage } from '../test/fixtures/images.js';
import { startRegistry, uploadImage, type RegistryHandle } from '../test/helpers/registry.js';
import type { BenchContext } from './figures.js';
import type { BenchDaemon } from './daemon.js';
import { interleave, timeDocker } from './measure.js';
import { sleep } from '../test/helpers/berthd.js';
import { rssKiB } from './procs.js';
import type { Summary } from './stats.js';

const REPO = 'bench/pull';
const TAG = '30mb';

async function withRegistry<T>(fn: (reg: RegistryHandle, ref: string) => Promise<T>): Promise<T> {
  const reg = await startRegistry();
  try {
    // Random bytes do not compress: the layers stay ~14 MB each on the wire.
    const img = await buildFixtureImage({ compressLayers: true, extraLayers: [{ 'a.bin': randomBytes(14 << 20) }, { 'b.bin': randomBytes(14 << 20) }] });
    await uploadImage(reg.host, REPO, TAG, img);
    return await fn(reg, `${reg.host}/${REPO}:${TAG}`);
  } finally {
    await reg.cleanup();
  }
}

async function must(d: BenchDaemon, args: string[]): Promise<void> {
  const r = await d.docker(args, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${d.name}: docker ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

/** `docker pull` of an image that is not there (removed after each sample). */
export function pullCold(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withRegistry((_reg, ref) =>
    interleave(
      ctx.daemons.map((d) => ({
        name: d.name,
        sample: async () => {
          const ms = await timeDocker(d, ['pull', ref]);
          await must(d, ['rmi', ref]);
          // containerd collects the blobs of a removed image in a garbage collection that may run a moment later.
          await sleep(2_000);
          return ms;
        },
      })),
      ctx.runs,
      ctx.warmup,
    ),
  );
}

/** `docker pull` of an image already present: one manifest request, nothing downloaded. */
export function pullPresent(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withRegistry(async (_reg, ref) => {
    for (const d of ctx.daemons) await must(d, ['pull', ref]);
    try {
      return await interleave(
        ctx.daemons.map((d) => ({ name: d.name, sample: () => timeDocker(d, ['pull', ref]) })),
        ctx.runs,
        ctx.warmup,
      );
    } finally {
      for (const d of ctx.daemons) await must(d, ['rmi', ref]).catch(() => undefined);
    }
  });
}

/** `docker push` to an empty registry: a fresh one for every sample, so every blob is uploaded. */
export function push(ctx: BenchContext): Promise<Map<string, Summary>> {
  return withRegistry(async (_reg, ref) => {
    for (const d of ctx.daemons) await must(d, ['pull', ref]);
    let n = 0;
    try {
      return await interleave(
        ctx.daemons.map((d) => ({
          name: d.name,
          sample: async () => {
            const target = await startRegistry();
            try {
              const name = `${target.host}/bench/push${n++}:1`;
              await must(d, ['tag', ref, name]);
              const ms = await timeDocker(d, ['push', name]);
              await must(d, ['rmi', name]);
              return ms;
            } finally {
              await target.cleanup();
            }
          },
        })),
        ctx.runs,
        ctx.warmup,
      );
    } finally {
      for (const d of ctx.daemons) await must(d, ['rmi', ref]).catch(() => undefined);
    }
  });
}

/** RSS above idle (peak, sampled every 20 ms) while a one-layer 200 MB image is pulled: the layer must stream, not be held. */
export async function pullRss(ctx: BenchContext): Promise<Map<string, Summary>> {
  const reg = await startRegistry();
  try {
    const img = await buildFixtureImage({ extraLayers: [{ 'big.bin': randomBytes(200 << 20) }] });
    await uploadImage(reg.host, 'bench/big', '200mb', img);
    const ref = `${reg.host}/bench/big:200mb`;
    return await interleave(
      ctx.daemons.map((d) => ({
        name: d.name,
        sample: async () => {
          await sleep(2_000);
          const idle = rssKiB(d.pid) ?? 0;
          let peak = idle;
          const timer = setInterval(() => (peak = Math.max(peak, rssKiB(d.pid) ?? 0)), 20);
          try {
            await must(d, ['pull', ref]);
          } finally {
            clearInterval(timer);
          }
          await must(d, ['rmi', ref]);
          return (peak - idle) / 1024;
        },
      })),
      Math.min(ctx.runs, 3),
      0,
    );
  } finally {
    await reg.cleanup();
  }
}
