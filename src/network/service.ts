// The network service: networks (create, list, inspect, remove, connect,
// disconnect, prune) and each container's sandbox — its namespace, its
// endpoints on berth's bridges through the CNI plugins, and its published
// ports. The container service only asks it to set a sandbox up or tear it
// down; it never runs a plugin itself.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { conflict, forbidden, invalidParameter, isKind, messageOf, notFound } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { CniRuntime, type CniResult } from './cni.js';
import { bridgeConflist, iccEnabled, type Conflist } from './conflist.js';
import { filterPlan, type FilterChains } from './filter.js';
import * as host from './host.js';
import { chooseSubnet, contains, firstHost, formatCidr, formatIPv4, overlaps, parseCidr, parseIPv4, routeSubnets, usableIn, type Subnet } from './ipam.js';
import { listPorts, planPorts, portKeys, portsView, type ListPort, type PortBinding, type PublishedPort } from './ports.js';
import { PortReservations } from './reserve.js';
import { NetworkStore } from './store.js';
import { EmbeddedDns, parseUpstream, resolvConfServers, RESOLVER_IP, type Upstream } from './dns.js';
import type { AttachRequest, ContainerFacts, ContainerNetworks, Endpoint, NetworkRecord, NetworkSettings, SandboxRecord } from './types.js';

export const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

export interface NetworkServiceDeps {
  dataRoot: string;
  execRoot: string;
  logger: Logger;
  events: EventBus;
  settings: NetworkSettings;
  pluginDirs?: readonly string[];
}

/** A running container as the network routes need it (connect, disconnect). */
export interface ContainerRef {
  id: string;
  name: string;
  running: boolean;
  facts: ContainerFacts;
  etc: EtcFiles;
}

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

/** What a start gets from setUp. */
export interface SandboxSetup {
  /** the namespace the task joins; undefined for the host's network */
  netnsPath?: string;
  /**
   * settles when every endpoint is made (the task may be created meanwhile,
   * not started): the lines for the container's /etc/hosts after the
   * localhost ones; rejected when the set-up failed and was undone
   */
  ready: Promise<string[]>;
  /** the files of the container whose namespace this one joined (container:NAME) */
  joinedEtc?: EtcFiles;
  /** that container's host and domain name, which the joiner takes as dockerd does */
  joinedNames?: { hostname: string; domainname: string };
  /** the name servers of its resolv.conf (127.0.0.11 on user-defined networks); undefined: the host's */
  nameservers?: string[];
}

export interface EndpointConfigBody {
  IPAMConfig?: { IPv4Address?: string } | null;
  Aliases?: string[] | null;
  MacAddress?: string;
}

const BUILTIN = { bridge: 'bridge', host: 'host', none: 'none' } as const;
const PREDEFINED = new Set<string>(Object.values(BUILTIN));

function nowRfc3339(): string {
  return new Date().toISOString().replace('Z', '000000Z');
}

function newId(): string {
  return randomBytes(32).toString('hex');
}

/** A short tag of a root folder, so that two berthds name their host objects apart. */
export function rootTag(dataRoot: string): string {
  return createHash('sha256').update(dataRoot).digest('hex').slice(0, 8);
}

export class NetworkService {
  private readonly store: NetworkStore;
  private readonly cni: CniRuntime;
  private readonly ports = new PortReservations();
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly attachments = new Map<string, ContainerNetworks>();
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly busy = new Map<string, Promise<unknown>>();
  /** the last rewrite of the forwarding chains, so the next waits for it */
  private filterWrite: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private readonly tag: string;
  private readonly dns: EmbeddedDns;
  private hostServers: string[] = [];
  private lookup: (ref: string) => ContainerRef = (ref) => {
    throw notFound(`No such container: ${ref}`);
  };

  constructor(private readonly deps: NetworkServiceDeps) {
    this.store = new NetworkStore(deps.dataRoot, deps.execRoot);
    this.cni = new CniRuntime(deps.pluginDirs ?? DEFAULT_PLUGIN_DIRS, this.store.cniCacheDir, deps.logger);
    this.log = deps.logger;
    this.tag = rootTag(deps.dataRoot);
    this.dns = new EmbeddedDns(
      { lookup: (id, name) => this.lookupName(id, name), upstreams: (id) => this.upstreams(id), reverse: (id, ip) => this.reverseName(id, ip) },
      deps.logger,
    );
  }

  private isUserDefined(networkId: string): boolean {
    const n = this.networks.get(networkId);
    return n !== undefined && n.Driver === 'bridge' && n.isDefault !== true;
  }

  /** The addresses a name has on the user-defined networks the asking container is on. */
  private lookupName(askingId: string, name: string): string[] | undefined {
    const own = this.sandboxes.get(askingId);
    if (own === undefined) return undefined;
    const nets = new Set(own.endpoints.filter((e) => this.isUserDefined(e.networkId)).map((e) => e.networkId));
    const ips: string[] = [];
    let known = false;
    for (const [id, sb] of this.sandboxes) {
      const att = this.attachments.get(id);
      for (const ep of sb.endpoints) {
        if (!nets.has(ep.networkId)) continue;
        const names = [att?.name ?? '', id.slice(0, 12), sb.hostname ?? '', ...(att?.attachments[ep.networkId]?.aliases ?? [])].map((x) => x.toLowerCase());
        const netName = this.networks.get(ep.networkId)?.Name.toLowerCase();
        if (names.some((x) => x !== '' && (x === name || `${x}.${netName}` === name))) {
          known = true;
          if (!ips.includes(ep.ip)) ips.push(ep.ip);
        }
      }
    }
    return known ? ips : undefined;
  }

