// `docker build` with the classic builder's protocol: parse, then each step
// in order — a cache probe, then the step (a config change, a RUN container,
// a COPY into a fresh snapshot) committed as an image through
// ImageService.commit — with the output the docker CLI and compose read.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { familiarString, formatPlatform, hostPlatform, normalizeName, parsePlatform, platformMatches, processWord } from '../daemon/images/index.js';
import { invalidParameter, isKind, messageOf, notFound } from '../errors/index.js';
import { cacheKey } from './cache.js';
import { RUNTIME_PATHS } from './commit.js';
import { receiveContext, type BuildContext } from './context.js';
import { remoteContext } from './remote.js';
import { DISPATCHERS, type StepPlan } from './dispatch.js';
import { withMounted } from './mount.js';
import type { BuildOptions } from './options.js';
import { BuildOutput } from './output.js';
import { parseDockerfile, parseTrigger, type Instruction, type ParsedDockerfile, type Stage } from './parse.js';
import { runStep } from './run.js';
import { PREDEFINED_ARGS, type BuildState, type StageState } from './state.js';
import type { BuildDeps } from './types.js';

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/** A step that failed with a status the CLI exits with. */
class StepFailure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

class Cancelled extends Error {}

/**
 * Where a missing FROM image would be pulled: the image service's pull (no
 * registry today), then the local store again.
 */
async function pullBaseImage(b: BuildState, ref: string): Promise<void> {
  try {
    await b.deps.images.pull(ref);
  } catch (err) {
    if (isKind(err, 'unavailable') || isKind(err, 'not-found')) {
      let shown = ref;
      try {
        shown = familiarString(normalizeName(ref));
      } catch {
        // shown as given
      }
      throw notFound(`No such image: ${shown}`);
    }
    throw err;
  }
}

async function baseImage(b: BuildState, ref: string): Promise<{ id: string; config: StageState['config'] }> {
  if (b.opts.pull) await pullBaseImage(b, ref).catch(() => undefined);
  try {
    const r = await b.deps.images.resolveForContainer(ref);
    return { id: r.id, config: r.config };
  } catch (err) {
    if (!isKind(err, 'not-found')) throw err;
  }
  await pullBaseImage(b, ref);
  const r = await b.deps.images.resolveForContainer(ref);
  return { id: r.id, config: r.config };
}

function checkCancelled(b: BuildState): void {
  if (b.signal.aborted) throw new Cancelled('the build was cancelled');
}

/** Carries out one step (after its `Step N/M` line) and moves the stage to the step's image. */
async function execute(b: BuildState, s: StageState, ins: Instruction): Promise<void> {
  checkCancelled(b);
  const started = performance.now();
  const dispatch = DISPATCHERS[ins.keyword];
  if (dispatch === undefined) throw invalidParameter(`unknown instruction: ${ins.keyword}`);
  const plan = await dispatch(b, s, ins);
  try {
    const key = cacheKey({ parent: s.image ?? '', createdBy: plan.createdBy, config: plan.config, extra: [...(plan.extra ?? []), s.author ?? ''] });
    const hit = b.opts.noCache ? undefined : ((await b.deps.images.findBuildCache(key)) ?? (await fromCacheSources(b, s, plan, key)));
    if (hit !== undefined) {
      b.out.stream(' ---> Using cache\n');
      s.image = hit;
    } else s.image = await carryOut(b, s, plan, key);
    s.config = plan.config;
    b.out.stream(` ---> ${short(s.image)}\n`);
    b.deps.logger.debug({ step: ins.keyword, line: ins.line, cached: hit !== undefined, ms: Math.round(performance.now() - started) }, 'build step done');
  } finally {
    if (plan.kind === 'copy') await plan.release();
  }
}

/** A step served by a --cache-from image. */
async function fromCacheSources(b: BuildState, s: StageState, plan: StepPlan, key: string): Promise<string | undefined> {
  if (b.cacheFrom.length === 0) return undefined;
  const step = { createdBy: plan.createdBy, config: plan.config, cacheKey: key, ...(s.image ? { parent: s.image } : {}) };
  const found = await b.deps.images.cacheFromStep(b.cacheFrom, { ...step, lease: await b.lease() });
  if (found === undefined) return undefined;
  b.cacheFrom = [found.source];
  return found.id;
}

