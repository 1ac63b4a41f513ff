/**
 * The names ovs-ofctl gives reserved ports, fields (in set_field, load and move) and TCP flags:
 * one table each, read by the flow syntax parser (src/openflow/) and by ofproto's printers.
 */
import { OFPP } from './actions.js';
import { FIELDS, REG_FIELDS, WIDE_REG_FIELDS, type FieldId } from './flow.js';
import { own } from '../lib/own.js';
import { TUN_METADATA_FIELDS } from './tun-metadata.js';

/** Reserved ports by name; NONE is another name for ANY and is never printed. */
export const PORT_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['IN_PORT', OFPP.IN_PORT],
  ['TABLE', OFPP.TABLE],
  ['NORMAL', OFPP.NORMAL],
  ['FLOOD', OFPP.FLOOD],
  ['ALL', OFPP.ALL],
  ['CONTROLLER', OFPP.CONTROLLER],
  ['LOCAL', OFPP.LOCAL],
  ['ANY', OFPP.ANY],
  ['NONE', OFPP.ANY],
];

/** A field as set_field, load and move name it: OVS's name, its NXM name, our field and its NXM width. */
export interface FieldName {
  mf: string;
  nxm: string;
  field: FieldId;
  bits: number;
}

export const FIELD_NAMES: readonly FieldName[] = [
  { mf: 'in_port', nxm: 'NXM_OF_IN_PORT', field: 'in_port', bits: 16 },
  { mf: 'eth_dst', nxm: 'NXM_OF_ETH_DST', field: 'dl_dst', bits: 48 },
  { mf: 'eth_src', nxm: 'NXM_OF_ETH_SRC', field: 'dl_src', bits: 48 },
  { mf: 'eth_type', nxm: 'NXM_OF_ETH_TYPE', field: 'dl_type', bits: 16 },
  { mf: 'vlan_tci', nxm: 'NXM_OF_VLAN_TCI', field: 'vlan_tci', bits: 16 },
  { mf: 'nw_tos', nxm: 'NXM_OF_IP_TOS', field: 'nw_tos', bits: 8 },
  { mf: 'nw_proto', nxm: 'NXM_OF_IP_PROTO', field: 'nw_proto', bits: 8 },
  { mf: 'ip_src', nxm: 'NXM_OF_IP_SRC', field: 'nw_src', bits: 32 },
  { mf: 'ip_dst', nxm: 'NXM_OF_IP_DST', field: 'nw_dst', bits: 32 },
  { mf: 'tp_src', nxm: 'NXM_OF_TCP_SRC', field: 'tp_src', bits: 16 },
  { mf: 'tp_dst', nxm: 'NXM_OF_TCP_DST', field: 'tp_dst', bits: 16 },
  { mf: 'udp_src', nxm: 'NXM_OF_UDP_SRC', field: 'tp_src', bits: 16 },
  { mf: 'udp_dst', nxm: 'NXM_OF_UDP_DST', field: 'tp_dst', bits: 16 },
  { mf: 'icmp_type', nxm: 'NXM_OF_ICMP_TYPE', field: 'tp_src', bits: 8 },
  { mf: 'icmp_code', nxm: 'NXM_OF_ICMP_CODE', field: 'tp_dst', bits: 8 },
  { mf: 'icmpv6_type', nxm: 'NXM_NX_ICMPV6_TYPE', field: 'tp_src', bits: 8 },
  { mf: 'icmpv6_code', nxm: 'NXM_NX_ICMPV6_CODE', field: 'tp_dst', bits: 8 },
  { mf: 'arp_spa', nxm: 'NXM_OF_ARP_SPA', field: 'nw_src', bits: 32 },
  { mf: 'arp_tpa', nxm: 'NXM_OF_ARP_TPA', field: 'nw_dst', bits: 32 },
  { mf: 'tun_id', nxm: 'NXM_NX_TUN_ID', field: 'tun_id', bits: 64 },
  { mf: 'tun_src', nxm: 'NXM_NX_TUN_IPV4_SRC', field: 'tun_src', bits: 32 },
  { mf: 'tun_dst', nxm: 'NXM_NX_TUN_IPV4_DST', field: 'tun_dst', bits: 32 },
  { mf: 'tun_ipv6_src', nxm: 'NXM_NX_TUN_IPV6_SRC', field: 'tun_ipv6_src', bits: 128 },
  { mf: 'tun_ipv6_dst', nxm: 'NXM_NX_TUN_IPV6_DST', field: 'tun_ipv6_dst', bits: 128 },
  { mf: 'tun_flags', nxm: 'NXM_NX_TUN_FLAGS', field: 'tun_flags', bits: 1 },
  { mf: 'arp_sha', nxm: 'NXM_NX_ARP_SHA', field: 'arp_sha', bits: 48 },
  { mf: 'arp_tha', nxm: 'NXM_NX_ARP_THA', field: 'arp_tha', bits: 48 },
  { mf: 'ipv6_src', nxm: 'NXM_NX_IPV6_SRC', field: 'ipv6_src', bits: 128 },
  { mf: 'ipv6_dst', nxm: 'NXM_NX_IPV6_DST', field: 'ipv6_dst', bits: 128 },
  { mf: 'nd_target', nxm: 'NXM_NX_ND_TARGET', field: 'nd_target', bits: 128 },
  { mf: 'nd_sll', nxm: 'NXM_NX_ND_SLL', field: 'arp_sha', bits: 48 },
  { mf: 'nd_tll', nxm: 'NXM_NX_ND_TLL', field: 'arp_tha', bits: 48 },
  // OVS gives these no NXM name; ovs-ofctl prints their OXM names.
  { mf: 'nd_reserved', nxm: 'ERICOXM_OF_ICMPV6_ND_RESERVED', field: 'nd_reserved', bits: 32 },
  { mf: 'nd_options_type', nxm: 'ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE', field: 'nd_options_type', bits: 8 },
  { mf: 'nw_ttl', nxm: 'NXM_NX_IP_TTL', field: 'nw_ttl', bits: 8 },
  { mf: 'tcp_flags', nxm: 'NXM_NX_TCP_FLAGS', field: 'tcp_flags', bits: 12 },
  { mf: 'metadata', nxm: 'OXM_OF_METADATA', field: 'metadata', bits: 64 },
  // 16 bits on the wire; TVS keeps the opcode's low byte, as its datapath key does.
  { mf: 'arp_op', nxm: 'NXM_OF_ARP_OP', field: 'nw_proto', bits: 8 },
  ...REG_FIELDS.map((field, i) => ({ mf: field, nxm: `NXM_NX_REG${i}`, field, bits: 32 })),
  // One field holds the data of whichever tun_metadataN is present (./tun-metadata.ts): actions record N by name.
  ...Array.from({ length: TUN_METADATA_FIELDS }, (_, i): FieldName => ({ mf: `tun_metadata${i}`, nxm: `NXM_NX_TUN_METADATA${i}`, field: 'tun_metadata_value', bits: 64 })),
  // OVS names the 64-bit registers after the OpenFlow 1.5 packet registers.
  ...WIDE_REG_FIELDS.map((field) => ({ mf: field, nxm: field.startsWith('xx') ? `NXM_NX_XXREG${field.slice(5)}` : `OXM_OF_PKT_REG${field.slice(4)}`, field, bits: FIELDS[field].bits })),
];