  /** The name of an address on the asker's user-defined networks: `NAME.NETWORK`, as dockerd answers PTR. */
  private reverseName(askingId: string, ip: string): string | undefined {
    const own = this.sandboxes.get(askingId);
    if (own === undefined) return undefined;
    const nets = new Set(own.endpoints.filter((e) => this.isUserDefined(e.networkId)).map((e) => e.networkId));
    for (const [id, sb] of this.sandboxes) {
      const ep = sb.endpoints.find((e) => nets.has(e.networkId) && e.ip === ip);
      if (ep !== undefined) return `${this.attachments.get(id)?.name ?? id.slice(0, 12)}.${this.networks.get(ep.networkId)?.Name ?? ''}`;
    }
    return undefined;
  }

  /** --dns of the container, else daemon dns-upstream, else daemon dns, else the host's resolv.conf servers. */
  private upstreams(id: string): Upstream[] {
    const own = this.sandboxes.get(id)?.dns ?? [];
    const list = own.length > 0 ? own : this.settings.dnsUpstream.length > 0 ? this.settings.dnsUpstream : this.settings.dns.length > 0 ? this.settings.dns : this.hostServers;
    return list.map(parseUpstream);
  }

  /** How network routes find containers (the container service answers). */
  setContainerLookup(lookup: (ref: string) => ContainerRef): void {
    this.lookup = lookup;
  }

  private get settings(): NetworkSettings {
    return this.deps.settings;
  }

  private get guardChain(): string {
    return `BERTH-LOCAL-${this.tag}`;
  }

  private get filterChains(): FilterChains {
    return { isolation: `BERTH-ISOLATION-${this.tag}`, forward: `BERTH-FORWARD-${this.tag}` };
  }

  /**
   * berth's forwarding chains written afresh from the networks (at start-up,
   * so rules of networks removed while berthd was down go, and after each
   * network create and remove), with `adding` (being created) among them.
   * One rewrite at a time.
   */
  private applyFilter(adding?: NetworkRecord): Promise<void> {
    if (!this.settings.iptables) return Promise.resolve();
    const bridges = [...this.networks.values(), ...(adding === undefined ? [] : [adding])]
      .filter((n) => n.Driver === 'bridge' && n.bridge !== undefined)
      .map((n) => ({ dev: n.bridge!, internal: n.Internal, icc: iccEnabled(n, this.settings.icc) }));
    const next = this.filterWrite.then(() => host.applyFilter(this.filterChains, filterPlan(bridges)));
    this.filterWrite = next.catch(() => undefined);
    return next;
  }

  /** Runs one container's network work at a time. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.busy.set(id, tail);
    void tail.then(() => {
      if (this.busy.get(id) === tail) this.busy.delete(id);
    });
    return next;
  }

  // ---- start-up ---------------------------------------------------------------

  async init(): Promise<void> {
    await this.store.init();
    this.hostServers = resolvConfServers(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    for (const n of await this.store.loadNetworks()) this.networks.set(n.Id, n);
    for (const [id, c] of await this.store.loadContainers()) this.attachments.set(id, c);
    for (const [id, s] of await this.store.loadSandboxes()) this.sandboxes.set(id, s);
    await host.withHostLock(() => this.ensureBuiltins());
    if (this.settings.ipForward) await host.writeSysctl('net.ipv4.ip_forward', '1').catch((err: unknown) => this.log.warn({ err: messageOf(err) }, 'cannot enable ip_forward'));
    if (this.settings.iptables) {
      await host.ensureLocalhostGuard(this.guardChain);
      await this.applyFilter();
    }
    for (const n of this.networks.values()) {
      if (n.Driver === 'bridge') await this.bringUp(n).catch((err: unknown) => this.log.error({ err: messageOf(err), network: n.Name }, 'cannot bring bridge %s up', n.bridge));
    }
  }

  private defaultBridgeName(): string {
    if (this.settings.bridge !== undefined && this.settings.bridge !== '') return this.settings.bridge;
    return this.deps.dataRoot === '/var/lib/berth' ? 'berth0' : `berth-${this.tag}`;
  }

  private async ensureBuiltins(): Promise<void> {
    const byName = (name: string): NetworkRecord | undefined => [...this.networks.values()].find((n) => n.Name === name);
    for (const [name, driver] of [
      [BUILTIN.host, 'host'],
      [BUILTIN.none, 'null'],
    ] as const) {
      if (byName(name) !== undefined) continue;
      const n = this.record(name, driver, { Config: [] });
      this.networks.set(n.Id, n);
      await this.store.saveNetwork(n);
    }
    const existing = byName(BUILTIN.bridge);
    const wanted = await this.defaultBridgeIpam(existing);
    const bridge = this.defaultBridgeName();
    // daemon.json icc, ip-masq and mtu may have changed since the last start: the options follow them.
    const options = {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': String(this.settings.icc),
      'com.docker.network.bridge.enable_ip_masquerade': String(this.settings.ipMasq),
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': bridge,
      'com.docker.network.driver.mtu': String(this.settings.mtu > 0 ? this.settings.mtu : 1500),
    };
    if (existing !== undefined && existing.IPAM.Config[0]?.Subnet === wanted.Subnet && existing.bridge === bridge && JSON.stringify(existing.Options) === JSON.stringify(options)) return;
    const n = existing ?? this.record(BUILTIN.bridge, 'bridge', { Config: [] });
    n.IPAM.Config = [wanted];
    n.bridge = bridge;
    n.isDefault = true;
    if (existing === undefined) await this.bringUp({ ...n, IPAM: { ...n.IPAM, Config: [wanted] } });
    n.Options = options;
    this.networks.set(n.Id, n);
    await this.store.saveNetwork(n);
  }

  /** bip when set; else the subnet chosen before; else the first free one of the pools. */
  private async defaultBridgeIpam(existing: NetworkRecord | undefined): Promise<{ Subnet: string; Gateway: string }> {
    const bip = this.settings.bip;
    if (bip !== undefined && bip !== '') {
      const s = parseCidr(bip, true);
      const gw = parseIPv4(bip.split('/')[0] ?? '');
      return { Subnet: formatCidr(s), Gateway: formatIPv4(gw ?? firstHost(s)) };
    }
    const prev = existing?.IPAM.Config[0];
    if (prev !== undefined) return { Subnet: prev.Subnet, Gateway: prev.Gateway };
    const s = await this.freeSubnet();
    return { Subnet: formatCidr(s), Gateway: formatIPv4(firstHost(s)) };
  }

