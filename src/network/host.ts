// The host side of networking that no CNI plugin does: namespace files,
// bridge devices with their gateway address, sysctls, berth's forwarding
// chains, and removal of iptables rules that name a container or a bridge.
// Runs `ip`, `iptables`, `iptables-restore`, `unshare` and `umount` from
// Debian.
import { execFile } from 'node:child_process';
import { access, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { internal, unavailable } from '../errors/index.js';
import { Batcher } from './batch.js';
import { jumpFixes, restoreInput, type FilterChains, type FilterPlan } from './filter.js';

const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin`;

export function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, PATH }, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      const e = err as { code?: unknown; message: string };
      if (e.code === 'ENOENT') {
        const pkg = cmd === 'ip' ? 'iproute2' : cmd.startsWith('iptables') ? 'iptables' : 'util-linux';
        return reject(unavailable(`${cmd} not found: install the Debian package ${pkg}`));
      }
      reject(internal(`${cmd} ${args.join(' ')}: ${stderr.trim() || e.message}`, err));
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/**
 * A persistent network namespace bound on a file (as `ip netns add` does,
 * but under berth's exec root), its loopback up: `ip` runs inside the new
 * namespace, so one process does both.
 */
export async function createNetns(path: string): Promise<void> {
  await netnsFile(path);
  await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'dev', 'lo', 'up']);
}

/** The empty file a namespace is bound on. */
export async function netnsFile(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '', { flag: 'a', mode: 0o600 });
}

// Namespaces of containers stopping together are unmounted by one umount.
const unmounts = new Batcher<string>(async (paths) => {
  await run('umount', ['-l', ...paths]);
});

export async function deleteNetns(path: string): Promise<void> {
  await unmounts.add(path);
  await rm(path, { force: true });
}

/** The mount points of namespace files under a folder (to find leftovers). */
export async function boundNetns(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const mountPoint = f[4];
    if (mountPoint !== undefined && mountPoint.startsWith(`${dir}/`) && line.includes(' nsfs ')) out.push(mountPoint);
  }
  return out;
}

/** Whether a device of berthd's namespace exists (sysfs: no `ip` to run on every start). */
export async function linkExists(name: string): Promise<boolean> {
  if (name === '' || name.includes('/') || name === '.' || name === '..') return false;
  return access(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

/** A bridge device up with its gateway address (idempotent). */
export async function ensureBridge(name: string, gatewayCidr: string, mtu: number): Promise<void> {
  if (!(await linkExists(name))) {
    await run('ip', ['link', 'add', 'name', name, 'type', 'bridge']).catch(async (err: unknown) => {
      if (!(await linkExists(name))) throw err;
    });
  }
  if (mtu > 0) await run('ip', ['link', 'set', 'dev', name, 'mtu', String(mtu)]);
  await run('ip', ['addr', 'replace', gatewayCidr, 'dev', name]);
  await run('ip', ['link', 'set', 'dev', name, 'up']);
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await run('ip', ['link', 'del', 'dev', name]).catch(() => undefined);
}

const HOST_LOCK = '/run/lock/berth-network.lock';
const STALE_LOCK_MS = 15_000;

/**
 * Runs fn holding a host-wide lock, so that two berthds choosing a subnet at
 * the same moment cannot both take the same one: the choice and the bridge
 * (whose route the other then sees) happen under it.
 */
export async function withHostLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir('/run/lock', { recursive: true });
  for (;;) {
    try {
      const fh = await open(HOST_LOCK, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await stat(HOST_LOCK).catch(() => undefined);
      if (st !== undefined && Date.now() - st.mtimeMs > STALE_LOCK_MS) await rm(HOST_LOCK, { force: true });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(HOST_LOCK, { force: true });
  }
}

export async function hostRoutes(): Promise<string> {
  return run('ip', ['-4', 'route', 'show', 'table', 'all']).catch(() => '');
}

export async function writeSysctl(key: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/${key.replace(/\./g, '/')}`, value);
}

export async function readSysctl(key: string): Promise<string> {
  return (await readFile(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8')).trim();
}

const TABLES = ['filter', 'nat', 'mangle', 'raw'] as const;

/** Splits an `iptables -S` line into arguments, honouring double quotes. */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && quoted && i + 1 < line.length) {
      cur += line[++i];
    } else if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (ch === ' ' && !quoted) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
    }
  }
  if (has || cur !== '') out.push(cur);
  return out;
}

