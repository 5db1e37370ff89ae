// daemon.json + flags → DaemonConfig: defaults, conflicts, unknown keys,
// JSON syntax errors with line/column, types, the config file itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  findJsonSyntaxError,
  loadConfig,
  parseFlags,
  readConfigFile,
  readDaemonConfig,
  type DaemonFlags,
} from '../../src/config/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(flags: DaemonFlags, text: string | undefined, file = 'F'): string[] {
  try {
    loadConfig(flags, text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.kind, 'invalid-parameter');
    assert.equal(err.fileName, file);
    return [...err.errors];
  }
  return [];
}

test('defaults without a file', () => {
  assert.deepEqual(loadConfig({}, undefined, '/etc/berth/daemon.json'), {
    configFile: '/etc/berth/daemon.json',
    hosts: ['unix:///run/berth/berth.sock'],
    dataRoot: '/var/lib/berth',
    execRoot: '/run/berth',
    pidfile: '/run/berth/berthd.pid',
    containerd: '',
    containerdNamespace: 'berth',
    runtimes: {},
    defaultRuntime: '',
    debug: false,
    logLevel: 'info',
    labels: [],
    liveRestore: false,
    shutdownTimeout: 15,
    maxConcurrentDownloads: 3,
    group: 'berth',
    logDriver: 'json-file',
    logOpts: {},
    tls: undefined,
    tlsVerify: undefined,
    tlsCaCert: '/etc/berth/ca.pem',
    tlsCert: '/etc/berth/cert.pem',
    tlsKey: '/etc/berth/key.pem',
    registryMirrors: [],
    insecureRegistries: [],
    maxConcurrentUploads: 5,
    maxDownloadAttempts: 5,
  });
});

test('every file key applies; the pid file follows the exec root', () => {
  const config = loadConfig(
    {},
    JSON.stringify({
      hosts: ['unix:///tmp/b.sock', 'tcp://127.0.0.1:2375'],
      'data-root': '/tmp/data',
      'exec-root': '/tmp/exec',
      containerd: '/run/containerd/containerd.sock',
      'containerd-namespace': 'my.ns',
      runtimes: { crun: { path: '/usr/bin/crun', runtimeArgs: ['--debug'] } },
      'default-runtime': 'crun',
      debug: true,
      'log-level': 'warn',
      labels: ['a=b'],
      'live-restore': true,
      'shutdown-timeout': 3,
      'max-concurrent-downloads': 0,
      group: 'wheel',
    }),
    'F',
  );
  assert.equal(config.pidfile, '/tmp/exec/berthd.pid');
  assert.deepEqual(config.hosts, ['unix:///tmp/b.sock', 'tcp://127.0.0.1:2375']);
  assert.deepEqual(config.runtimes, { crun: { path: '/usr/bin/crun', runtimeArgs: ['--debug'] } });
  assert.equal(config.defaultRuntime, 'crun');
  assert.equal(config.logLevel, 'warn');
  assert.equal(config.maxConcurrentDownloads, 0);
  assert.equal(config.group, 'wheel');
  assert.equal(loadConfig({}, '{"pidfile": ""}', 'F').pidfile, '');
});

test('flags apply; relative roots become absolute', () => {
  const config = loadConfig(parseFlags(['--data-root', 'rel/data', '-D', '--label', 'x=1']), undefined, 'F');
  assert.equal(config.dataRoot, join(process.cwd(), 'rel/data'));
  assert.equal(config.debug, true);
  assert.deepEqual(config.labels, ['x=1']);
});

test('a key given as flag and in the file: dockerd error text', () => {
  assert.deepEqual(errorsOf(parseFlags(['--debug']), '{"debug": false}'), [
    'the following directives are specified both as a flag and in the configuration file: debug: (from flag: true, from file: false)',
  ]);
  assert.deepEqual(
    errorsOf(parseFlags(['-H', 'unix:///a.sock', '--data-root', '/x', '--label', 'a=1']), '{"hosts": ["unix:///b.sock"], "data-root": "/y", "labels": ["b=2"]}'),
    [
      // in flag-name order, as dockerd: --data-root, --host, --label
      'the following directives are specified both as a flag and in the configuration file: data-root: (from flag: /x, from file: /y), hosts: (from flag: [unix:///a.sock], from file: [unix:///b.sock]), labels: (from flag: [a=1], from file: [b=2])',
    ],
  );
});