  private async takenSubnets(except?: string): Promise<Subnet[]> {
    const taken: Subnet[] = [];
    for (const n of this.networks.values()) {
      if (n.Id === except) continue;
      for (const c of n.IPAM.Config) taken.push(parseCidr(c.Subnet, true));
    }
    // The host's routes include berth's own bridges; others' subnets count too.
    const own = new Set(taken.map(formatCidr));
    for (const r of routeSubnets(await host.hostRoutes())) if (!own.has(formatCidr(r)) && r.prefix < 32) taken.push(r);
    return taken;
  }

  private async freeSubnet(): Promise<Subnet> {
    const s = chooseSubnet(this.settings.defaultAddressPools, await this.takenSubnets());
    if (s === undefined) throw forbidden('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    return s;
  }

  private record(name: string, driver: NetworkRecord['Driver'], ipam: { Config: NetworkRecord['IPAM']['Config'] }): NetworkRecord {
    return {
      Name: name,
      Id: newId(),
      Created: nowRfc3339(),
      Driver: driver,
      Internal: false,
      Attachable: false,
      Labels: {},
      Options: {},
      IPAM: { Driver: 'default', Options: null, Config: ipam.Config },
    };
  }

  private async bringUp(n: NetworkRecord): Promise<void> {
    const c = n.IPAM.Config[0];
    if (n.bridge === undefined || c === undefined) return;
    const prefix = parseCidr(c.Subnet, true).prefix;
    await host.ensureBridge(n.bridge, `${c.Gateway}/${prefix}`, Number(n.Options['com.docker.network.driver.mtu'] ?? this.settings.mtu) || 0);
  }

  // ---- lookups ------------------------------------------------------------------

  /** A network by full id, name, or unique id prefix (dockerd's order). */
  find(ref: string): NetworkRecord {
    const all = [...this.networks.values()];
    const exact = all.find((n) => n.Id === ref) ?? all.find((n) => n.Name === ref);
    if (exact !== undefined) return exact;
    const byPrefix = ref === '' ? [] : all.filter((n) => n.Id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw invalidParameter(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  private modeNetwork(mode: string): NetworkRecord {
    return this.find(mode === 'default' || mode === '' ? BUILTIN.bridge : mode);
  }

  // ---- containers: create -----------------------------------------------------

  /**
   * Checks a new container's network options (the 4xx of dockerd) and records
   * which networks it is on. Called at create, before anything is made.
   */
  async prepare(facts: ContainerFacts, endpoints: Record<string, EndpointConfigBody> | undefined, host: { Dns: string[]; DnsSearch: string[]; DnsOptions: string[]; MacAddress?: string }): Promise<void> {
    const mode = facts.mode;
    const hasPorts = Object.keys(facts.portBindings ?? {}).length > 0;
    if (mode.startsWith('container:')) {
      const conflicts: Array<[boolean, string]> = [
        [hasPorts || facts.publishAll, 'conflicting options: port publishing and the container type network mode'],
        [facts.extraHosts.length > 0, 'conflicting options: custom host-to-IP mapping and the network mode'],
        [host.Dns.length > 0 || host.DnsSearch.length > 0 || host.DnsOptions.length > 0, 'conflicting options: dns and the network mode'],
        [(host.MacAddress ?? '') !== '', 'conflicting options: mac-address and the network mode'],
      ];
      for (const [bad, msg] of conflicts) if (bad) throw invalidParameter(msg);
      const target = mode.slice('container:'.length);
      if (target === '') throw invalidParameter('invalid network mode: container: needs a container name or id');
      this.lookup(target);
      await this.saveAttachments(facts, {});
      return;
    }
    const primary = this.modeNetwork(mode);
    if ((primary.Driver === 'host' || primary.Driver === 'null') && Object.keys(endpoints ?? {}).some((k) => k !== primary.Name && k !== mode)) {
      throw invalidParameter(`container cannot be connected to multiple networks with one of the networks in ${primary.Name} mode`);
    }
    planPorts(facts.exposedPorts, facts.portBindings as Record<string, PortBinding[] | null> | undefined, facts.publishAll);
    const attachments: Record<string, AttachRequest> = {};
    const wanted = Object.entries(endpoints ?? {});
    if (!wanted.some(([k]) => k === 'default' || this.tryFind(k)?.Id === primary.Id)) wanted.unshift([primary.Name, {}]);
    for (const [ref, cfg] of wanted) {
      const n = ref === 'default' ? primary : this.find(ref);
      const req = this.attachRequest(n, cfg ?? {}, facts);
      if (n.Id === primary.Id && (host.MacAddress ?? '') !== '' && req.mac === undefined) req.mac = host.MacAddress;
      attachments[n.Id] = req;
    }
    await this.saveAttachments(facts, attachments);
  }

  private tryFind(ref: string): NetworkRecord | undefined {
    try {
      return this.find(ref);
    } catch {
      return undefined;
    }
  }

  private attachRequest(n: NetworkRecord, cfg: EndpointConfigBody, facts: Pick<ContainerFacts, 'id'>): AttachRequest {
    const aliases = (cfg.Aliases ?? []).filter((a) => typeof a === 'string' && a !== '');
    const ip = cfg.IPAMConfig?.IPv4Address ?? '';
    const req: AttachRequest = { aliases };
    if (aliases.length > 0 && n.isDefault === true) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
    if (ip !== '') {
      if (n.isDefault === true || n.Driver !== 'bridge') throw invalidParameter('user specified IP address is supported on user defined networks only');
      const addr = parseIPv4(ip);
      if (addr === undefined) throw invalidParameter(`invalid IPv4 address: ${ip}`);
      const c = n.IPAM.Config[0];
      const subnet = c === undefined ? undefined : parseCidr(c.Subnet, true);
      if (subnet === undefined || !usableIn(subnet, addr) || formatIPv4(addr) === c?.Gateway) {
        throw invalidParameter(`no configured subnet or ip-range contain the IP address ${ip}`);
      }
      for (const [cid, s] of this.sandboxes) {
        if (cid !== facts.id && s.endpoints.some((e) => e.networkId === n.Id && e.ip === ip)) throw conflict(`Address already in use: ${ip} is taken on network ${n.Name}`);
      }
      req.ipv4 = ip;
    }
    if (cfg.MacAddress !== undefined && cfg.MacAddress !== '') {
      if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(cfg.MacAddress)) throw invalidParameter(`invalid MAC address: ${cfg.MacAddress}`);
      req.mac = cfg.MacAddress;
    }
    return req;
  }

  private async saveAttachments(facts: ContainerFacts, attachments: Record<string, AttachRequest>): Promise<void> {
    const prev = this.attachments.get(facts.id);
    const rec: ContainerNetworks = { name: facts.name, attachments };
    if (prev?.lastPorts !== undefined) rec.lastPorts = prev.lastPorts;
    this.attachments.set(facts.id, rec);
    await this.store.saveContainer(facts.id, rec);
  }

  // ---- containers: start and stop -----------------------------------------------

  /**
   * Makes the container's sandbox before its task starts. It resolves once
   * the namespace exists and the published ports are held, so the task can
   * be created in it while the plugins still run; `ready` settles when every
   * endpoint is made. A failure half-way undoes what was made (and rejects
   * `ready`); the next network call on the container waits for all of it.
   */
  setUp(facts: ContainerFacts): Promise<SandboxSetup> {
    let early!: (s: SandboxSetup) => void;
    const made = new Promise<SandboxSetup>((resolve) => (early = resolve));
    const work = this.serial(facts.id, async () => {
      if (this.sandboxes.has(facts.id)) await this.teardownNow(facts.id);
      const mode = facts.mode;
      if (mode === 'host') return early({ ready: Promise.resolve([]) });
      if (mode.startsWith('container:')) {
        const other = this.lookup(mode.slice('container:'.length));
        const sb = this.sandboxes.get(other.id);
        if (!other.running || sb === undefined) throw conflict(`cannot join network namespace of a non running container: container ${other.id} is not running`);
        const rec: SandboxRecord = { netns: sb.netns, joined: other.id, endpoints: [], ports: [] };
        this.sandboxes.set(facts.id, rec);
        await this.store.saveSandbox(facts.id, rec);
        return early({ netnsPath: sb.netns, joinedEtc: other.etc, joinedNames: { hostname: other.facts.hostname, domainname: other.facts.domainname }, ready: Promise.resolve([]) });
      }
      const netns = this.store.netnsPath(facts.id);
      const att = this.attachments.get(facts.id)?.attachments ?? {};
      const entries = Object.entries(att).filter(([id]) => this.networks.get(id)?.Driver === 'bridge');
      const primary = entries[0] === undefined ? undefined : this.networks.get(entries[0][0]);
      const requests = primary === undefined || primary.Internal ? [] : planPorts(facts.exposedPorts, facts.portBindings as Record<string, PortBinding[] | null> | undefined, facts.publishAll);
      // A missing plugin fails the start before anything is made.
      this.cni.requirePlugins([...entries.map(([netId, req], i) => this.conflistOf(this.networks.get(netId)!, req, i === 0 && requests.length > 0))]);
      const rec: SandboxRecord = { netns, endpoints: [], ports: [], hostname: facts.hostname, dns: facts.dns };
      const served = entries.some(([id]) => this.isUserDefined(id));
      let dnsReady: Promise<void> | undefined;
      this.sandboxes.set(facts.id, rec);
      const undo = async (err: unknown): Promise<never> => {
        await dnsReady?.catch(() => undefined);
        await this.teardownNow(facts.id).catch((e: unknown) => this.log.warn({ err: messageOf(e), container: facts.id }, 'undoing a failed network set-up failed'));
        throw err;
      };
      try {
        await this.store.saveSandbox(facts.id, rec);
        if (served) {
          // One helper makes the namespace and binds the name server's sockets in it, which it hands over while the plugins run.
          const dns = this.dns.openNew(facts.id, netns);
          dnsReady = dns.serving;
          dnsReady.catch(() => undefined);
          await dns.made;
        } else await host.createNetns(netns);
        // Held before the task exists: a taken port fails the start before anything runs.
        if (requests.length > 0) rec.ports = await this.ports.reserve(facts.id, requests, this.attachments.get(facts.id)?.lastPorts ?? []);
      } catch (err) {
        return undo(err);
      }
      let ready!: (lines: string[]) => void;
      let failed!: (err: unknown) => void;
      const endpoints = new Promise<string[]>((resolve, reject) => {
        ready = resolve;
        failed = reject;
      });
      endpoints.catch(() => undefined);
      early({ netnsPath: netns, ...(served ? { nameservers: [RESOLVER_IP] } : {}), ready: endpoints });
      try {
        // Each network's plugins touch their own interface: they run side by side.
        const attached = await Promise.allSettled(
          entries.map(([netId, req], i) => this.attach(facts, this.networks.get(netId)!, req, `eth${i}`, i === 0 ? rec.ports : [])),
        );
        for (const r of attached) if (r.status === 'fulfilled') rec.endpoints.push(r.value);
        const rejected = attached.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (rejected !== undefined) throw rejected.reason;
        await dnsReady;
        await this.store.saveSandbox(facts.id, rec);
        const prev = this.attachments.get(facts.id);
        if (prev !== undefined && rec.ports.length > 0) {
          prev.lastPorts = rec.ports;
          await this.store.saveContainer(facts.id, prev);
        }
      } catch (err) {
        await undo(err).catch(failed);
        return;
      }
      // dockerd reports each network a starting container joins.
      for (const ep of rec.endpoints) this.publishEndpointEvent('connect', ep.networkId, facts.id);
      ready(this.hostsLines(facts, rec));
    });
    // A failure before the namespace was handed out is the start's error.
    return Promise.race([made, work.then(() => made)]);
  }

  private hostsLines(facts: ContainerFacts, rec: SandboxRecord): string[] {
    const ep = rec.endpoints[0];
    if (ep === undefined) return [];
    const names = facts.domainname !== '' ? `${facts.hostname}.${facts.domainname} ${facts.hostname}` : facts.hostname;
    return [`${ep.ip}\t${names}`];
  }

  /** host-gateway for --add-host: the default bridge's gateway, as dockerd. */
  hostGateway(): string {
    return this.find(BUILTIN.bridge).IPAM.Config[0]?.Gateway ?? '';
  }

  private conflistOf(n: NetworkRecord, req: AttachRequest, ports: boolean): Conflist {
    return bridgeConflist(n, { ipamDir: this.store.ipamDir, ipMasq: this.settings.ipMasq, mtu: this.settings.mtu, mac: req.mac !== undefined, ports, iptables: this.settings.iptables });
  }

  private async attach(facts: ContainerFacts, n: NetworkRecord, req: AttachRequest, ifName: string, ports: readonly PublishedPort[]): Promise<Endpoint> {
    const list = this.conflistOf(n, req, ports.length > 0);
    this.cni.requirePlugins([list]);
    if (n.bridge !== undefined && !(await host.linkExists(n.bridge))) await this.bringUp(n);
    const args: Record<string, string> = {};
    if (req.ipv4 !== undefined) args.IP = req.ipv4;
    const caps: Record<string, unknown> = {};
    if (ports.length > 0) {
      caps.portMappings = ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp === '0.0.0.0' ? '' : p.hostIp }));
    }
    if (req.mac !== undefined) caps.mac = req.mac;
    const netns = this.store.netnsPath(facts.id);
    let result: CniResult;
    try {
      result = await this.cni.add(list, { containerId: facts.id, netns, ifName, args, capabilityArgs: caps });
    } catch (err) {
      if (req.ipv4 !== undefined && /not available|already|duplicate/i.test(messageOf(err))) throw conflict(`Address already in use: ${req.ipv4} on network ${n.Name}`);
      throw err;
    }
    const ipc = result.ips?.[0];
    const iface = result.interfaces?.find((x) => x.name === ifName && x.sandbox !== undefined);
    const [ip, prefix] = (ipc?.address ?? '/0').split('/');
    return {
      networkId: n.Id,
      ifName,
      endpointId: newId(),
      ip: ip ?? '',
      prefix: Number(prefix ?? 0),
      gateway: n.Internal ? '' : (ipc?.gateway ?? ''),
      mac: iface?.mac ?? '',
    };
  }

