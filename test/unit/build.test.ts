// Pure parts of docker build: word expansion (with the escape directive and
// ARG values), Dockerfile parsing and the classic builder's refusals, the
// query, cache keys, COPY's path resolution inside a root, and commit's
// config merge and read-only mounts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cacheKey } from '../../src/build/cache.js';
import { imageConfigOf } from '../../src/build/commit.js';
import { cleanRel, findSources, hashSources, resolveInRoot } from '../../src/build/copy.js';
import { mobyBool, parseBuildQuery } from '../../src/build/options.js';
import { joinLines, parseDockerfile, parseTrigger } from '../../src/build/parse.js';
import { applyChanges } from '../../src/daemon/images/changes.js';
import { parentMounts, readOnlyMounts } from '../../src/daemon/images/commit.js';
import { processWord, processWords } from '../../src/daemon/images/shellwords.js';
import { isBerthError } from '../../src/errors/index.js';

const vars = new Map([
  ['A', 'a'],
  ['EMPTY', ''],
  ['SP', 'x y'],
]);

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isBerthError(err));
    assert.equal(err.kind, 'invalid-parameter');
    assert.match(err.message, message);
    return true;
  });
}

describe('build word expansion', () => {
  it('expands $V, ${V}, the four modifiers, and leaves unknown ones empty', () => {
    assert.equal(processWord('$A-${A}-$NOPE-${NOPE}', vars), 'a-a--');
    assert.equal(processWord('${A:-d} ${EMPTY:-d} ${NOPE:-d}', vars), 'a d d');
    assert.equal(processWord('${A-d} ${EMPTY-d} ${NOPE-d}', vars), 'a  d');
    assert.equal(processWord('${A:+s} ${EMPTY:+s} ${NOPE:+s}', vars), 's  ');
    assert.equal(processWord('${A+s} ${EMPTY+s} ${NOPE+s}', vars), 's s ');
    assert.equal(processWord('${NOPE:-${A}x}', vars), 'ax');
  });

  it('honours quotes and escapes', () => {
    assert.equal(processWord(`'$A' "$A" \\$A "\\$A" "a\\"b"`, vars), '$A a $A $A a"b');
    assert.deepEqual(processWords('"$SP"  z', vars), ['x y', 'z']);
  });

  it('uses the escape directive character instead of the backslash', () => {
    assert.equal(processWord('`$A \\$A', vars, '`'), '$A \\a');
    assert.deepEqual(processWords('c:\\dir `"q`"', vars, '`'), ['c:\\dir', '"q"']);
  });

  it('refuses bad substitutions', () => {
    refused(() => processWord('${A:?x}', vars), /unsupported modifier/);
    refused(() => processWord('${A', vars), /missing '}'|unsupported modifier/);
    refused(() => processWord('"open', vars), /double-quote/);
  });

  it('ARG values expand below ENV in Dockerfile config steps', () => {
    const c = applyChanges({ Env: ['A=from-env'] }, ['ENV B=$A C=$ARGONLY'], { vars: new Map([['A', 'from-arg'], ['ARGONLY', 'arg']]), dockerfile: true });
    assert.deepEqual(c.Env, ['A=from-env', 'B=from-env', 'C=arg']);
    const shelled = applyChanges({}, ['SHELL ["/bin/bash", "-c"]', 'CMD echo hi'], { dockerfile: true });
    assert.deepEqual(shelled.Cmd, ['/bin/bash', '-c', 'echo hi']);
    refused(() => applyChanges({}, ['SHELL /bin/bash'], { dockerfile: true }), /SHELL requires the arguments to be in JSON form/);
    refused(() => applyChanges({}, ['SHELL ["/bin/bash"]']), /shell is not a valid change command/);
    const kept = applyChanges({ Cmd: ['x'] }, ['ENTRYPOINT ["e"]'], { cmdSet: true });
    assert.deepEqual(kept.Cmd, ['x']);
  });
});