/**
 * The name to print for a field: `name` (an `mf` name) when an action recorded one, else the
 * field's first entry. Fields with several names (ip_src/arp_spa, nw_proto/arp_op) record the
 * one they were written with.
 */
export function fieldNameOf(field: FieldId, name?: string): FieldName {
  return (name !== undefined && FIELD_NAMES.find((f) => f.mf === name && f.field === field)) || FIELD_NAMES.find((f) => f.field === field)!;
}

/** The `mf` name an action should record for `fn`: none when it is the field's default name. */
export function recordedName(fn: FieldName): string | undefined {
  return fieldNameOf(fn.field) === fn ? undefined : fn.mf;
}

/** Other names ovs-ofctl accepts for a field in set_field (the match syntax's names). */
const MF_ALIASES: Readonly<Record<string, string>> = { nw_src: 'ip_src', nw_dst: 'ip_dst', dl_src: 'eth_src', dl_dst: 'eth_dst', dl_type: 'eth_type', tcp_src: 'tp_src', tcp_dst: 'tp_dst', tunnel_id: 'tun_id', ip_proto: 'nw_proto' };

/** The field an OVS, NXM or alias name stands for. */
export function fieldByName(name: string): FieldName | undefined {
  const n = own(MF_ALIASES, name) ?? name;
  return FIELD_NAMES.find((f) => f.nxm === name || f.mf === n);
}

/** The names of the bits of tcp_flags, lowest first. */
export const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns'];
