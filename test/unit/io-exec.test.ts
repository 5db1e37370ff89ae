// Pure parts of exec and top: user resolution, environment merge, the exec
// process spec, ps output parsing, start-error exit codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildExecProcess,
  mergeEnv,
  parsePsOutput,
  resolveUserSpec,
  startErrorExitCode,
  validatePsArgs,
  type OciProcess,
} from '../../src/daemon/exec/index.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n';
const GROUP = 'root:x:0:\napp:x:1000:\nwww:x:33:app,web\naudio:x:29:app\n';

describe('exec user resolution', () => {
  it('resolves names and uids through passwd, with supplementary groups', () => {
    assert.deepEqual(resolveUserSpec('app', PASSWD, GROUP), { uid: 1000, gid: 1000, additionalGids: [33, 29] });
    assert.deepEqual(resolveUserSpec('1000', PASSWD, GROUP), { uid: 1000, gid: 1000, additionalGids: [33, 29] });
    assert.deepEqual(resolveUserSpec('root', PASSWD, GROUP), { uid: 0, gid: 0, additionalGids: [] });
  });
  it('uses numeric ids that are not in the files as they are', () => {
    assert.deepEqual(resolveUserSpec('4242', PASSWD, GROUP), { uid: 4242, gid: 0, additionalGids: [] });
    assert.deepEqual(resolveUserSpec('4242:77', PASSWD, GROUP), { uid: 4242, gid: 77, additionalGids: [] });
  });
  it('takes an explicit group by name or gid, without supplementary groups', () => {
    assert.deepEqual(resolveUserSpec('app:www', PASSWD, GROUP), { uid: 1000, gid: 33, additionalGids: [] });
    assert.deepEqual(resolveUserSpec('web:0', PASSWD, GROUP), { uid: 33, gid: 0, additionalGids: [] });
  });
  it('rejects unknown names with a 400', () => {
    assert.throws(() => resolveUserSpec('ghost', PASSWD, GROUP), (e: Error & { kind?: string }) => e.kind === 'invalid-parameter' && /unable to find user ghost/.test(e.message));
    assert.throws(() => resolveUserSpec('app:ghosts', PASSWD, GROUP), /unable to find group ghosts/);
    assert.throws(() => resolveUserSpec('app', '', ''), /no matching entries in passwd file/);
  });
});

describe('exec process spec', () => {
  const base: OciProcess = {
    terminal: false,
    user: { uid: 0, gid: 0, umask: 0o22 },
    args: ['sleep', '1000'],
    env: ['PATH=/bin', 'HOSTNAME=box', 'KEEP=1', 'DROP=1'],
    cwd: '/srv',
    capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
    apparmorProfile: 'docker-default',
  };

  it('merges env like dockerd: replace, append, and remove on a bare key', () => {
    assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'A']), ['B=3', 'C=4']);
  });

  it('keeps the container process settings and applies the exec ones', () => {
    const p = buildExecProcess(base, {
      cmd: ['id', '-u'],
      env: ['KEEP=2', 'DROP', 'NEW=x'],
      tty: true,
      workingDir: '/tmp',
      privileged: false,
      user: { uid: 1000, gid: 1000, additionalGids: [33] },
      consoleSize: { height: 24, width: 80 },
    });
    assert.deepEqual(p.args, ['id', '-u']);
    assert.deepEqual(p.env, ['PATH=/bin', 'HOSTNAME=box', 'KEEP=2', 'TERM=xterm', 'NEW=x']);
    assert.equal(p.cwd, '/tmp');
    assert.equal(p.terminal, true);
    assert.deepEqual(p.consoleSize, { height: 24, width: 80 });
    assert.deepEqual(p.user, { uid: 1000, gid: 1000, additionalGids: [33], umask: 0o22 });
    assert.deepEqual(p.capabilities, base.capabilities);
    assert.deepEqual(p.rlimits, base.rlimits);
    assert.equal(p.noNewPrivileges, true);
    assert.equal(p.apparmorProfile, 'docker-default');
    assert.deepEqual(base.args, ['sleep', '1000'], 'the container spec is not modified');
  });

  it('defaults to the container cwd and user; privileged gets every capability', () => {
    const p = buildExecProcess(base, { cmd: ['sh'], env: [], tty: false, workingDir: '', privileged: true });
    assert.equal(p.cwd, '/srv');
    assert.deepEqual(p.user, base.user);
    assert.equal(p.terminal, false);
    assert.ok(p.capabilities?.bounding?.includes('CAP_SYS_ADMIN'));
    assert.equal(p.consoleSize, undefined);
  });
});

describe('top', () => {
  const ps = [
    'UID          PID    PPID  C STIME TTY          TIME CMD',
    'root           1       0  0 10:00 ?        00:00:01 /sbin/init splash',
    'root        4242    4200  0 10:01 ?        00:00:00 sleep 1000',
    'root        4243    4242  0 10:01 ?        00:00:00 sh -c echo a  b',
    '',
  ].join('\n');
  it('keeps only the container pids and joins the command column', () => {
    const r = parsePsOutput(ps, [4242, 4243]);
    assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.deepEqual(r.Processes, [
      ['root', '4242', '4200', '0', '10:01', '?', '00:00:00', 'sleep 1000'],
      ['root', '4243', '4242', '0', '10:01', '?', '00:00:00', 'sh -c echo a b'],
    ]);
  });
  it('keeps thread rows after a kept process and refuses output without PID', () => {
    const threads = 'USER PID TID CMD\nroot 7 - app\nroot - 7 -\nroot - 8 -\nroot 9 - other\nroot - 9 -\n';
    assert.equal(parsePsOutput(threads, [7]).Processes.length, 3);
    assert.throws(() => parsePsOutput('USER CMD\nroot x\n', [1]), /PID field/);
  });
  it('validates ps args as dockerd does', () => {
    validatePsArgs('aux');
    validatePsArgs('-o pid=PID,comm');
    assert.throws(() => validatePsArgs('-o user=PID'), /specifying "user=PID" is not allowed/);
  });
});

describe('exec start errors', () => {
  it('maps runtime errors to 126/127/128', () => {
    assert.equal(startErrorExitCode(new Error('exec: "nope": executable file not found in $PATH: unknown')), 127);
    assert.equal(startErrorExitCode(new Error('exec: "/etc": permission denied')), 126);
    assert.equal(startErrorExitCode(new Error('something else')), 128);
  });
});