describe('Dockerfile parsing', () => {
  it('splits stages, meta ARGs, flags, exec form and the original text', () => {
    const p = parseDockerfile('# escape=`\nARG BASE=busybox\nFROM $BASE AS Build\nRUN echo "a\\n" `\n  && echo b\nCOPY --from=build --chown=1:1 a* /d/\nFROM scratch\nCMD ["sh", "-c", "echo  x"]\n');
    assert.equal(p.escape, '`');
    assert.deepEqual(p.metaArgs.map((a) => a.args), ['BASE=busybox']);
    assert.equal(p.stages.length, 2);
    assert.equal(p.stages[0]!.name, 'build');
    const [run, copy] = p.stages[0]!.instructions;
    assert.equal(run!.args, 'echo "a\\n"   && echo b');
    assert.equal(run!.original, 'RUN echo "a\\n"   && echo b');
    assert.deepEqual(copy!.flags, [['from', 'build'], ['chown', '1:1']]);
    assert.deepEqual(p.stages[1]!.instructions[0]!.json, ['sh', '-c', 'echo  x']);
    assert.equal(joinLines('a \\\n# comment\n  b', '\\'), 'a   b');
  });

  it("refuses what the classic builder refuses, with its texts", () => {
    refused(() => parseDockerfile(''), /^No image was generated. Is your Dockerfile empty\?$/);
    refused(() => parseDockerfile('FROM a\nNOPE x\n'), /^dockerfile parse error on line 2: unknown instruction: NOPE$/);
    refused(() => parseDockerfile('RUN x\n'), /Please provide a source image/);
    refused(() => parseDockerfile('FROM a b\n'), /FROM requires either one or three arguments/);
    refused(() => parseDockerfile('FROM a AS x\nFROM b AS x\n'), /duplicate name x/);
    refused(() => parseDockerfile('FROM a\nRUN --mount=type=cache,target=/c x\n'), /^the --mount option requires BuildKit/);
    refused(() => parseDockerfile('FROM a\nRUN --network=none x\n'), /^the --network option requires BuildKit/);
    refused(() => parseDockerfile('FROM a\nCOPY --chmod=644 a /\n'), /^the --chmod option requires BuildKit/);
    refused(() => parseDockerfile('FROM a\nCOPY --link a /\n'), /^the --link option requires BuildKit/);
    refused(() => parseDockerfile('FROM a\nRUN <<EOF\nx\nEOF\n'), /^the heredoc syntax requires BuildKit/);
    refused(() => parseDockerfile('FROM a\nCOPY --bogus=1 a /\n'), /Unknown flag: bogus/);
  });

  it('parses an ONBUILD trigger as its instruction', () => {
    const t = parseTrigger('RUN echo hi', '\\');
    assert.equal(t.keyword, 'RUN');
    assert.equal(t.args, 'echo hi');
  });
});

describe('POST /build query', () => {
  it('reads booleans as moby does (docker-py sends "False")', () => {
    for (const f of ['', '0', 'no', 'false', 'False', 'none']) assert.equal(mobyBool(f, true), false, f);
    for (const t of ['1', 'true', 'True', 'yes']) assert.equal(mobyBool(t, false), true, t);
    const o = parseBuildQuery(new URLSearchParams('t=a&t=b:1&q=False&rm=True&nocache=1&buildargs={"X":"1","Y":null}&labels={"l":"v"}&version=1'));
    assert.deepEqual(o.tags, ['a', 'b:1']);
    assert.equal(o.quiet, false);
    assert.equal(o.remove, true);
    assert.equal(o.noCache, true);
    assert.deepEqual([...o.buildArgs], [['X', '1'], ['Y', null]]);
    assert.deepEqual(o.labels, { l: 'v' });
    assert.equal(o.dockerfile, 'Dockerfile');
    assert.equal(parseBuildQuery(new URLSearchParams('forcerm=1&rm=0')).remove, true);
    assert.deepEqual(parseBuildQuery(new URLSearchParams('memory=67108864&cpushares=0&cpusetcpus=0-1&shmsize=1024')).resources, { Memory: 67108864, CpusetCpus: '0-1', ShmSize: 1024 });
    refused(() => parseBuildQuery(new URLSearchParams('memory=lots')), /invalid memory query parameter/);
  });

  it('refuses BuildKit sessions, unknown versions and bad JSON', () => {
    refused(() => parseBuildQuery(new URLSearchParams('version=2')), /BuildKit is not supported/);
    refused(() => parseBuildQuery(new URLSearchParams('version=x')), /^invalid version "x"$/);
    refused(() => parseBuildQuery(new URLSearchParams('securityopt=a')), /security options are not supported on linux/);
    refused(() => parseBuildQuery(new URLSearchParams('buildargs={')), /invalid buildargs/);
    refused(() => parseBuildQuery(new URLSearchParams('buildargs={"a":1}')), /invalid buildargs/);
  });
});

describe('build cache keys', () => {
  const base = { parent: 'sha256:p', createdBy: '/bin/sh -c echo', config: { Env: ['A=1'], Cmd: ['sh'] } };
  it('are equal for equal steps, whatever the key order of the config', () => {
    assert.equal(cacheKey(base), cacheKey({ ...base, config: { Cmd: ['sh'], Env: ['A=1'] } }));
  });
  it('change with the parent, the command, the config and the extras', () => {
    const k = cacheKey(base);
    assert.notEqual(cacheKey({ ...base, parent: 'sha256:q' }), k);
    assert.notEqual(cacheKey({ ...base, createdBy: '|1 X=2 /bin/sh -c echo' }), k);
    assert.notEqual(cacheKey({ ...base, config: { ...base.config, User: 'app' } }), k);
    assert.notEqual(cacheKey({ ...base, extra: ['host'] }), k);
  });
});