/**
 * Deletes every rule of every table that `match` selects, then flushes and
 * deletes the per-container chains those rules jumped to (CNI-<hash>,
 * CNI-DN-<hash>). Returns the number of rules removed.
 */
export async function deleteRules(match: (rule: string) => boolean): Promise<number> {
  let removed = 0;
  for (const table of TABLES) {
    const text = await run('iptables', ['-w', '-t', table, '-S']).catch(() => '');
    const chains = new Set<string>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('-A ') || !match(line)) continue;
      const args = splitRule(line);
      const j = args.indexOf('-j');
      const target = j >= 0 ? args[j + 1] : undefined;
      if (target !== undefined && /^CNI-(DN-)?[0-9a-f]{16,}$/.test(target)) chains.add(target);
      args[0] = '-D';
      await run('iptables', ['-w', '-t', table, ...args]).then(
        () => removed++,
        () => undefined,
      );
    }
    for (const chain of chains) {
      await run('iptables', ['-w', '-t', table, '-F', chain]).catch(() => undefined);
      await run('iptables', ['-w', '-t', table, '-X', chain]).catch(() => undefined);
    }
  }
  return removed;
}

/** Rules that name a container (the comments the CNI plugins write). */
export function namesContainer(id: string): (rule: string) => boolean {
  return (rule) => rule.includes(`id: \\"${id}\\"`) || rule.includes(`id: "${id}"`);
}

/** Rules about a bridge device (berth's forwarding rules; the isolation rules of older berth versions' firewall plugin). */
export function namesDevice(dev: string): (rule: string) => boolean {
  const re = new RegExp(`(^| )-[io] ${dev.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`);
  return (rule) => re.test(rule);
}

/**
 * berth's raw-table guard for route_localnet (which portmap turns on for
 * bridges publishing on 127.0.0.1): nothing that arrives from another
 * interface may reach 127.0.0.0/8, so a port published on 127.0.0.1 is
 * reachable from this host only.
 */
export async function ensureLocalhostGuard(chain: string): Promise<void> {
  const t = ['-w', '-t', 'raw'];
  await run('iptables', [...t, '-N', chain]).catch(() => undefined);
  await run('iptables', [...t, '-F', chain]);
  await run('iptables', [...t, '-A', chain, '-d', '127.0.0.0/8', '!', '-i', 'lo', '-j', 'DROP']);
  const present = await run('iptables', [...t, '-C', 'PREROUTING', '-j', chain]).then(
    () => true,
    () => false,
  );
  if (!present) await run('iptables', [...t, '-I', 'PREROUTING', '-j', chain]);
}

/** Unhooks one of berth's chains from a built-in chain of `table`, then empties and deletes it; whatever is already gone is fine. */
async function removeHookedChain(table: string, hook: string, chain: string): Promise<void> {
  const t = ['-w', '-t', table];
  await run('iptables', [...t, '-D', hook, '-j', chain]).catch(() => undefined);
  await run('iptables', [...t, '-F', chain]).catch(() => undefined);
  await run('iptables', [...t, '-X', chain]).catch(() => undefined);
}

export function removeLocalhostGuard(chain: string): Promise<void> {
  return removeHookedChain('raw', 'PREROUTING', chain);
}

/**
 * berth's forwarding rules (see filter.ts): both chains rewritten in one
 * iptables-restore transaction, then the jumps from FORWARD put where they
 * belong.
 */
export async function applyFilter(chains: FilterChains, plan: FilterPlan): Promise<void> {
  await run('iptables-restore', ['-w', '--noflush'], restoreInput(chains, plan));
  const rules = (await run('iptables', ['-w', '-S', 'FORWARD'])).split('\n').filter((l) => l.startsWith('-A '));
  const fix = jumpFixes(rules, chains);
  for (const r of fix.remove) await run('iptables', ['-w', '-D', 'FORWARD', ...r]).catch(() => undefined);
  if (fix.insertIsolation) await run('iptables', ['-w', '-I', 'FORWARD', '1', '-j', chains.isolation]);
  if (fix.appendForward) await run('iptables', ['-w', '-A', 'FORWARD', '-j', chains.forward]);
}

export async function removeFilter(chains: FilterChains): Promise<void> {
  for (const chain of [chains.isolation, chains.forward]) await removeHookedChain('filter', 'FORWARD', chain);
}
