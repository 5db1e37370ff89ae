// The CNI network configuration list of a berth network (pure): bridge with
// host-local IPAM, then portmap and tuning, in the order the CNI spec runs
// them on ADD. What may be forwarded to and from a bridge is berth's own
// per-bridge chains (filter.ts), not a plugin's per-container rules.
import { broadcast, firstHost, formatIPv4, parseCidr } from './ipam.js';
import type { NetworkRecord } from './types.js';

export const CNI_VERSION = '1.0.0';

export interface ConflistOptions {
  /** host-local's lease folder (under the exec root: gone at reboot) */
  ipamDir: string;
  ipMasq: boolean;
  mtu: number;
  /** a MAC address is asked for: the tuning plugin sets it */
  mac?: boolean;
  /** the attachment publishes ports; without any, portmap has nothing to do and is left out */
  ports?: boolean;
  /** daemon.json iptables: false — no masquerade, no portmap */
  iptables?: boolean;
}

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

function optionBool(net: NetworkRecord, key: string, fallback: boolean): boolean {
  const v = net.Options[key];
  return v === undefined ? fallback : v === 'true' || v === '1';
}

/**
 * Whether containers of one network may reach each other: the default
 * bridge follows daemon.json icc, other networks their enable_icc option
 * (true when not given), as on dockerd.
 */
export function iccEnabled(net: NetworkRecord, daemonIcc: boolean): boolean {
  return optionBool(net, 'com.docker.network.bridge.enable_icc', net.isDefault === true ? daemonIcc : true);
}

export function bridgeConflist(net: NetworkRecord, opts: ConflistOptions): Conflist {
  const ipam = net.IPAM.Config[0];
  const range: Record<string, string> = { subnet: ipam?.Subnet ?? '', gateway: ipam?.Gateway ?? '' };
  if (ipam?.IPRange !== undefined && ipam.IPRange !== '') {
    const r = parseCidr(ipam.IPRange);
    range.rangeStart = formatIPv4(firstHost(r));
    range.rangeEnd = formatIPv4(r.prefix >= 31 ? broadcast(r) : broadcast(r) - 1);
  }
  const rules = opts.iptables !== false;
  const masq = rules && !net.Internal && optionBool(net, 'com.docker.network.bridge.enable_ip_masquerade', opts.ipMasq);
  const mtu = Number(net.Options['com.docker.network.driver.mtu'] ?? opts.mtu) || 0;
  const bridge: PluginConf = {
    type: 'bridge',
    bridge: net.bridge ?? '',
    // berth brings the bridge and its gateway address up itself, so the
    // plugin never flips the host's ip_forward (daemon.json ip-forward does).
    isGateway: false,
    ipMasq: masq,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      dataDir: opts.ipamDir,
      ranges: [[range]],
      routes: net.Internal ? [] : [{ dst: '0.0.0.0/0', gw: ipam?.Gateway ?? '' }],
    },
  };
  if (mtu > 0) bridge.mtu = mtu;
  const plugins: PluginConf[] = [bridge];
  if (rules && !net.Internal && opts.ports !== false) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  if (opts.mac === true) plugins.push({ type: 'tuning', capabilities: { mac: true } });
  return { cniVersion: CNI_VERSION, name: net.Name, plugins };
}
