// berthd: the daemon's command line. Parses flags, validates, runs the
// daemon or its `reload` subcommand, and maps signals to reload/shutdown.
import { buildCommand, flagsFromCommand, validateConfigFile, ConfigStore, isConfigError, effectiveLogLevel, readDaemonConfig, DEFAULTS, type DaemonFlags } from '../config/index.js';
import { startDaemon } from '../daemon/index.js';
import { createLogger } from '../log/index.js';
import { messageOf } from '../errors/index.js';
import { BERTH_VERSION, versionReport } from './version.js';
import { runReload } from './reload.js';

function fail(lines: readonly string[], code = 1): never {
  for (const line of lines) process.stderr.write(`berthd: ${line}\n`);
  process.exit(code);
}

async function validate(flags: DaemonFlags): Promise<never> {
  const report = await validateConfigFile(undefined, flags);
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  if (!report.ok) fail(report.errors);
  process.stdout.write('configuration OK\n');
  process.exit(0);
}

async function reloadHost(flags: DaemonFlags): Promise<string> {
  if (flags.hosts !== undefined && flags.hosts.length > 0) return flags.hosts[0]!;
  try {
    const config = await readDaemonConfig(flags);
    return config.hosts.find((h) => h.startsWith('unix://')) ?? DEFAULTS.host;
  } catch {
    return DEFAULTS.host;
  }
}

async function runDaemon(flags: DaemonFlags): Promise<void> {
  const logger = createLogger('info');
  let store: ConfigStore;
  try {
    store = await ConfigStore.open(flags, { logger });
  } catch (err) {
    fail(isConfigError(err) ? err.errors : [messageOf(err)]);
  }
  logger.level = effectiveLogLevel(store.current().config);

  let daemon;
  try {
    daemon = await startDaemon({ store, logger, version: BERTH_VERSION });
  } catch (err) {
    logger.fatal({ err: messageOf(err) }, 'berthd failed to start');
    logger.flush();
    fail([messageOf(err)]);
  }

  process.on('SIGHUP', () => {
    void daemon.reload();
  });
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (++signals > 2) {
      logger.warn('forced exit');
      process.exit(1);
    }
    void daemon.shutdown(signal).then(() => {
      logger.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: messageOf(err), stack: err.stack }, 'unexpected error');
  });
  process.on('unhandledRejection', (err) => {
    logger.error({ err: messageOf(err) }, 'unhandled rejection');
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const cmd = buildCommand({ version: args.includes('-v') || args.includes('--version') ? versionReport() : BERTH_VERSION });
  cmd
    .command('reload')
    .description('reload the running berthd\'s configuration and wait for the outcome')
    .option('-H, --host <address>', `berthd's API socket (default: the first unix host of the configuration, else ${DEFAULTS.host})`)
    .option('--timeout <seconds>', 'give up after this many seconds (default: 60)', '60')
    .action(async (opts: { host?: string; timeout: string }) => {
      const flags = flagsFromCommand(cmd, process.env);
      const host = opts.host ?? (await reloadHost(flags));
      const result = await runReload(host, Number(opts.timeout) * 1000);
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exit(result.exitCode);
    });
  cmd.action(async () => {
    const flags = flagsFromCommand(cmd, process.env);
    if (flags.validate === true) await validate(flags);
    await runDaemon(flags);
  });
  await cmd.parseAsync(process.argv);
}

void main();