test('--add-runtime merges with the file; one name in both is a conflict', () => {
  const config = loadConfig(parseFlags(['--add-runtime', 'crun=/usr/bin/crun']), '{"runtimes": {"gvisor": {"runtimeType": "io.containerd.runsc.v1"}}}', 'F');
  assert.deepEqual(config.runtimes, { gvisor: { runtimeType: 'io.containerd.runsc.v1' }, crun: { path: '/usr/bin/crun' } });
  assert.deepEqual(errorsOf(parseFlags(['--add-runtime', 'crun=/usr/bin/crun']), '{"runtimes": {"crun": {"path": "/opt/crun"}}}'), [
    'the following directives are specified both as a flag and in the configuration file: runtimes.crun: (from flag: /usr/bin/crun, from file: {"path":"/opt/crun"})',
  ]);
  assert.deepEqual(errorsOf(parseFlags(['--add-runtime', 'a=/x', '--add-runtime', 'a=/y']), undefined), [
    'runtime a is given more than once with --add-runtime',
  ]);
  assert.deepEqual(errorsOf(parseFlags(['--add-runtime', 'runc=/x', '--add-runtime', 'bad']), undefined), [
    "invalid --add-runtime value 'bad': expected NAME=PATH, e.g. --add-runtime crun=/usr/bin/crun",
    "runtime name 'runc' is reserved",
  ]);
  // --default-runtime may name a flag runtime
  assert.equal(loadConfig(parseFlags(['--add-runtime', 'a=/x', '--default-runtime', 'a']), undefined, 'F').defaultRuntime, 'a');
});

test('unknown keys are named', () => {
  assert.deepEqual(errorsOf({}, '{"debug": true, "runtime": {}, "insecure-registry": []}', '/etc/berth/daemon.json'), [
    'unknown configuration keys in /etc/berth/daemon.json: runtime, insecure-registry',
  ]);
});

test('types of values', () => {
  assert.deepEqual(
    errorsOf({}, '{"debug": "yes", "hosts": "unix:///x", "labels": [1], "log-level": "loud", "shutdown-timeout": -1, "max-concurrent-downloads": 1.5, "runtimes": [], "group": ""}'),
    [
      "invalid value for 'hosts' in F: must be array",
      "invalid value for 'runtimes' in F: must be object",
      "invalid value for 'debug' in F: must be boolean",
      "invalid value for 'log-level' in F: must be one of trace, debug, info, warn, error, fatal",
      "invalid value for 'labels[0]' in F: must be string",
      "invalid value for 'shutdown-timeout' in F: must be >= 0",
      "invalid value for 'max-concurrent-downloads' in F: must be integer",
      "invalid value for 'group' in F: must not be empty",
    ],
  );
});

test('empty roots are refused, never taken as the current directory', () => {
  assert.deepEqual(errorsOf(parseFlags(['--data-root', '', '--exec-root', '']), undefined), [
    '--data-root must not be empty',
    '--exec-root must not be empty',
  ]);
  assert.deepEqual(errorsOf({}, '{"data-root": "", "containerd-namespace": ""}'), [
    "invalid value for 'data-root' in F: must not be empty",
    "invalid value for 'containerd-namespace' in F: must not be empty",
  ]);
});

test('values that type-check but make no sense', () => {
  assert.deepEqual(
    errorsOf({}, '{"hosts": ["/x.sock", "unix://rel"], "labels": ["nokey", "=v"], "containerd-namespace": "a..b", "containerd": "localhost:1"}'),
    [
      "invalid host '/x.sock': use unix:///path/to/socket, tcp://HOST:PORT or fd://",
      "invalid host 'unix://rel': use unix:///path/to/socket, tcp://HOST:PORT or fd://",
      "invalid label 'nokey': labels must be key=value",
      "invalid label '=v': labels must be key=value",
      "invalid containerd-namespace 'a..b': use letters and digits, separated by single '.', '_' or '-'",
      "invalid containerd address 'localhost:1': give the absolute path of containerd's socket",
    ],
  );
});

test('runtime errors from the file come with every other error', () => {
  assert.deepEqual(errorsOf({}, '{"foo": 1, "runtimes": {"runc": {"path": "/x"}, "k": {"runtimeType": "io.containerd.runc.v2", "options": {"IoUid": -1}}}, "default-runtime": "nope"}'), [
    'unknown configuration keys in F: foo',
    "runtime name 'runc' is reserved",
    'runtime k: option IoUid: -1 is out of range (0 to 4294967295); accepted options: NoPivotRoot, NoNewKeyring, ShimCgroup, IoUid, IoGid, BinaryName, Root, SystemdCgroup, CriuImagePath, CriuWorkPath',
    "specified default runtime 'nope' does not exist",
  ]);
});

