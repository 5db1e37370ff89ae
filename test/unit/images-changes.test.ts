import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, exposedPorts, instructionLines, parseGoDuration } from '../../src/daemon/images/changes.js';
import { buildImportConfig, parsePlatform, platformMatches, hostPlatform } from '../../src/daemon/images/config.js';
import { processWord, splitRawWords } from '../../src/daemon/images/shellwords.js';
import { isBerthError } from '../../src/errors/index.js';

function invalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isBerthError(err));
    assert.equal(err.kind, 'invalid-parameter');
    assert.equal(err.message, message);
    return true;
  });
}

describe('docker import --change', () => {
  it('applies a set of changes as dockerd does', () => {
    const c = applyChanges({}, [
      'CMD echo hi',
      'ENTRYPOINT ["/bin/sh","-c"]',
      'ENV X=1 Y="a b"',
      'ENV Z 1 2',
      'WORKDIR /tmp',
      'WORKDIR sub',
      'USER app',
      'LABEL a=b "c d"=e',
      'EXPOSE 80 53/udp',
      'VOLUME /data /v2',
      'VOLUME ["/j"]',
      'ENV P=$X-${Y}',
      "LABEL q='$X'",
      'cmd ["a", "b"',
    ]);
    assert.deepEqual(c, {
      Cmd: ['/bin/sh', '-c', '["a", "b"'],
      Entrypoint: ['/bin/sh', '-c'],
      Env: ['X=1', 'Y=a b', 'Z=1 2', 'P=1-a b'],
      WorkingDir: '/tmp/sub',
      User: 'app',
      Labels: { a: 'b', 'c d': 'e', q: '$X' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Volumes: { '/data': {}, '/v2': {}, '/j': {} },
    });
  });

  it('handles the edge cases dockerd handles', () => {
    assert.deepEqual(applyChanges({}, ['CMD']), { Cmd: ['/bin/sh', '-c'] });
    assert.deepEqual(applyChanges({}, ['CMD []']), {});
    assert.deepEqual(applyChanges({}, ['ENTRYPOINT echo hi']), { Entrypoint: ['/bin/sh', '-c', 'echo hi'] });
    assert.deepEqual(applyChanges({}, ['ENV a=1 b=$a']), { Env: ['a=1', 'b='] });
    assert.deepEqual(applyChanges({}, ['ENV a=${HOME:-def} b=\\$x c=${U:+alt}']), { Env: ['a=def', 'b=$x', 'c='] });
    assert.deepEqual(applyChanges({}, ['ENV a="\\"q\\"" b=x\\ y']), { Env: ['a="q"', 'b=x y'] });
    assert.deepEqual(applyChanges({}, ['WORKDIR rel']), { WorkingDir: '/rel' });
    assert.deepEqual(applyChanges({}, ['USER a b']), { User: 'a b' });
    assert.deepEqual(applyChanges({}, ['EXPOSE 80-81', 'EXPOSE 0']), { ExposedPorts: { '80/tcp': {}, '81/tcp': {}, '0/tcp': {} } });
    assert.deepEqual(applyChanges({}, ['STOPSIGNAL SIGINT']), { StopSignal: 'SIGINT' });
    assert.deepEqual(applyChanges({}, ['ONBUILD run x']), { OnBuild: ['RUN x'] });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']), { Healthcheck: { Test: ['NONE'] } });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=5s --retries=3 CMD ["true"]']), {
      Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9, Retries: 3 },
    });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD curl -f x || exit 1']), { Healthcheck: { Test: ['CMD-SHELL', 'curl -f x || exit 1'] } });
  });

  it('keeps the base config and lets ENTRYPOINT drop an inherited CMD', () => {
    const base = { Cmd: ['sh'], Env: ['PATH=/bin', 'A=1'] };
    assert.deepEqual(applyChanges(base, ['ENV A=2 B=$PATH']), { Cmd: ['sh'], Env: ['PATH=/bin', 'A=2', 'B=/bin'] });
    assert.deepEqual(applyChanges(base, ['ENTRYPOINT ["top"]']), { Env: ['PATH=/bin', 'A=1'], Entrypoint: ['top'] });
    assert.deepEqual(applyChanges(base, ['CMD ["x"]', 'ENTRYPOINT ["top"]']).Cmd, ['x']);
    assert.deepEqual(base, { Cmd: ['sh'], Env: ['PATH=/bin', 'A=1'] });
  });

  it('refuses bad instructions with dockerd wording', () => {
    invalid(() => applyChanges({}, ['FROM x']), 'from is not a valid change command');
    invalid(() => applyChanges({}, ['BOGUS x']), 'bogus is not a valid change command');
    invalid(() => applyChanges({}, ['MAINTAINER me']), 'maintainer is not a valid change command');
    invalid(() => applyChanges({}, ['ENV']), 'ENV requires at least one argument');
    invalid(() => applyChanges({}, ['ENV X']), 'ENV must have two arguments');
    invalid(() => applyChanges({}, ['ENV a="x y" b']), 'Syntax error - can\'t find = in "b". Must be of the form: name=value');
    invalid(() => applyChanges({}, ['LABEL x']), 'LABEL must have two arguments');
    invalid(() => applyChanges({}, ['EXPOSE']), 'EXPOSE requires at least one argument');
    invalid(() => applyChanges({}, ['EXPOSE abc']), 'Invalid containerPort: abc');
    invalid(() => applyChanges({}, ['EXPOSE 70000']), 'Invalid containerPort: 70000');
    invalid(() => applyChanges({}, ['EXPOSE 80/xyz']), 'Invalid proto: xyz');
    invalid(() => applyChanges({}, ['VOLUME']), 'VOLUME requires at least one argument');
    invalid(() => applyChanges({}, ['VOLUME ""']), 'VOLUME specified can not be an empty string');
    invalid(() => applyChanges({}, ['VOLUME []']), 'VOLUME requires at least one argument');
    invalid(() => applyChanges({}, ['WORKDIR']), 'WORKDIR requires exactly one argument');
    invalid(() => applyChanges({}, ['USER']), 'USER requires exactly one argument');
    invalid(() => applyChanges({}, ['STOPSIGNAL no-such']), 'Invalid signal: no-such');
    invalid(() => applyChanges({}, ["ENV a='open"]), 'unexpected end of statement while looking for matching single-quote');
  });

  it('splits changes into instruction lines', () => {
    assert.deepEqual(instructionLines(['CMD a\nENV b=1', '# comment', '', 'ENV c=\\\n  2']), ['CMD a', 'ENV b=1', 'ENV c=  2']);
  });

  it('lexes words and ports and durations', () => {
    assert.deepEqual(splitRawWords(' a "b c"  d\\ e \'f g\' '), ['a', '"b c"', 'd\\ e', "'f g'"]);
    assert.equal(processWord('"$A"-\'$A\'-${B:-x}', new Map([['A', '1']])), '1-$A-x');
    assert.deepEqual(exposedPorts('8000-8002/udp'), ['8000/udp', '8001/udp', '8002/udp']);
    assert.equal(parseGoDuration('1m30s'), 90e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.throws(() => parseGoDuration('5 s'));
  });
});