async function carryOut(b: BuildState, s: StageState, plan: StepPlan, key: string): Promise<string> {
  const images = b.deps.images;
  const common = { parent: s.image, config: plan.config, createdBy: plan.createdBy, cacheKey: key, lease: await b.lease(), ...(s.author ? { author: s.author } : {}) };
  if (plan.kind === 'config') return (await images.commit(common)).id;
  if (plan.kind === 'copy') {
    const chain = s.image === undefined ? '' : (await images.resolveForContainer(s.image)).chainId;
    const snapshot = `berth-build-${randomBytes(8).toString('hex')}`;
    try {
      const mounts = await images.prepareRootfs(snapshot, chain);
      await withMounted(mounts, b.deps.tmpDir, (root) => plan.copy(root));
      checkCancelled(b);
      return (await images.commit({ ...common, rootfsKey: snapshot, consumeSnapshot: true })).id;
    } finally {
      await images.removeRootfs(snapshot).catch(() => undefined);
    }
  }
  if (s.image === undefined) throw invalidParameter('Please provide a source image with `from` prior to run');
  let container: string | undefined;
  let failed = true;
  try {
    const result = await runStep(b.deps.containers, { ...plan.run, image: s.image }, b.out, b.signal, (id) => (container = id), b.opts.remove);
    checkCancelled(b);
    if (result.exitCode !== 0) throw new StepFailure(`The command '${plan.command}' returned a non-zero code: ${result.exitCode}`, result.exitCode);
    // A container that goes anyway gives its snapshot to the new layer (no unpacking of the blob again).
    const id = (await images.commit({ ...common, rootfsKey: result.id, runtimePaths: RUNTIME_PATHS, consumeSnapshot: b.opts.remove })).id;
    failed = false;
    return id;
  } finally {
    // dockerd keeps a failed step's container unless --force-rm; a cancelled build leaves nothing.
    if (container !== undefined && (failed ? b.opts.forceRemove || b.signal.aborted : b.opts.remove)) {
      const id = container;
      // The next step need not wait for it; the build's end does.
      b.removals.push(b.deps.containers.remove(id, { force: true }).catch((err: unknown) => b.deps.logger.warn({ err, container: id }, 'could not remove a build container')));
      if (!failed) b.out.stream(` ---> Removed intermediate container ${id.slice(0, 12)}\n`);
    }
  }
}