test('invalid JSON: the file, line and column', () => {
  const cases: [string, string][] = [
    ['{\n  "debug": true,\n}', 'invalid JSON in F at line 3, column 1: unexpected character "}": a double-quoted property name is expected'],
    ['{\n  "debug": tru\n}', 'invalid JSON in F at line 2, column 12: unexpected character "t": a value is expected'],
    ['{"a": 1', 'invalid JSON in F at line 1, column 8: unexpected end of input: \',\' or \'}\' is expected after a property value'],
    ['{"runtimes": {\n "x": {"path": "/a" "runtimeArgs": []}}}', 'invalid JSON in F at line 2, column 21: unexpected character "\\"": \',\' or \'}\' is expected after a property value'],
    ['{"a": "b\nc"}', 'invalid JSON in F at line 1, column 9: control character in string: write it escaped (e.g. \\n)'],
    ['{} {}', 'invalid JSON in F at line 1, column 4: unexpected character "{" after the end of the JSON value'],
    ["{'debug': true}", 'invalid JSON in F at line 1, column 2: unexpected character "\'": a double-quoted property name is expected'],
  ];
  for (const [text, message] of cases) assert.deepEqual(errorsOf({}, text), [message], text);
});

test('the JSON locator agrees with JSON.parse on mutated documents', () => {
  const base = JSON.stringify({ runtimes: { a: { path: '/x', runtimeArgs: ['a b', 'c\\d', '"q"'] } }, debug: true, n: -1.5e3, z: null }, null, 2);
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const alphabet = '{}[]":,\\ \n0123456789-+.eEtruefalsn\'x\t\u0001';
  for (let k = 0; k < 20000; k++) {
    let text = base;
    for (let m = 0; m <= rand(3); m++) {
      const at = rand(text.length + 1);
      const op = rand(3);
      const ch = alphabet[rand(alphabet.length)]!;
      text = op === 0 ? text.slice(0, at) + ch + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + 1);
    }
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    const located = findJsonSyntaxError(text);
    assert.equal(located === undefined, valid, text);
  }
});

test('an empty file, a BOM, and a top level that is not an object', () => {
  assert.equal(loadConfig({}, '', 'F').debug, false);
  assert.equal(loadConfig({}, ' \n', 'F').debug, false);
  assert.equal(loadConfig({}, '\ufeff{"debug": true}', 'F').debug, true);
  assert.deepEqual(errorsOf({}, '[]'), ['invalid configuration in F: the top level must be a JSON object']);
});

test('the configuration file: a missing default is fine, a missing explicit one is an error', async () => {
  const missing = join(dir, 'missing.json');
  assert.equal(await readConfigFile(missing, false), undefined);
  await assert.rejects(readConfigFile(missing, true), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `cannot read configuration file ${missing}: no such file or directory`);
    return true;
  });
  await assert.rejects(readDaemonConfig({ configFile: missing }), ConfigError);
  await assert.rejects(readConfigFile(dir, true), /is a directory/);
  const good = join(dir, 'good.json');
  writeFileSync(good, '{"debug": true}');
  const config = await readDaemonConfig({ configFile: good });
  assert.equal(config.debug, true);
  assert.equal(config.configFile, good);
});

test('log-driver and log-opts come from the file or the flags, and are checked with the driver rules', () => {
  const c = loadConfig({}, '{"log-driver":"local","log-opts":{"max-size":"1m"}}', 'F');
  assert.equal(c.logDriver, 'local');
  assert.deepEqual(c.logOpts, { 'max-size': '1m' });
  const f = loadConfig({ logDriver: 'json-file', logOpts: ['max-size=10k', 'max-file=3'] }, undefined, 'F');
  assert.deepEqual(f.logOpts, { 'max-size': '10k', 'max-file': '3' });
  assert.deepEqual(errorsOf({}, '{"log-driver":"syslog"}'), ["invalid log configuration: logger: no log driver named 'syslog' is registered"]);
  assert.deepEqual(errorsOf({}, '{"log-opts":{"max-file":"0"}}'), ['invalid log configuration: max-file cannot be less than 1']);
  assert.deepEqual(errorsOf({}, '{"log-opts":{"bogus":"1"}}'), ["invalid log configuration: unknown log opt 'bogus' for json-file log driver"]);
  assert.equal(errorsOf({}, '{"log-opts":{"max-size":1}}').length, 1);
});

test('networking keys: icc=false needs iptables, as dockerd says; cni-plugin-dirs are absolute paths', () => {
  assert.deepEqual(errorsOf({}, '{"icc": false, "iptables": false}'), [
    'You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true.',
  ]);
  assert.equal(loadConfig({}, '{"icc": false}', 'F').icc, false);
  assert.deepEqual(loadConfig({}, '{"cni-plugin-dirs": ["/opt/cni/bin"]}', 'F').cniPluginDirs, ['/opt/cni/bin']);
  assert.deepEqual(errorsOf({}, '{"cni-plugin-dirs": ["cni"]}'), ["invalid cni-plugin-dirs entry 'cni': use an absolute path"]);
});
