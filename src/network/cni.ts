// A CNI runtime after the spec (v1.0): runs a network configuration list's
// plugins in order on ADD, each given the previous one's result, keeps the
// final result in its own cache, and runs DEL in reverse order with that
// cached result. Knows nothing of Docker.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomicfile/index.js';
import { BerthError, internal, notFound } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Conflist, PluginConf } from './conflist.js';

export interface CniInvocation {
  containerId: string;
  /** path of the network namespace */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs (IgnoreUnknown is always set) */
  args?: Record<string, string>;
  /** runtimeConfig values, passed to the plugins that declare the capability */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  config: string;
  ifName: string;
  networkName: string;
  cniArgs: Record<string, string>;
  capabilityArgs: Record<string, unknown>;
  netns: string;
  result: CniResult | null;
}

/** A plugin's error answer, with the CNI code it gave. */
export class CniError extends BerthError {
  constructor(
    readonly plugin: string,
    readonly code: number,
    message: string,
  ) {
    super('internal', `plugin type="${plugin}" failed (${code}): ${message}`);
  }
}

const PLUGIN_TIMEOUT_MS = 60_000;

export class CniRuntime {
  constructor(
    private readonly pluginDirs: readonly string[],
    private readonly cacheDir: string,
    private readonly log?: Logger,
  ) {}

  /**
   * Where a plugin binary is; a missing one is dockerd's answer to a network
   * driver plugin it cannot find (404), naming the package to install.
   */
  findPlugin(type: string): string {
    for (const dir of this.pluginDirs) {
      const p = join(dir, type);
      if (existsSync(p)) return p;
    }
    throw notFound(
      `CNI plugin ${type} not found in ${this.pluginDirs.join(':')}: install the Debian package containernetworking-plugins (apt-get install containernetworking-plugins)`,
    );
  }

  /** Checks, before anything is made, that every plugin of the lists (and the IPAM plugin the bridge runs) is there. */
  requirePlugins(lists: readonly Conflist[]): void {
    for (const list of lists) {
      for (const plugin of list.plugins) {
        this.findPlugin(plugin.type);
        const ipam = plugin.ipam as { type?: unknown } | undefined;
        if (typeof ipam?.type === 'string') this.findPlugin(ipam.type);
      }
    }
  }

  private cachePath(network: string, containerId: string, ifName: string): string {
    return join(this.cacheDir, `${network}-${containerId}-${ifName}`);
  }

