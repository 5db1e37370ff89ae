// Network state on disk, as plain JSON: network definitions and container
// attachments under <data-root>/network (they survive a reboot), sandboxes
// (namespace, endpoints, held ports) under <exec-root>/network (they do not).
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomicfile/index.js';
import type { ContainerNetworks, NetworkRecord, SandboxRecord } from './types.js';

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function ids(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -5));
  } catch {
    return [];
  }
}

export class NetworkStore {
  readonly networksDir: string;
  readonly containersDir: string;
  readonly sandboxesDir: string;
  readonly netnsDir: string;
  readonly ipamDir: string;
  readonly cniCacheDir: string;

  constructor(dataRoot: string, execRoot: string) {
    this.networksDir = join(dataRoot, 'network', 'networks');
    this.containersDir = join(dataRoot, 'network', 'containers');
    this.sandboxesDir = join(execRoot, 'network', 'sandboxes');
    this.netnsDir = join(execRoot, 'network', 'netns');
    this.ipamDir = join(execRoot, 'network', 'ipam');
    this.cniCacheDir = join(execRoot, 'network', 'cni-cache');
  }

  async init(): Promise<void> {
    for (const d of [this.networksDir, this.containersDir, this.sandboxesDir, this.netnsDir, this.ipamDir]) await mkdir(d, { recursive: true });
  }

  netnsPath(containerId: string): string {
    return join(this.netnsDir, containerId);
  }

  async loadNetworks(): Promise<NetworkRecord[]> {
    return [...(await loadRecords<NetworkRecord>(this.networksDir)).values()];
  }

  saveNetwork(n: NetworkRecord): Promise<void> {
    return writeFileAtomic(join(this.networksDir, `${n.Id}.json`), JSON.stringify(n, null, 1), { mode: 0o600 });
  }

  removeNetwork(id: string): Promise<void> {
    return rm(join(this.networksDir, `${id}.json`), { force: true });
  }

  loadContainers(): Promise<Map<string, ContainerNetworks>> {
    return loadRecords<ContainerNetworks>(this.containersDir);
  }

  saveContainer(id: string, c: ContainerNetworks): Promise<void> {
    return writeFileAtomic(join(this.containersDir, `${id}.json`), JSON.stringify(c), { mode: 0o600 });
  }

  removeContainer(id: string): Promise<void> {
    return rm(join(this.containersDir, `${id}.json`), { force: true });
  }

  loadSandboxes(): Promise<Map<string, SandboxRecord>> {
    return loadRecords<SandboxRecord>(this.sandboxesDir);
  }

  saveSandbox(id: string, s: SandboxRecord): Promise<void> {
    // Runtime state under the exec root: it only has to outlive berthd, not a reboot.
    return writeFileAtomic(join(this.sandboxesDir, `${id}.json`), JSON.stringify(s), { mode: 0o600, durable: false });
  }

  removeSandbox(id: string): Promise<void> {
    return rm(join(this.sandboxesDir, `${id}.json`), { force: true });
  }
}

/** Every `<id>.json` record of a folder that could be read, by id. */
async function loadRecords<T>(dir: string): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const id of await ids(dir)) {
    const record = await readJson<T>(join(dir, `${id}.json`));
    if (record !== undefined) out.set(id, record);
  }
  return out;
}
