// Counting and removing what berth's networking puts on the host, for the
// network tests: veths, namespace files, IPAM leases, iptables lines, the
// bridges and chains of one test root. Cleanup runs even when a test failed.
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootTag } from '../../src/network/index.js';
import { sleep } from './berthd.js';

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** The bridge devices of a test root's networks. */
export function rootBridges(dataRoot: string): string[] {
  const bridges: string[] = [];
  const ndir = join(dataRoot, 'network', 'networks');
  for (const f of existsSync(ndir) ? readdirSync(ndir) : []) {
    try {
      const n = JSON.parse(readFileSync(join(ndir, f), 'utf8')) as { bridge?: string };
      if (n.bridge !== undefined) bridges.push(n.bridge);
    } catch {
      /* half-written */
    }
  }
  return bridges;
}

/** veths on a root's bridges (other tests running at the same time have their own). */
export function vethCount(dataRoot: string): number {
  const masters = new Set(rootBridges(dataRoot));
  return sh('ip', ['-o', 'link', 'show', 'type', 'veth'])
    .split('\n')
    .filter((l) => [...masters].some((m) => l.includes(` master ${m} `))).length;
}

export function iptablesLines(needle: string): number {
  return sh('iptables-save', []).split('\n').filter((l) => l.includes(needle)).length;
}

export function netnsFiles(execRoot: string): string[] {
  const dir = join(execRoot, 'network', 'netns');
  return existsSync(dir) ? readdirSync(dir) : [];
}

export function leaseFiles(execRoot: string, containerId?: string): string[] {
  const dir = join(execRoot, 'network', 'ipam');
  const out: string[] = [];
  for (const net of existsSync(dir) ? readdirSync(dir) : []) {
    for (const f of readdirSync(join(dir, net))) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(f)) continue;
      const owner = readFileSync(join(dir, net, f), 'utf8').split(/\r?\n/)[0] ?? '';
      if (containerId === undefined || owner === containerId) out.push(`${net}/${f}`);
    }
  }
  return out;
}

export interface NetCounts {
  veths: number;
  netns: number;
  leases: number;
}

export function counts(root: { dataRoot: string; execRoot: string }): NetCounts {
  return { veths: vethCount(root.dataRoot), netns: netnsFiles(root.execRoot).length, leases: leaseFiles(root.execRoot).length };
}

/** Everything one container left: the numbers the teardown checks compare. */
export function leftoversOf(execRoot: string, id: string): { iptables: number; leases: number; netns: boolean } {
  return { iptables: iptablesLines(id), leases: leaseFiles(execRoot, id).length, netns: netnsFiles(execRoot).includes(id) };
}

const SHARED_CHAINS: Array<[string, string, string[]]> = [
  ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']],
  ['nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']],
  ['nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ']],
  ['filter', 'FORWARD', ['-m', 'comment', '--comment', 'CNI firewall plugin rules (ingressPolicy: same-bridge)', '-j', 'CNI-ISOLATION-STAGE-1']],
  ['filter', 'FORWARD', ['-m', 'comment', '--comment', 'CNI firewall plugin rules', '-j', 'CNI-FORWARD']],
];

/** The plugins' shared chains, once nothing of any container is left in them (another test root may still use them). */
/**
 * The plugins' chains shared by every root, once no container rule is left in
 * them: run when the whole suite ends, since per test another root's berthd
 * may be filling them at that moment.
 */