describe('COPY sources and destinations', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-copy-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('resolves symlinks inside the root, never outside it', async () => {
    mkdirSync(join(root, 'real/dir'), { recursive: true });
    symlinkSync('/etc', join(root, 'abs'));
    symlinkSync('../../..', join(root, 'real/dir/up'));
    symlinkSync('real', join(root, 'rel'));
    assert.equal(await resolveInRoot(root, '/abs/passwd'), join(root, 'etc/passwd'));
    assert.equal(await resolveInRoot(root, 'real/dir/up/x'), join(root, 'x'));
    assert.equal(await resolveInRoot(root, '/rel/dir/new'), join(root, 'real/dir/new'));
    assert.equal(cleanRel('../../a/./b/'), 'a/b');
  });

  it('finds wildcards and hashes content, not times', async () => {
    const ctx = join(root, 'ctx');
    mkdirSync(join(ctx, 'd'), { recursive: true });
    writeFileSync(join(ctx, 'a1.txt'), '1');
    writeFileSync(join(ctx, 'a2.txt'), '2');
    writeFileSync(join(ctx, 'd/f'), 'f');
    const wild = await findSources(ctx, ['a?.txt'], 'COPY');
    assert.deepEqual(wild.map((s) => s.name), ['a1.txt', 'a2.txt']);
    const h1 = await hashSources(wild);
    assert.match(h1, /^multi:[0-9a-f]{64}$/);
    writeFileSync(join(ctx, 'a2.txt'), '2');
    assert.equal(await hashSources(wild), h1);
    writeFileSync(join(ctx, 'a2.txt'), '3');
    assert.notEqual(await hashSources(wild), h1);
    assert.match(await hashSources(await findSources(ctx, ['d'], 'COPY')), /^dir:/);
    await assert.rejects(findSources(ctx, ['nope'], 'COPY'), /COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist/);
    await assert.rejects(findSources(ctx, ['z*'], 'ADD'), /ADD failed: no source files were specified/);
    await assert.rejects(findSources(ctx, ['http://example.com/x'], 'COPY'), /source can't be a URL for COPY/);
  });
});

describe('commit', () => {
  it('merges the request config over the container config as dockerd does', () => {
    const c = imageConfigOf({ Cmd: ['sh'], Env: ['A=1'], Hostname: 'h', WorkingDir: '/w', Labels: {} }, { Cmd: ['x'], Env: [] });
    assert.deepEqual(c, { Cmd: ['x'], Env: ['A=1'], WorkingDir: '/w' });
  });

  it('diffs a live container through read-only mounts (no second mount of its upperdir)', () => {
    const [m] = readOnlyMounts([{ type: 'overlay', source: 'overlay', options: ['index=off', 'workdir=/s/2/work', 'upperdir=/s/2/fs', 'lowerdir=/s/1/fs'] }], '/mask');
    assert.deepEqual(m!.options, ['index=off', 'ro', 'lowerdir=/mask:/s/2/fs:/s/1/fs']);
    const [b] = readOnlyMounts([{ type: 'bind', source: '/s/1/fs', options: ['rw', 'rbind'] }]);
    assert.deepEqual(b!.options, ['rbind', 'ro']);
  });

  it("mounts the parent chain from an overlay snapshot's lower directories, as containerd's view would", () => {
    const one = parentMounts([{ type: 'overlay', source: 'overlay', options: ['index=off', 'workdir=/s/2/work', 'upperdir=/s/2/fs', 'lowerdir=/s/1/fs'] }]);
    assert.deepEqual(one, [{ type: 'bind', source: '/s/1/fs', options: ['ro', 'rbind'] }]);
    const two = parentMounts([{ type: 'overlay', source: 'overlay', options: ['index=off', 'workdir=/s/3/work', 'upperdir=/s/3/fs', 'lowerdir=/s/2/fs:/s/1/fs'] }]);
    assert.deepEqual(two, [{ type: 'overlay', source: 'overlay', options: ['index=off', 'ro', 'lowerdir=/s/2/fs:/s/1/fs'] }]);
    // Anything else goes through a view.
    assert.equal(parentMounts([{ type: 'bind', source: '/s/1/fs', options: ['rw', 'rbind'] }]), undefined);
    assert.equal(parentMounts([{ type: 'overlay', source: 'overlay', options: ['upperdir=/s/1/fs', 'workdir=/s/1/work'] }]), undefined);
  });
});
