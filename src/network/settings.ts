// The network part of the daemon configuration, with dockerd's defaults
// where they apply and berth's own default subnets (never 172.17.0.0/16).
import type { AddressPool } from './ipam.js';
import type { NetworkSettings } from './types.js';
import type { DaemonConfig } from '../config/index.js';

/** berth's pools: 10.213.0.0/16 in /24s, so the default bridge is 10.213.0.0/24 unless taken. */
export const DEFAULT_ADDRESS_POOLS: readonly AddressPool[] = [{ base: '10.213.0.0/16', size: 24 }];

export const DEFAULT_NETWORK_SETTINGS: NetworkSettings = {
  defaultAddressPools: [...DEFAULT_ADDRESS_POOLS],
  iptables: true,
  ipForward: true,
  ipMasq: true,
  icc: true,
  mtu: 0,
  dns: [],
  dnsSearch: [],
  dnsOpts: [],
  userlandProxy: false,
  dnsUpstream: [],
};

/** The daemon configuration's networking keys (daemon.json names, as dockerd's). */
export type NetworkConfigFields = Pick<
  DaemonConfig,
  'bip' | 'bridge' | 'defaultAddressPools' | 'iptables' | 'ipForward' | 'ipMasq' | 'icc' | 'mtu' | 'dns' | 'dnsSearch' | 'dnsOpts' | 'userlandProxy' | 'dnsUpstream'
>;

export function networkSettingsFrom(c: NetworkConfigFields): NetworkSettings {
  const d = DEFAULT_NETWORK_SETTINGS;
  const out: NetworkSettings = {
    defaultAddressPools: c.defaultAddressPools !== undefined && c.defaultAddressPools.length > 0 ? c.defaultAddressPools : d.defaultAddressPools,
    iptables: c.iptables ?? d.iptables,
    ipForward: c.ipForward ?? d.ipForward,
    ipMasq: c.ipMasq ?? d.ipMasq,
    icc: c.icc ?? d.icc,
    mtu: c.mtu ?? d.mtu,
    dns: c.dns ?? d.dns,
    dnsSearch: c.dnsSearch ?? d.dnsSearch,
    dnsOpts: c.dnsOpts ?? d.dnsOpts,
    userlandProxy: c.userlandProxy ?? d.userlandProxy,
    dnsUpstream: c.dnsUpstream ?? d.dnsUpstream,
  };
  if (c.bip !== undefined) out.bip = c.bip;
  if (c.bridge !== undefined) out.bridge = c.bridge;
  return out;
}