  /** Undoes a container's sandbox (DEL in reverse while its namespace still exists). Idempotent. */
  tearDown(id: string): Promise<void> {
    return this.serial(id, async () => {
      const left = this.sandboxes.get(id)?.endpoints.map((ep) => ep.networkId) ?? [];
      await this.teardownNow(id);
      for (const networkId of left) this.publishEndpointEvent('disconnect', networkId, id);
    });
  }

  private publishEndpointEvent(action: 'connect' | 'disconnect', networkId: string, containerId: string): void {
    const n = this.networks.get(networkId);
    if (n !== undefined) this.deps.events.publish('network', action, n.Id, { container: containerId, name: n.Name, type: n.Driver });
  }

  private async teardownNow(id: string): Promise<void> {
    const rec = this.sandboxes.get(id);
    this.ports.release(id);
    this.dns.close(id);
    if (rec === undefined) return;
    const errors: unknown[] = [];
    if (rec.joined === undefined) {
      await Promise.all(rec.endpoints.map((ep) => this.cni.del(this.networks.get(ep.networkId)?.Name ?? '', id, ep.ifName).catch((err: unknown) => errors.push(err))));
      // Attachments whose ADD was cut short have a cache entry but no endpoint.
      for (const c of await this.cni.cached(id)) {
        if (c.containerId === id) await this.cni.del(c.network, id, c.ifName).catch((err: unknown) => errors.push(err));
      }
      // A DEL that failed (or ran without the namespace) may leave the plugins' rules: remove what names the container.
      if (this.settings.iptables && (errors.length > 0 || !existsSync(rec.netns))) await host.deleteRules(host.namesContainer(id)).catch((err: unknown) => errors.push(err));
      await host.deleteNetns(rec.netns);
    }
    this.sandboxes.delete(id);
    await this.store.removeSandbox(id);
    if (errors.length > 0) this.log.warn({ container: id, err: messageOf(errors[0]) }, 'tearing the network of container %s down was not clean', id);
  }