export function removeSharedCniChains(): void {
  const save = sh('iptables-save', []);
  const perContainer = save.split('\n').filter((l) => l.startsWith('-A') && /id: \\?"[0-9a-f]{64}\\?"|-A CNI-FORWARD -(s|d) /.test(l));
  const isolation = save.split('\n').filter((l) => l.startsWith('-A CNI-ISOLATION-STAGE-1 -i'));
  if (perContainer.length > 0 || isolation.length > 0) return;
  for (const [table, chain, rule] of SHARED_CHAINS) sh('iptables', ['-w', '-t', table, '-D', chain, ...rule]);
  for (const [table, chain] of [
    ['nat', 'CNI-HOSTPORT-DNAT'], ['nat', 'CNI-HOSTPORT-MASQ'], ['nat', 'CNI-HOSTPORT-SETMARK'],
    ['filter', 'CNI-FORWARD'], ['filter', 'CNI-ADMIN'], ['filter', 'CNI-ISOLATION-STAGE-1'], ['filter', 'CNI-ISOLATION-STAGE-2'],
  ] as const) {
    sh('iptables', ['-w', '-t', table, '-F', chain]);
    sh('iptables', ['-w', '-t', table, '-X', chain]);
  }
}

/** Deletes rules (any table) whose text matches. */
function deleteRulesMatching(test: (line: string) => boolean): void {
  for (const table of ['filter', 'nat', 'mangle', 'raw']) {
    for (const line of sh('iptables', ['-w', '-t', table, '-S']).split('\n')) {
      if (!line.startsWith('-A ') || !test(line)) continue;
      // iptables -S quotes comments; re-split honouring the quotes.
      const args = (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((a) => (a.startsWith('"') ? a.slice(1, -1).replace(/\\"/g, '"') : a));
      args[0] = '-D';
      sh('iptables', ['-w', '-t', table, ...args]);
    }
  }
}

/**
 * Removes what a test root's berthd made on the host: rules naming its
 * containers and their chains, its bridges with their isolation rules, its
 * localhost guard and its forwarding chains (the plugins' shared chains go at
 * the end of the suite).
 */
export function cleanupHostNetwork(dataRoot: string): void {
  const ids = new Set<string>();
  const cdir = join(dataRoot, 'network', 'containers');
  for (const f of existsSync(cdir) ? readdirSync(cdir) : []) ids.add(f.replace(/\.json$/, ''));
  const bridges = rootBridges(dataRoot);
  // Per-container chains of this root only, found by the container ids their
  // rules name before those rules go: another root's berthd may be between
  // making a chain and jumping to it, and its chain must stay.
  const ownChains: Array<[string, string]> = [];
  for (const table of ['nat', 'filter']) {
    const seen = new Set<string>();
    for (const line of sh('iptables', ['-w', '-t', table, '-S']).split('\n')) {
      const m = /^-A (CNI-(?:DN-)?[0-9a-f]{16,}) /.exec(line);
      if (m !== null && !seen.has(m[1]!) && [...ids].some((id) => line.includes(id))) {
        seen.add(m[1]!);
        ownChains.push([table, m[1]!]);
      }
    }
  }
  if (ids.size > 0) deleteRulesMatching((l) => [...ids].some((id) => l.includes(id)));
  for (const b of bridges) {
    deleteRulesMatching((l) => new RegExp(`-[io] ${b.replace(/\./g, '\\.')}( |$)`).test(l));
    sh('ip', ['link', 'del', 'dev', b]);
  }
  for (const [table, hook, chain] of [
    ['raw', 'PREROUTING', `BERTH-LOCAL-${rootTag(dataRoot)}`],
    ['filter', 'FORWARD', `BERTH-ISOLATION-${rootTag(dataRoot)}`],
    ['filter', 'FORWARD', `BERTH-FORWARD-${rootTag(dataRoot)}`],
  ] as const) {
    sh('iptables', ['-w', '-t', table, '-D', hook, '-j', chain]);
    sh('iptables', ['-w', '-t', table, '-F', chain]);
    sh('iptables', ['-w', '-t', table, '-X', chain]);
  }
  for (const [table, chain] of ownChains) {
    const s = sh('iptables', ['-w', '-t', table, '-S']);
    if (new RegExp(`-j ${chain}\\b`).test(s)) continue;
    sh('iptables', ['-w', '-t', table, '-F', chain]);
    sh('iptables', ['-w', '-t', table, '-X', chain]);
  }
}

/** GET http://127.0.0.1:port/path → body, retried until the server answers. */
export async function httpGet(port: number, timeoutMs = 10_000, path = '/'): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