  private exec(plugin: PluginConf, command: 'ADD' | 'DEL' | 'CHECK', inv: CniInvocation, stdin: string): Promise<string> {
    const bin = this.findPlugin(plugin.type);
    const cniArgs = Object.entries({ IgnoreUnknown: '1', ...(inv.args ?? {}) })
      .map(([k, v]) => `${k}=${v}`)
      .join(';');
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(bin, [], {
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          CNI_COMMAND: command,
          CNI_CONTAINERID: inv.containerId,
          CNI_NETNS: inv.netns,
          CNI_IFNAME: inv.ifName,
          CNI_ARGS: cniArgs,
          CNI_PATH: this.pluginDirs.join(':'),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: PLUGIN_TIMEOUT_MS,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => reject(internal(`cannot run CNI plugin ${plugin.type}: ${e.message}`, e)));
      child.on('close', (code) => {
        this.log?.debug({ plugin: plugin.type, command, ifName: inv.ifName, container: inv.containerId, ms: Math.round(performance.now() - started), code }, 'CNI plugin run');
        const stdout = Buffer.concat(out).toString();
        if (code === 0) return resolve(stdout);
        let msg = Buffer.concat(err).toString().trim() || `exit status ${code}`;
        let cniCode = code ?? -1;
        try {
          const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
          cniCode = e.code ?? cniCode;
          msg = [e.msg, e.details].filter((x) => x !== undefined && x !== '').join(': ') || msg;
        } catch {
          // not a CNI error document: keep stderr
        }
        reject(new CniError(plugin.type, cniCode, msg));
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
  }

  /** The configuration one plugin of the list receives. */
  private pluginConfig(list: Conflist, plugin: PluginConf, inv: CniInvocation, prevResult: CniResult | null): string {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    delete conf.capabilities;
    if (plugin.capabilities !== undefined) conf.capabilities = plugin.capabilities;
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
      if (on && inv.capabilityArgs?.[cap] !== undefined) runtimeConfig[cap] = inv.capabilityArgs[cap];
    }
    if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    if (prevResult !== null) conf.prevResult = prevResult;
    return JSON.stringify(conf);
  }

  /**
   * ADD through the list. A plugin that fails makes the runtime DEL what the
   * earlier ones did (in reverse), so a half-made attachment leaves nothing.
   */
  async add(list: Conflist, inv: CniInvocation): Promise<CniResult> {
    let prev: CniResult | null = null;
    const entry: CacheEntry = {
      kind: 'cniCacheV1',
      containerId: inv.containerId,
      config: Buffer.from(JSON.stringify(list)).toString('base64'),
      ifName: inv.ifName,
      networkName: list.name,
      cniArgs: inv.args ?? {},
      capabilityArgs: inv.capabilityArgs ?? {},
      netns: inv.netns,
      result: null,
    };
    // Cached before the first plugin runs: a crash in the middle still leaves a record to DEL from.
    // Not flushed to disk: the cache is runtime state, like the namespaces it names.
    await mkdir(this.cacheDir, { recursive: true });
    const path = this.cachePath(list.name, inv.containerId, inv.ifName);
    await writeFileAtomic(path, JSON.stringify(entry), { durable: false });
    try {
      for (const plugin of list.plugins) {
        const out = await this.exec(plugin, 'ADD', inv, this.pluginConfig(list, plugin, inv, prev));
        prev = JSON.parse(out) as CniResult;
      }
    } catch (err) {
      entry.result = prev;
      await this.runDel(list, inv, prev).catch(() => undefined);
      await rm(path, { force: true });
      throw err;
    }
    entry.result = prev;
    await writeFileAtomic(path, JSON.stringify(entry), { durable: false });
    return prev ?? {};
  }

  /**
   * DEL through every plugin of the list. They run side by side rather than
   * in reverse one by one: each undoes only its own part (firewall and
   * portmap their rules, bridge the veth, masquerade and lease), all of it
   * named in the cached result, and a DEL tolerates what is already gone.
   */
  private async runDel(list: Conflist, inv: CniInvocation, result: CniResult | null): Promise<void> {
    const settled = await Promise.allSettled([...list.plugins].reverse().map((plugin) => this.exec(plugin, 'DEL', inv, this.pluginConfig(list, plugin, inv, result))));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** DEL from the cached ADD (its config, args and result); nothing cached means nothing to undo. */
  async del(network: string, containerId: string, ifName: string): Promise<void> {
    const path = this.cachePath(network, containerId, ifName);
    let entry: CacheEntry;
    try {
      entry = JSON.parse(await readFile(path, 'utf8')) as CacheEntry;
    } catch {
      return;
    }
    const list = JSON.parse(Buffer.from(entry.config, 'base64').toString()) as Conflist;
    const inv: CniInvocation = {
      containerId,
      netns: existsSync(entry.netns) ? entry.netns : '',
      ifName,
      args: entry.cniArgs,
      capabilityArgs: entry.capabilityArgs,
    };
    await this.runDel(list, inv, entry.result);
    await rm(path, { force: true });
  }

  /** Every cached attachment (of one container when given): (network, container, interface). */
  async cached(containerId?: string): Promise<Array<{ network: string; containerId: string; ifName: string }>> {
    let names: string[];
    try {
      names = await readdir(this.cacheDir);
    } catch {
      return [];
    }
    const out: Array<{ network: string; containerId: string; ifName: string }> = [];
    for (const name of names) {
      if (name.startsWith('.') || (containerId !== undefined && !name.includes(`-${containerId}-`))) continue;
      try {
        const e = JSON.parse(await readFile(join(this.cacheDir, name), 'utf8')) as CacheEntry;
        out.push({ network: e.networkName, containerId: e.containerId, ifName: e.ifName });
      } catch {
        await rm(join(this.cacheDir, name), { force: true });
      }
    }
    return out;
  }
}
