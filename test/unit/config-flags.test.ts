// berthd's command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { buildCommand, ConfigError, flagsFromCommand, parseAddRuntime, parseFlags } from '../../src/config/index.js';

test('--help lists every flag with its default', () => {
  const help = buildCommand({ version: '1.2.3' }).helpInformation();
  const expected: [string, string][] = [
    ['--config-file <file>', '/etc/berth/daemon.json'],
    ['-H, --host <address>', 'unix:///run/berth/berth.sock'],
    ['--data-root <dir>', '/var/lib/berth'],
    ['--exec-root <dir>', '/run/berth'],
    ['--pidfile <file>', '<exec-root>/berthd.pid'],
    ['--containerd <address>', 'empty'],
    ['--containerd-namespace <name>', 'berth'],
    ['--add-runtime <name=path>', 'none'],
    ['--default-runtime <name>', 'runc'],
    ['--validate', 'false'],
    ['-D, --debug', 'false'],
    ['--log-level <level>', 'info'],
    ['--live-restore', 'false'],
    ['--group <group>', 'berth'],
    ['--shutdown-timeout <seconds>', '15'],
    ['--max-concurrent-downloads <n>', '3'],
    ['--label <key=value>', 'none'],
    ['--version', ''],
    ['--help', ''],
  ];
  const flat = help.replace(/\s+/g, ' ');
  for (const [flag, def] of expected) {
    assert.ok(flat.includes(flag), `${flag} in --help`);
    if (def !== '') assert.match(flat, new RegExp(`${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^]*?\\(default: ${def.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), flag);
  }
});

test('no flags: nothing is set (defaults are applied by loadConfig)', () => {
  assert.deepEqual(parseFlags([]), {});
});

test('every flag parses; repeatable ones collect', () => {
  const flags = parseFlags([
    '--config-file', '/tmp/d.json',
    '-H', 'unix:///tmp/a.sock', '--host', 'unix:///tmp/b.sock',
    '--data-root', '/tmp/root', '--exec-root', '/tmp/exec', '--pidfile', '/tmp/p.pid',
    '--containerd', '/run/containerd/containerd.sock', '--containerd-namespace', 'ns',
    '--add-runtime', 'a=/bin/a', '--add-runtime', 'b=/bin/b', '--default-runtime', 'a',
    '--validate', '-D', '--log-level', 'warn', '--live-restore', '--group', 'wheel',
    '--shutdown-timeout', '30', '--max-concurrent-downloads', '5', '--label', 'a=1', '--label', 'b=2',
  ]);
  assert.deepEqual(flags, {
    configFile: '/tmp/d.json',
    hosts: ['unix:///tmp/a.sock', 'unix:///tmp/b.sock'],
    dataRoot: '/tmp/root',
    execRoot: '/tmp/exec',
    pidfile: '/tmp/p.pid',
    containerd: '/run/containerd/containerd.sock',
    containerdNamespace: 'ns',
    addRuntime: ['a=/bin/a', 'b=/bin/b'],
    defaultRuntime: 'a',
    validate: true,
    debug: true,
    logLevel: 'warn',
    liveRestore: true,
    group: 'wheel',
    shutdownTimeout: 30,
    maxConcurrentDownloads: 5,
    labels: ['a=1', 'b=2'],
  });
});

test('bad flag values are errors', () => {
  for (const args of [['--shutdown-timeout', 'x'], ['--shutdown-timeout', '-1'], ['--log-level', 'loud'], ['--no-such-flag'], ['extra']]) {
    assert.throws(() => parseFlags(args), ConfigError, args.join(' '));
  }
});

test('--add-runtime NAME=PATH', () => {
  assert.deepEqual(parseAddRuntime('crun=/usr/bin/crun'), { name: 'crun', path: '/usr/bin/crun' });
  assert.deepEqual(parseAddRuntime('odd=/opt/a=b'), { name: 'odd', path: '/opt/a=b' });
  for (const bad of ['crun', '=/usr/bin/crun', 'crun=', '', '=']) {
    assert.throws(
      () => parseAddRuntime(bad),
      (err: unknown) => err instanceof ConfigError && err.message === `invalid --add-runtime value '${bad}': expected NAME=PATH, e.g. --add-runtime crun=/usr/bin/crun`,
    );
  }
});

test('a subcommand can be attached to the command', () => {
  const cmd = buildCommand({ version: '1.0.0' }).exitOverride();
  let ran = '';
  cmd.addCommand(new Command('reload').action(() => { ran = 'reload'; }));
  cmd.action(() => { ran = 'daemon'; });
  cmd.parse(['reload'], { from: 'user' });
  assert.equal(ran, 'reload');
  const daemon = buildCommand({ version: '1.0.0' }).exitOverride();
  daemon.addCommand(new Command('reload').action(() => { ran = 'reload'; }));
  daemon.action(() => { ran = 'daemon'; });
  daemon.parse(['--debug'], { from: 'user' });
  assert.equal(ran, 'daemon');
  assert.deepEqual(flagsFromCommand(daemon), { debug: true });
});