  /** The container is removed: tear down and forget its attachments. */
  async forget(id: string): Promise<void> {
    await this.tearDown(id);
    this.attachments.delete(id);
    await this.store.removeContainer(id);
  }

  /**
   * Start-up reconciliation: every sandbox, namespace, cached CNI result,
   * iptables rule and lease of a container that does not run is removed;
   * running containers get their ports held again.
   */
  async reconcile(running: ReadonlySet<string>, known: ReadonlySet<string>): Promise<void> {
    // Only this daemon's containers: another berthd (or CNI user) on the host keeps its own.
    const ours = new Set<string>([...known, ...this.attachments.keys(), ...this.sandboxes.keys(), ...(await this.cni.cached()).map((c) => c.containerId)]);
    for (const id of [...this.sandboxes.keys()]) {
      if (running.has(id) || this.busy.has(id)) continue;
      await this.tearDown(id).catch((err: unknown) => this.log.warn({ err: messageOf(err), container: id }, 'cannot tear down a stale sandbox'));
    }
    for (const c of await this.cni.cached()) {
      if (running.has(c.containerId) || this.busy.has(c.containerId)) continue;
      await this.cni.del(c.network, c.containerId, c.ifName).catch((err: unknown) => this.log.warn({ err: messageOf(err) }, 'stale CNI DEL failed'));
    }
    for (const path of await host.boundNetns(this.store.netnsDir)) {
      const id = path.slice(this.store.netnsDir.length + 1);
      if (!running.has(id) && !this.busy.has(id)) await host.deleteNetns(path);
    }
    await this.removeStaleLeases(running);
    if (this.settings.iptables) {
      const stale = (rule: string): boolean => {
        const m = /id: \\?"([0-9a-f]{64})\\?"/.exec(rule);
        return m !== null && ours.has(m[1]!) && !running.has(m[1]!) && !this.busy.has(m[1]!);
      };
      await host.deleteRules(stale).catch((err: unknown) => this.log.warn({ err: messageOf(err) }, 'cannot remove stale iptables rules'));
    }
    for (const [id, rec] of this.sandboxes) {
      if (!running.has(id) || rec.joined !== undefined) continue;
      if (rec.endpoints.some((e) => this.isUserDefined(e.networkId))) {
        await this.dns.open(id, rec.netns).catch((err: unknown) => this.log.warn({ err: messageOf(err), container: id }, 'cannot serve names to container %s again', id));
      }
      const lost = await this.ports.rehold(id, rec.ports);
      if (lost > 0) this.log.warn({ container: id, lost }, 'some published ports of container %s are held by another program now', id);
    }
    for (const id of [...this.attachments.keys()]) {
      if (!known.has(id)) {
        this.attachments.delete(id);
        await this.store.removeContainer(id);
      }
    }
  }

