// Frames for test traffic, and their fields read back: Ethernet with an
// optional VLAN tag, ARP, ICMP echo and UDP over IPv4. Built on the
// datapath's own flow_compose (composeFrame) and key extraction, so a
// frame reads back exactly as the switch sees it.
import { extractKey } from '../datapath/dpif.js';
import { composeFrame } from '../datapath/flow-compose.js';
import { decodeKey, TCI_PRESENT, type FlowKey } from '../datapath/flow-key.js';

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const ETH_TYPE_IPV4 = 0x0800;
const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_VLAN = 0x8100;

/** The Ethernet header of a frame: addresses, and an 802.1Q tag when `vlan` is set. */
export interface L2Spec {
  src: string;
  dst: string;
  /** VLAN id of an 802.1Q tag (no tag when absent). */
  vlan?: number;
  /** Priority code point of the tag (0 by default). */
  pcp?: number;
}

export interface Ipv4Spec extends L2Spec {
  ipSrc: string;
  ipDst: string;
  /** 64 by default. */
  ttl?: number;
  tos?: number;
}

export interface UdpSpec extends Ipv4Spec {
  sport: number;
  dport: number;
  payload?: Buffer;
}

export interface IcmpEchoSpec extends Ipv4Spec {
  /** Echo request (ping) or echo reply. */
  reply?: boolean;
  id: number;
  seq: number;
  payload?: Buffer;
}

export interface ArpSpec extends L2Spec {
  /** `request` (who has targetIp?) or `reply` (senderIp is at senderMac). */
  op: 'request' | 'reply';
  senderMac: string;
  senderIp: string;
  /** 00:00:00:00:00:00 in a request by default. */
  targetMac?: string;
  targetIp: string;
}

/** Key fields of the Ethernet header and tag. */
function l2Key(spec: L2Spec, ethType: number): FlowKey {
  const key: FlowKey = { 'eth.src': spec.src, 'eth.dst': spec.dst, eth_type: ethType };
  if (spec.vlan !== undefined) {
    if (!Number.isInteger(spec.vlan) || spec.vlan < 0 || spec.vlan > 4095) throw new Error(`vlan ${spec.vlan}: a VLAN id is 0 to 4095`);
    key['vlan.tpid'] = ETH_TYPE_VLAN;
    key['vlan.tci'] = TCI_PRESENT | ((spec.pcp ?? 0) << 13) | spec.vlan;
  }
  return key;
}

function ipv4Key(spec: Ipv4Spec, proto: number): FlowKey {
  return { ...l2Key(spec, ETH_TYPE_IPV4), 'ipv4.src': spec.ipSrc, 'ipv4.dst': spec.ipDst, 'ipv4.proto': proto, 'ipv4.ttl': spec.ttl ?? 64, 'ipv4.tos': spec.tos ?? 0 };
}

/** A UDP datagram over IPv4, with valid checksums. */
export function udpFrame(spec: UdpSpec): Buffer {
  return composeFrame({ ...ipv4Key(spec, 17), 'udp.src': spec.sport, 'udp.dst': spec.dport }, { payload: spec.payload ?? Buffer.alloc(0) });
}

/** An ICMP echo request (or reply), as ping sends it. */
export function icmpEchoFrame(spec: IcmpEchoSpec): Buffer {
  const key = { ...ipv4Key(spec, 1), 'icmp.type': spec.reply ? 0 : 8, 'icmp.code': 0 };
  return composeFrame(key, { echo: { id: spec.id, seq: spec.seq }, payload: spec.payload ?? Buffer.alloc(0) });
}

/** An ARP request or reply for IPv4 over Ethernet. */
export function arpFrame(spec: ArpSpec): Buffer {
  return composeFrame({
    ...l2Key(spec, ETH_TYPE_ARP),
    'arp.op': spec.op === 'request' ? 1 : 2,
    'arp.sha': spec.senderMac,
    'arp.sip': spec.senderIp,
    'arp.tha': spec.targetMac ?? '00:00:00:00:00:00',
    'arp.tip': spec.targetIp,
  });
}

/**
 * A frame's fields as the switch's datapath reads them, named as in the
 * datapath flow syntax (`eth.src`, `vlan.tci`, `ipv4.dst`, `tcp.dst` for
 * any L4 port, `arp.op`...); fields that are zero are left out.
 */
export function frameFields(frame: Buffer): FlowKey {
  return decodeKey(extractKey(frame, 0));
}

/** The VLAN id of a frame's outer 802.1Q tag, or undefined for an untagged frame. */
export function vlanOf(frame: Buffer): number | undefined {
  const tci = Number(frameFields(frame)['vlan.tci'] ?? 0);
  return tci & TCI_PRESENT ? tci & 0xfff : undefined;
}