describe('image config for docker import', () => {
  it('builds a one-layer config with history and changes', () => {
    const created = new Date('2025-02-03T04:05:06.789Z');
    const diffId = 'sha256:' + '1'.repeat(64);
    const img = buildImportConfig({ diffId, changes: ['CMD ["sh"]'], platform: { os: 'linux', architecture: 'arm64' }, created });
    assert.deepEqual(img, {
      architecture: 'arm64',
      os: 'linux',
      created: '2025-02-03T04:05:06.789Z',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '2025-02-03T04:05:06.789Z', created_by: 'berth import', comment: 'Imported from -' }],
      comment: 'Imported from -',
    });
    const withMessage = buildImportConfig({ diffId, changes: [], message: 'hello', platform: hostPlatform(), created });
    assert.equal(withMessage.comment, 'hello');
    assert.equal(withMessage.history?.[0]?.comment, 'hello');
  });

  it('parses and matches platforms', () => {
    assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v6' });
    assert.throws(() => parsePlatform('windows/amd64'), /berth runs linux images only/);
    assert.throws(() => parsePlatform('a/b/c/d'), /invalid platform/);
    const amd = { os: 'linux', architecture: 'amd64' };
    assert.ok(platformMatches(amd, { os: 'linux', architecture: 'amd64' }));
    assert.ok(platformMatches(amd, { os: 'linux', architecture: 'x86_64' }));
    assert.ok(!platformMatches(amd, { os: 'linux', architecture: 'arm64' }));
    assert.ok(!platformMatches(amd, { os: 'unknown', architecture: 'unknown' }));
    assert.ok(!platformMatches(amd, undefined));
  });
});