  private async removeStaleLeases(running: ReadonlySet<string>): Promise<void> {
    const nets = await readdir(this.store.ipamDir).catch(() => [] as string[]);
    for (const net of nets) {
      const dir = `${this.store.ipamDir}/${net}`;
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        if (parseIPv4(f) === undefined) continue;
        const owner = (await readFile(`${dir}/${f}`, 'utf8').catch(() => '')).split(/\r?\n/)[0]?.trim() ?? '';
        if (!running.has(owner) && !this.busy.has(owner)) await rm(`${dir}/${f}`, { force: true });
      }
    }
  }

  /**
   * At shutdown: stop serving ports and names. When no sandbox is left (no
   * live-restore), berth's bridges, its forwarding chains and its guard chain
   * go too, so that a stopped berthd leaves the host as it found it; the
   * next start makes them again.
   */
  async shutdown(keepHostObjects = false): Promise<void> {
    this.ports.releaseAll();
    this.dns.closeAll();
    if (keepHostObjects || this.sandboxes.size > 0) return;
    const bridges = [...this.networks.values()].map((n) => n.bridge).filter((b): b is string => b !== undefined);
    for (const b of bridges) await host.deleteLink(b);
    if (this.settings.iptables) {
      await host.removeFilter(this.filterChains);
      await host.removeLocalhostGuard(this.guardChain);
      // Rules of older versions naming the bridges.
      const tests = bridges.map((b) => host.namesDevice(b));
      await host.deleteRules((rule) => tests.some((t) => t(rule))).catch(() => undefined);
    }
  }

  // ---- container views ------------------------------------------------------------

  private endpointView(n: NetworkRecord, ep: Endpoint | undefined, req: AttachRequest | undefined, facts: { id: string; name: string; hostname: string }): Record<string, unknown> {
    const userDefined = n.Driver === 'bridge' && n.isDefault !== true;
    const dnsNames = userDefined && ep !== undefined ? [facts.name, ...(req?.aliases ?? []), facts.id.slice(0, 12), facts.hostname].filter((v, i, a) => v !== '' && a.indexOf(v) === i) : null;
    return {
      IPAMConfig: req?.ipv4 !== undefined ? { IPv4Address: req.ipv4 } : null,
      Links: null,
      Aliases: req !== undefined && req.aliases.length > 0 ? req.aliases : null,
      MacAddress: ep?.mac ?? '',
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: n.Id,
      EndpointID: ep?.endpointId ?? '',
      Gateway: ep?.gateway ?? '',
      IPAddress: ep?.ip ?? '',
      IPPrefixLen: ep?.prefix ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: dnsNames,
    };
  }

  /** NetworkSettings of docker inspect. */
  /** NetworkSettings.Networks: one endpoint view per network the container is on. */
  private networksView(facts: ContainerFacts, sb: SandboxRecord | undefined): Record<string, unknown> {
    const att = this.attachments.get(facts.id)?.attachments ?? {};
    const networks: Record<string, unknown> = {};
    let ids = Object.keys(att);
    if (facts.mode.startsWith('container:')) ids = [];
    else if (ids.length === 0) {
      const n = this.tryFind(facts.mode === 'default' ? BUILTIN.bridge : facts.mode);
      if (n !== undefined) ids = [n.Id];
    }
    for (const id of ids) {
      const n = this.networks.get(id);
      if (n === undefined) continue;
      const ep = sb?.endpoints.find((e) => e.networkId === id);
      networks[n.Name] = this.endpointView(n, ep, att[id], facts);
    }
    return networks;
  }

  settingsView(facts: ContainerFacts, running: boolean): Record<string, unknown> {
    const sb = running ? this.sandboxes.get(facts.id) : undefined;
    const networks = this.networksView(facts, sb);
    const keys = portKeys(facts.exposedPorts, facts.portBindings);
    const def = sb?.endpoints.find((e) => this.networks.get(e.networkId)?.isDefault === true);
    return {
      Bridge: '',
      SandboxID: sb !== undefined ? createHash('sha256').update(sb.netns).digest('hex') : '',
      SandboxKey: sb?.netns ?? '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: running ? portsView(keys, sb?.ports ?? []) : {},
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: def?.endpointId ?? '',
      Gateway: def?.gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: def?.ip ?? '',
      IPPrefixLen: def?.prefix ?? 0,
      IPv6Gateway: '',
      MacAddress: def?.mac ?? '',
      Networks: networks,
    };
  }

  /** Ports and Networks of a docker ps entry. */
  listView(facts: ContainerFacts, running: boolean): { Ports: ListPort[]; Networks: Record<string, unknown> } {
    // The hot path of docker ps: only what a list entry shows, not the whole NetworkSettings.
    const sb = running ? this.sandboxes.get(facts.id) : undefined;
    return { Ports: listPorts(portKeys(facts.exposedPorts, facts.portBindings), sb?.ports ?? []), Networks: this.networksView(facts, sb) };
  }

  // ---- networks API -----------------------------------------------------------------

  private usersOf(n: NetworkRecord): Array<{ id: string; ep: Endpoint }> {
    const out: Array<{ id: string; ep: Endpoint }> = [];
    for (const [id, sb] of this.sandboxes) for (const ep of sb.endpoints) if (ep.networkId === n.Id) out.push({ id, ep });
    return out;
  }

  inspectNetwork(n: NetworkRecord): Record<string, unknown> {
    const containers: Record<string, unknown> = {};
    for (const { id, ep } of this.usersOf(n)) {
      containers[id] = { Name: this.attachments.get(id)?.name ?? '', EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${ep.prefix}`, IPv6Address: '' };
    }
    return {
      Name: n.Name,
      Id: n.Id,
      Created: n.Created,
      Scope: 'local',
      Driver: n.Driver,
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: n.IPAM,
      Internal: n.Internal,
      Attachable: n.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.Options,
      Labels: n.Labels,
    };
  }

  all(): NetworkRecord[] {
    return [...this.networks.values()];
  }

  /** Whether any container (running or not) is attached: the `dangling` filter. */
  inUse(n: NetworkRecord): boolean {
    for (const c of this.attachments.values()) if (n.Id in c.attachments) return true;
    return false;
  }

  async create(body: CreateNetworkBody): Promise<{ Id: string; Warning: string }> {
    const name = body.Name;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidParameter(`invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (PREDEFINED.has(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
    const driver = body.Driver === '' ? 'bridge' : body.Driver;
    if (driver !== 'bridge') throw invalidParameter(`could not find plugin ${driver} in v1 plugin registry: plugin not found (berth has the bridge driver only)`);
    if ([...this.networks.values()].some((n) => n.Name === name)) throw conflict(`network with name ${name} already exists`);
    if (body.EnableIPv6) throw invalidParameter('IPv6 networks are not supported by berth');
    const cfgs = body.IPAM?.Config ?? [];
    if (cfgs.length > 1) throw invalidParameter('berth networks take one IPv4 subnet');
    return host.withHostLock(() => this.createLocked(body, name));
  }

  private async createLocked(body: CreateNetworkBody, name: string): Promise<{ Id: string; Warning: string }> {
    const cfgs = body.IPAM?.Config ?? [];
    const taken = await this.takenSubnets();
    let subnet: Subnet;
    let gateway: number;
    let ipRange: string | undefined;
    const cfg = cfgs[0];
    if (cfg !== undefined && (cfg.Subnet ?? '') !== '') {
      subnet = parseCidr(cfg.Subnet ?? '');
      if (subnet.prefix > 30) throw invalidParameter(`invalid subnet ${cfg.Subnet}: it leaves no address for containers`);
      if (taken.some((t) => overlaps(t, subnet))) throw forbidden('Pool overlaps with other one on this address space');
      gateway = firstHost(subnet);
      if ((cfg.Gateway ?? '') !== '') {
        const gw = parseIPv4(cfg.Gateway ?? '');
        if (gw === undefined || !contains(subnet, gw)) throw invalidParameter(`no matching subnet for gateway ${cfg.Gateway}`);
        gateway = gw;
      }
      if ((cfg.IPRange ?? '') !== '') {
        const r = parseCidr(cfg.IPRange ?? '');
        if (!contains(subnet, r.base) || r.prefix < subnet.prefix) throw invalidParameter(`no matching subnet for range ${cfg.IPRange}`);
        ipRange = formatCidr(r);
      }
    } else {
      if (cfg !== undefined && ((cfg.Gateway ?? '') !== '' || (cfg.IPRange ?? '') !== '')) throw invalidParameter('a gateway or ip-range needs a subnet (--subnet)');
      subnet = await this.freeSubnet();
      gateway = firstHost(subnet);
    }
    const n = this.record(name, 'bridge', { Config: [{ Subnet: formatCidr(subnet), Gateway: formatIPv4(gateway), ...(ipRange !== undefined ? { IPRange: ipRange } : {}) }] });
    n.Internal = body.Internal === true;
    n.Attachable = body.Attachable === true;
    n.Labels = body.Labels ?? {};
    n.Options = body.Options ?? {};
    const dev = n.Options['com.docker.network.bridge.name'];
    if (dev !== undefined && dev !== '') {
      if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(dev)) throw invalidParameter(`invalid bridge name ${JSON.stringify(dev)}: at most 15 letters, digits, '.', '-', '_'`);
      if ([...this.networks.values()].some((x) => x.bridge === dev) || (await host.linkExists(dev))) throw conflict(`bridge device ${dev} already exists`);
      n.bridge = dev;
    } else {
      n.bridge = `br-${n.Id.slice(0, 12)}`;
    }
    // icc=false is an iptables rule: without iptables it would be silently ignored.
    if (!this.settings.iptables && !iccEnabled(n, this.settings.icc)) throw invalidParameter('com.docker.network.bridge.enable_icc=false needs iptables, which daemon.json turns off (iptables: false)');
    // A bridge network needs the plugins: a missing one refuses the create before the bridge is made.
    this.cni.requirePlugins([this.conflistOf(n, { aliases: [] }, true)]);
    await this.bringUp(n);
    try {
      await this.applyFilter(n);
      await this.store.saveNetwork(n);
    } catch (err) {
      await this.applyFilter().catch(() => undefined);
      await host.deleteLink(n.bridge);
      throw err;
    }
    this.networks.set(n.Id, n);
    this.deps.events.publish('network', 'create', n.Id, { name: n.Name, type: n.Driver });
    return { Id: n.Id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    const n = this.find(ref);
    if (PREDEFINED.has(n.Name)) throw forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
    if (this.usersOf(n).length > 0) throw forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    this.networks.delete(n.Id);
    await this.store.removeNetwork(n.Id);
    if (n.bridge !== undefined) {
      // The device and the rules naming it are independent: removed side by side.
      await Promise.all([
        host.deleteLink(n.bridge),
        // The chains rewritten without the bridge; rules of older versions naming it go too.
        this.settings.iptables ? this.applyFilter().then(() => host.deleteRules(host.namesDevice(n.bridge!))).catch(() => undefined) : undefined,
        rm(`${this.store.ipamDir}/${n.Name}`, { recursive: true, force: true }),
      ]);
    } else await rm(`${this.store.ipamDir}/${n.Name}`, { recursive: true, force: true });
    this.deps.events.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  async prune(labelMatch: (labels: Record<string, string>) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const n of [...this.networks.values()]) {
      if (PREDEFINED.has(n.Name) || this.usersOf(n).length > 0 || this.inUse(n) || !labelMatch(n.Labels)) continue;
      try {
        await this.remove(n.Id);
        removed.push(n.Name);
      } catch (err) {
        if (!isKind(err, 'forbidden')) throw err;
      }
    }
    this.deps.events.publish('network', 'prune', '', { reclaimed: '0' });
    return removed;
  }

  /** docker network connect: the container joins (now when it runs, at its next start otherwise). */
  async connect(ref: string, containerRef: string, cfg: EndpointConfigBody): Promise<void> {
    const n = this.find(ref);
    const c = this.lookup(containerRef);
    await this.serial(c.id, async () => {
      const rec = this.attachments.get(c.id) ?? { name: c.name, attachments: {} };
      const mode = c.facts.mode;
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) throw forbidden(`container sharing network namespace with another container or host cannot be connected to any other network`);
      if (n.Driver !== 'bridge') throw forbidden(`container cannot be disconnected from host network or connected to host network`);
      if (n.Id in rec.attachments) throw forbidden(`endpoint with name ${c.name} already exists in network ${n.Name}`);
      const req = this.attachRequest(n, cfg, c.facts);
      const sb = this.sandboxes.get(c.id);
      if (c.running && sb !== undefined && sb.joined === undefined) {
        const used = new Set(sb.endpoints.map((e) => e.ifName));
        let i = 0;
        while (used.has(`eth${i}`)) i++;
        const ep = await this.attach(c.facts, n, req, `eth${i}`, []);
        sb.endpoints.push(ep);
        await this.store.saveSandbox(c.id, sb);
        if (this.isUserDefined(n.Id) && !this.dns.has(c.id)) await this.dns.open(c.id, sb.netns);
      }
      rec.attachments[n.Id] = req;
      this.attachments.set(c.id, rec);
      await this.store.saveContainer(c.id, rec);
    });
    this.publishEndpointEvent('connect', n.Id, c.id);
  }

  async disconnect(ref: string, containerRef: string, force: boolean): Promise<void> {
    const n = this.find(ref);
    let c: ContainerRef;
    try {
      c = this.lookup(containerRef);
    } catch (err) {
      if (!force) throw err;
      return;
    }
    await this.serial(c.id, async () => {
      const rec = this.attachments.get(c.id);
      if (rec === undefined || !(n.Id in rec.attachments)) throw forbidden(`container ${c.id} is not connected to network ${n.Name}`);
      if (n.Driver !== 'bridge') throw forbidden('container cannot be disconnected from host network or connected to host network');
      const sb = this.sandboxes.get(c.id);
      const ep = sb?.endpoints.find((e) => e.networkId === n.Id);
      if (sb !== undefined && ep !== undefined) {
        await this.cni.del(n.Name, c.id, ep.ifName);
        sb.endpoints = sb.endpoints.filter((e) => e !== ep);
        await this.store.saveSandbox(c.id, sb);
      }
      delete rec.attachments[n.Id];
      await this.store.saveContainer(c.id, rec);
    });
    this.publishEndpointEvent('disconnect', n.Id, c.id);
  }
}

export interface CreateNetworkBody {
  Name: string;
  Driver: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Labels?: Record<string, string>;
  Options?: Record<string, string>;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> };
}