async function runStage(b: BuildState, stage: Stage, index: number): Promise<string | undefined> {
  const from = stage.from;
  b.out.stream(`Step ${++b.step}/${b.total} : ${from.original}\n`);
  const platform = from.flags.find(([k]) => k === 'platform')?.[1];
  if (platform) checkPlatform(processWord(platform, b.metaArgs, b.escape));
  const words = from.args.split(/\s+/);
  const ref = processWord(words[0]!, b.metaArgs, b.escape);
  if (ref === '') throw invalidParameter(`base name (${words[0]}) should not be blank`);
  const s: StageState = { index, config: {}, args: new Map(), cmdSet: false };
  if (stage.name !== undefined) s.name = stage.name;
  if (ref.toLowerCase() !== 'scratch') {
    const key = ref.toLowerCase();
    if (b.stages.has(key)) {
      s.image = b.stages.get(key);
      if (s.image !== undefined) s.config = (await b.deps.images.resolveForContainer(s.image)).config;
    } else {
      const base = await baseImage(b, ref);
      s.image = base.id;
      s.config = base.config;
    }
    if (s.image !== undefined) b.out.stream(` ---> ${short(s.image)}\n`);
  }
  const triggers = s.config.OnBuild ?? [];
  if (triggers.length > 0) {
    delete s.config.OnBuild;
    b.out.stream(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
    for (const t of triggers) await execute(b, s, parseTrigger(t, b.escape));
  }
  for (const ins of stage.instructions) {
    b.out.stream(`Step ${++b.step}/${b.total} : ${ins.original}\n`);
    await execute(b, s, ins);
  }
  if (s.image !== undefined) b.out.aux(s.image);
  return s.image;
}

async function runBuild(b: BuildState, parsed: ParsedDockerfile, stages: Stage[]): Promise<string> {
  for (const ins of parsed.metaArgs) {
    b.out.stream(`Step ${++b.step}/${b.total} : ${ins.original}\n`);
    const s: StageState = { index: -1, config: {}, args: new Map(b.metaArgs), cmdSet: false };
    await DISPATCHERS.ARG!(b, s, ins);
    for (const [k, v] of s.args) b.metaArgs.set(k, v);
  }
  let last: string | undefined;
  for (const [i, stage] of stages.entries()) {
    last = await runStage(b, stage, i);
    b.stages.set(String(i), last);
    if (stage.name !== undefined) b.stages.set(stage.name, last);
  }
  if (last === undefined) throw invalidParameter('No image was generated. Is your Dockerfile empty?');
  return last;
}

/** The stages up to --target, with --label as a last LABEL step. */
function stagesToBuild(parsed: ParsedDockerfile, opts: BuildOptions): Stage[] {
  let stages = parsed.stages;
  if (opts.target !== '') {
    const at = stages.findIndex((s) => s.name === opts.target.toLowerCase());
    if (at < 0) throw invalidParameter(`failed to reach build target ${opts.target} in Dockerfile`);
    stages = stages.slice(0, at + 1);
  }
  const labels = Object.entries(opts.labels);
  if (labels.length > 0) {
    const text = labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ');
    const last = stages.at(-1)!;
    const label: Instruction = { keyword: 'LABEL', args: text, flags: [], original: `LABEL ${text}`, line: 0 };
    stages = [...stages.slice(0, -1), { ...last, instructions: [...last.instructions, label] }];
  }
  return stages;
}

export interface StartedBuild {
  /** the JSON lines of the answer */
  body: Readable;
  /** settles when the build and its clean-up are over */
  done: Promise<void>;
}

/** Builds run the host's images only: another platform is refused rather than built for the wrong one. */
export function checkPlatform(spec: string): void {
  if (spec === '') return;
  const host = hostPlatform();
  const want = parsePlatform(spec);
  if (!platformMatches(host, want)) throw invalidParameter(`berth builds for its own platform (${formatPlatform(host)}) only, not ${formatPlatform(want)}`);
}

/**
 * Reads the whole context and checks the Dockerfile first (errors here are
 * plain HTTP errors), then runs the build while its output streams.
 */
export async function startBuild(deps: BuildDeps, input: Readable, opts: BuildOptions, signal: AbortSignal): Promise<StartedBuild> {
  const tags = deps.images.normalizeTags(opts.tags);
  checkPlatform(opts.platform);
  const received = performance.now();
  let context: BuildContext;
  if (opts.remote !== '') {
    // The context comes from elsewhere: whatever the body holds is not read.
    input.resume();
    const remote = await remoteContext(opts.remote, deps.tmpDir, opts.dockerfile, signal);
    try {
      context = await receiveContext(remote.tar, deps.tmpDir, opts.dockerfile);
    } finally {
      remote.tar.destroy();
      await remote.cleanup();
    }
  } else context = await receiveContext(input, deps.tmpDir, opts.dockerfile);
  deps.logger.debug({ ms: Math.round(performance.now() - received) }, 'build context received');
  let parsed: ParsedDockerfile;
  let stages: Stage[];
  try {
    parsed = parseDockerfile(context.dockerfile);
    stages = stagesToBuild(parsed, opts);
  } catch (err) {
    await context.cleanup();
    throw err;
  }
  const out = new BuildOutput(opts.quiet);
  let lease: Promise<{ id: string; release(): Promise<void> }> | undefined;
  const total = parsed.metaArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
  const b: BuildState = {
    deps,
    opts,
    contextDir: context.dir,
    contextDigests: context.digests,
    escape: parsed.escape,
    out,
    signal,
    metaArgs: new Map(),
    stages: new Map(),
    usedArgs: new Set(),
    step: 0,
    total,
    lease: async () => (await (lease ??= deps.images.lease())).id,
    cacheFrom: opts.cacheFrom,
    removals: [],
  };
  const done = (async () => {
    try {
      const id = await runBuild(b, parsed, stages).finally(() => Promise.all(b.removals));
      await deps.images.name(id, opts.tags);
      const unused = [...opts.buildArgs.keys()].filter((k) => !b.usedArgs.has(k) && !PREDEFINED_ARGS.has(k)).sort();
      if (unused.length > 0) out.stream(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      out.stream(`Successfully built ${short(id)}\n`);
      for (const t of tags) out.stream(`Successfully tagged ${familiarString(normalizeName(t))}\n`);
      out.done(id);
    } catch (err) {
      if (err instanceof Cancelled || signal.aborted) {
        deps.logger.info({ err: messageOf(err) }, 'build cancelled');
        out.end();
      } else {
        const code = err instanceof StepFailure ? err.code : 1;
        out.fail(messageOf(err), code);
      }
    } finally {
      if (lease !== undefined) await lease.then((l) => l.release(), () => undefined);
      await context.cleanup().catch(() => undefined);
    }
  })();
  return { body: out.body, done };
}

