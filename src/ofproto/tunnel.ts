/**
 * Tunnel ports (OVS's ofproto/tunnel.c and the tunnel part of lib/netdev-vport.c): what an
 * Interface of type vxlan, geneve or gre is configured to do, which OpenFlow port a frame that
 * came in through a tunnel belongs to, and the outer header of a frame sent out of one.
 *
 * The datapath has one vport per tunnel type and UDP port (`vxlan_sys_4789`), shared by every
 * tunnel port of every bridge: a received frame carries only the vport and its outer header
 * (tun_id, tun_src, tun_dst, ...), and `TunnelPortMap.receive` finds the port it belongs to,
 * most specific configuration first, as OVS's tnl_find does.
 */
import type { GeneveOption, TunnelSet } from '../datapath/actions.js';
import { bytesToBigint, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../lib/addr.js';
import { ETH_TYPE, type Flow, type FlowWildcards, TUN_FLAG } from './flow.js';
import { dpTunnelFlags } from './odp-convert.js';
import { DATAPATH_OPT_BYTES, presentIndexes, type TlvMap } from './tun-metadata.js';

export type TunnelType = 'vxlan' | 'geneve' | 'gre';

/** The interface types that are tunnels. */
export const TUNNEL_TYPES: readonly TunnelType[] = ['geneve', 'gre', 'vxlan'];

/** The UDP port of each type when options:dst_port is absent (IANA's; GRE has none). */
const DEFAULT_DST_PORT: Readonly<Record<TunnelType, number>> = { vxlan: 4789, geneve: 6081, gre: 0 };

/** OVS's DEFAULT_TTL for the outer header. */
const DEFAULT_TTL = 64;

/**
 * An underlay address as the flow holds it: IPv4 as a number (tun_src, tun_dst), IPv6 as a bigint
 * (tun_ipv6_src, tun_ipv6_dst).
 */
export type UnderlayIp = number | bigint;

/** A tunnel Interface's options, parsed. 'flow' takes the address from the flow. */
export interface TunnelConfig {
  readonly type: TunnelType;
  /** UDP destination port (0 for GRE). */
  readonly dstPort: number;
  readonly remoteIp: UnderlayIp | 'flow';
  /** Absent: any local address (the host's route picks the source); the same family as remoteIp. */
  readonly localIp?: UnderlayIp | 'flow';
  /** The key (VNI, GRE key) a received frame must carry; 'flow': any, into tun_id. */
  readonly inKey: bigint | 'flow';
  /** The key sent; 'flow': the flow's tun_id. Absent: no key (flags without `key`). */
  readonly outKey?: bigint | 'flow';
  /** Outer DSCP, or 'inherit' the inner IP header's. */
  readonly tos: number | 'inherit';
  readonly ttl: number | 'inherit';
  /** df_default: set the outer header's don't-fragment bit. */
  readonly df: boolean;
  readonly csum: boolean;
}

/** A tunnel Interface whose options are wrong; the message is OVS's, with the fix. */
export class TunnelConfigError extends Error {}

/** The datapath vport that carries tunnels of `type` on `dstPort`, named as OVS's kernel datapath names them. */
export function vportName(type: TunnelType, dstPort: number): string {
  if (type === 'gre') return 'gre_sys';
  return `${type === 'vxlan' ? 'vxlan' : 'genev'}_sys_${dstPort}`;
}

const OPTIONS: Readonly<Record<TunnelType, readonly string[]>> = {
  vxlan: ['remote_ip', 'local_ip', 'key', 'in_key', 'out_key', 'dst_port', 'tos', 'ttl', 'df_default', 'csum', 'packet_type'],
  geneve: ['remote_ip', 'local_ip', 'key', 'in_key', 'out_key', 'dst_port', 'tos', 'ttl', 'df_default', 'csum', 'packet_type'],
  gre: ['remote_ip', 'local_ip', 'key', 'in_key', 'out_key', 'tos', 'ttl', 'df_default', 'csum', 'packet_type'],
};

function ipOption(name: string, type: TunnelType, key: 'remote_ip' | 'local_ip', text: string): UnderlayIp | 'flow' {
  if (text === 'flow') return 'flow';
  let ip: UnderlayIp;
  try {
    ip = text.includes(':') ? bytesToBigint(parseIpv6(text)) : parseIpv4(text).readUInt32BE(0);
  } catch {
    throw new TunnelConfigError(`${name}: bad ${type} '${key}' (${key}=${text} is not an IPv4 or IPv6 address or "flow")`);
  }
  const multicast = typeof ip === 'bigint' ? ip >> 120n === 0xffn : ip >>> 28 === 0xe;
  if (key === 'remote_ip' && multicast) throw new TunnelConfigError(`${name}: multicast remote_ip=${text} not allowed (give the unicast address of the other tunnel endpoint)`);
  if (type === 'gre' && typeof ip === 'bigint') {
    throw new TunnelConfigError(`${name}: gre over an IPv6 underlay (ip6gre) is not supported by TVS's datapath (${key}=${text}): use vxlan or geneve over IPv6, or IPv4 addresses`);
  }
  return ip;
}

/** The text of an underlay address. */
export function formatUnderlayIp(ip: UnderlayIp): string {
  return typeof ip === 'bigint' ? formatIpv6(ip) : formatIpv4(ip);
}

function keyOption(name: string, key: string, text: string): bigint | 'flow' {
  if (text === 'flow') return 'flow';
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || BigInt(text) > 0xffffffffffffffffn) throw new TunnelConfigError(`${name}: bad ${key}=${text} (write a number, such as a VNI, or "flow")`);
  return BigInt(text);
}

/**
 * Parses a tunnel Interface's options as OVS's set_tunnel_config does, refusing what OVS
 * refuses in OVS's words (each with how to fix it).
 */
export function parseTunnelOptions(name: string, type: TunnelType, options: Readonly<Record<string, string>>): TunnelConfig {
  for (const k of Object.keys(options)) {
    if (!OPTIONS[type].includes(k)) throw new TunnelConfigError(`${name}: unknown ${type} argument '${k}' (${type} takes ${OPTIONS[type].join(', ')})`);
  }
  const o = (k: string): string | undefined => (Object.hasOwn(options, k) ? options[k] : undefined);
  const remote = o('remote_ip');
  if (remote === undefined) throw new TunnelConfigError(`${name}: ${type} type requires valid 'remote_ip' argument (set options:remote_ip to the other endpoint's IPv4 address, or to flow)`);
  const remoteIp = ipOption(name, type, 'remote_ip', remote);
  const local = o('local_ip');
  const localIp = local === undefined ? undefined : ipOption(name, type, 'local_ip', local);
  if (localIp === 'flow' && remoteIp !== 'flow') throw new TunnelConfigError(`${name}: ${type} type requires 'remote_ip=flow' with 'local_ip=flow'`);
  if (localIp !== undefined && localIp !== 'flow' && remoteIp !== 'flow' && typeof localIp !== typeof remoteIp) {
    throw new TunnelConfigError(`${name}: ${type} remote_ip=${remote} and local_ip=${local ?? ''} are of different address families (give both as IPv4 or both as IPv6)`);
  }
  const packetType = o('packet_type');
  if (packetType !== undefined && packetType !== 'legacy_l2') {
    throw new TunnelConfigError(
      ['legacy_l3', 'ptap'].includes(packetType)
        ? `${name}: packet_type '${packetType}' is not supported: TVS tunnels carry Ethernet frames (packet_type=legacy_l2)`
        : `${name}: unknown packet_type '${packetType}' (use legacy_l2)`,
    );
  }
  const key = o('key');
  const inKeyText = o('in_key') ?? key;
  const outKeyText = o('out_key') ?? key;
  const tosText = o('tos');
  let tos: number | 'inherit' = 0;
  if (tosText === 'inherit') tos = 'inherit';
  else if (tosText !== undefined) {
    const n = /^(0x[0-9a-f]+|\d+)$/i.test(tosText) ? Number(tosText) : NaN;
    // A DSCP: the low two bits (ECN) are the datapath's.
    if (!(n >= 0 && n <= 0xff && (n & 3) === 0)) throw new TunnelConfigError(`${name}: invalid TOS ${tosText} (a multiple of 4 up to 252, or inherit)`);
    tos = n;
  }
  const ttlText = o('ttl');
  let ttl: number | 'inherit' = DEFAULT_TTL;
  if (ttlText === 'inherit') ttl = 'inherit';
  else if (ttlText !== undefined) {
    const n = Number(ttlText);
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new TunnelConfigError(`${name}: invalid TTL ${ttlText} (1 to 255, or inherit)`);
    // OVS: 0 means the default.
    ttl = n || DEFAULT_TTL;
  }
  const portText = o('dst_port');
  let dstPort = DEFAULT_DST_PORT[type];
  if (portText !== undefined) {
    const n = Number(portText);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new TunnelConfigError(`${name}: invalid dst_port ${portText} (a UDP port, 1 to 65535)`);
    dstPort = n;
  }
  const flag = (k: string, dflt: boolean): boolean => {
    const v = o(k);
    if (v === undefined) return dflt;
    if (v !== 'true' && v !== 'false') throw new TunnelConfigError(`${name}: ${k}=${v} must be true or false`);
    return v === 'true';
  };
  const config: TunnelConfig = {
    type,
    dstPort,
    remoteIp,
    inKey: inKeyText === undefined ? 0n : keyOption(name, o('in_key') === undefined ? 'key' : 'in_key', inKeyText),
    tos,
    ttl,
    df: flag('df_default', true),
    // OVS's default: UDP checksums over IPv6 (which requires them unless both ends agree), none over IPv4.
    csum: flag('csum', typeof remoteIp === 'bigint' && type !== 'gre'),
  };
  return {
    ...config,
    ...(localIp !== undefined ? { localIp } : {}),
    ...(outKeyText !== undefined ? { outKey: keyOption(name, o('out_key') === undefined ? 'key' : 'out_key', outKeyText) } : {}),
  };
}

/** How a configuration is written in tnl/ports/show and in the duplicate-tunnel error. */
export function describeTunnel(c: TunnelConfig): string {
  const ip = (v: UnderlayIp | 'flow' | undefined) => (v === undefined ? '::' : v === 'flow' ? 'flow' : formatUnderlayIp(v));
  const key = c.inKey === 'flow' ? 'flow' : c.inKey.toString();
  return `${ip(c.localIp)}->${ip(c.remoteIp)}, key=${key}, ${c.type === 'gre' ? '' : `dst_port=${c.dstPort}, `}legacy_l2`;
}

/** A tunnel OpenFlow port: the bridge and port it is, the vport that carries it, and its configuration. */
export interface TunnelPort {
  readonly name: string;
  readonly bridge: string;
  readonly ofport: number;
  readonly dpPort: number;
  readonly config: TunnelConfig;
}

/** Which OpenFlow port a received frame is for. */
export interface TunnelHit {
  readonly bridge: string;
  readonly ofport: number;
}

/** The configuration a receive lookup compares: the vport, the key, and both addresses. */
function sameMatch(a: TunnelPort, b: TunnelPort): boolean {
  return a.dpPort === b.dpPort && a.config.inKey === b.config.inKey && a.config.localIp === b.config.localIp && a.config.remoteIp === b.config.remoteIp;
}

/**
 * The OVS tnl_find order: (key exact or flow) x (local_ip configured, any, flow) x (remote_ip
 * exact or flow), exact keys first, then wildcard local addresses, then flow-based remotes.
 */
const LOOKUP_ORDER = Array.from({ length: 12 }, (_, i) => ({ keyFlow: (i & 1) === 1, local: (['cfg', 'any', 'flow'] as const)[Math.floor(i / 2) % 3]!, remoteFlow: Math.floor(i / 6) === 1 }));

/** Every tunnel port of every bridge, for the receive lookup and tnl/ports/show. */
export class TunnelPortMap {
  private readonly ports: TunnelPort[] = [];
  /** Frames that came in through a tunnel vport and matched no tunnel port (dropped). */
  unmatched = 0;

  /** Adds a port; refuses one whose receive configuration another port already has, as OVS does. */
  add(port: TunnelPort): void {
    const same = this.ports.find((p) => p.name !== port.name && sameMatch(p, port));
    if (same) {
      throw new TunnelConfigError(
        `${port.name}: attempting to add tunnel port with same config as port '${same.name}' (${describeTunnel(port.config)}): a duplicate tunnel; give it another remote_ip, local_ip or key`,
      );
    }
    this.remove(port.name);
    this.ports.push(port);
  }

  remove(name: string): void {
    const i = this.ports.findIndex((p) => p.name === name);
    if (i >= 0) this.ports.splice(i, 1);
  }

  list(): readonly TunnelPort[] {
    return this.ports;
  }

  /** True if datapath port `dpPort` is a tunnel vport some tunnel port uses. */
  isVport(dpPort: number): boolean {
    return this.ports.some((p) => p.dpPort === dpPort);
  }

  /** The tunnel port a frame received on vport `dpPort` with outer header `flow` (tun_*) is for. */
  receive(dpPort: number, flow: Flow): TunnelHit | undefined {
    const tunId = flow.get('tun_id');
    const [src, dst] = flowUnderlay(flow);
    for (const o of LOOKUP_ORDER) {
      const p = this.ports.find((x) => {
        const c = x.config;
        if (x.dpPort !== dpPort || (c.inKey === 'flow') !== o.keyFlow || (c.remoteIp === 'flow') !== o.remoteFlow) return false;
        const local = c.localIp === undefined ? 'any' : c.localIp === 'flow' ? 'flow' : 'cfg';
        if (local !== o.local) return false;
        return (o.keyFlow || c.inKey === tunId) && (o.remoteFlow || c.remoteIp === src) && (local !== 'cfg' || c.localIp === dst);
      });
      if (p) return { bridge: p.bridge, ofport: p.ofport };
    }
    return undefined;
  }
}

/**
 * The outer-header bits a frame from a tunnel is classified by (OVS's tnl_wc_init): the receive
 * lookup reads tun_id and both addresses (of the family `flow`'s underlay is), and the datapath's
 * df/csum/key flags and TOS are part of the tunnel's identity.
 */
export function unwildcardTunnel(flow: Flow, wc: FlowWildcards): void {
  wc.orField('tun_id').orField('tun_tos');
  if (flow.get('tun_ipv6_dst') !== 0n) wc.orField('tun_ipv6_src').orField('tun_ipv6_dst');
  else wc.orField('tun_src').orField('tun_dst');
  wc.orField('tun_flags', TUN_FLAG.DONT_FRAGMENT | TUN_FLAG.CSUM | TUN_FLAG.KEY);
}

/** ECN bits of a TOS byte, and the "congestion experienced" codepoint. */
const ECN_MASK = 0x3;
const ECN_CE = 0x3;
const ECN_ECT0 = 0x2;

/**
 * The outer header of a frame `flow` sent out of a tunnel port configured `c` (OVS's
 * tnl_port_send), unwildcarding what it reads of the flow; undefined if remote_ip=flow and the
 * flow has no tun_dst to send to.
 */
export function tunnelHeader(c: TunnelConfig, flow: Flow, wc: FlowWildcards, tlvMap?: TlvMap): TunnelSet | undefined {
  if (c.remoteIp === 'flow' || c.localIp === 'flow') wc.orField('tun_dst').orField('tun_ipv6_dst');
  if (c.localIp === 'flow') wc.orField('tun_src').orField('tun_ipv6_src');
  const [flowSrc, flowDst] = flowUnderlay(flow);
  const dst = c.remoteIp === 'flow' ? flowDst : c.remoteIp;
  if (dst === 0 || dst === 0n) return undefined;
  const v6 = typeof dst === 'bigint';
  const src = c.localIp === 'flow' ? flowSrc : (c.localIp ?? (v6 ? 0n : 0));
  // A flow-given source of the other family than the destination: let the host pick one.
  const srcText = typeof src === typeof dst ? formatUnderlayIp(src) : v6 ? '::' : '0.0.0.0';
  let tunId = 0n;
  if (c.outKey === 'flow') {
    wc.orField('tun_id');
    tunId = flow.get('tun_id');
  } else if (c.outKey !== undefined) tunId = c.outKey;
  const isIp = (): boolean => {
    wc.orField('dl_type');
    const t = flow.num('dl_type');
    return t === ETH_TYPE.IP || t === ETH_TYPE.IPV6;
  };
  let ttl = c.ttl === 'inherit' ? DEFAULT_TTL : c.ttl;
  if (c.ttl === 'inherit' && isIp()) {
    wc.orField('nw_ttl');
    ttl = flow.num('nw_ttl');
  }
  let tos = c.tos === 'inherit' ? 0 : c.tos;
  if (isIp()) {
    // The inner ECN travels outside too, congestion experienced as ECT(0) (RFC 6040), as OVS does.
    if (c.tos === 'inherit') {
      wc.orField('nw_tos');
      tos = flow.num('nw_tos') & ~ECN_MASK;
    } else wc.orField('nw_tos', ECN_MASK);
    const ecn = flow.num('nw_tos') & ECN_MASK;
    tos |= ecn === ECN_CE ? ECN_ECT0 : ecn;
  }
  // OAM is OpenFlow's to set; the rest comes from the port's configuration.
  wc.orField('tun_flags', TUN_FLAG.OAM);
  let flags = flow.num('tun_flags') & TUN_FLAG.OAM;
  // IPv6 has no don't-fragment bit (routers never fragment), so OVS sends none.
  if (c.df && !v6) flags |= TUN_FLAG.DONT_FRAGMENT;
  if (c.csum) flags |= TUN_FLAG.CSUM;
  if (c.outKey !== undefined) flags |= TUN_FLAG.KEY;
  const geneve = c.type === 'geneve' ? geneveOptions(flow, wc, tlvMap) : [];
  return { tunId, src: srcText, dst: formatUnderlayIp(dst), tos, ttl, tpSrc: 0, tpDst: c.dstPort, flags: dpTunnelFlags(flags), geneve };
}

/** The outer source and destination of `flow`: IPv6 (bigints) when it has a tun_ipv6_dst, else IPv4 (numbers). */
function flowUnderlay(flow: Flow): [UnderlayIp, UnderlayIp] {
  const dst6 = flow.get('tun_ipv6_dst');
  if (dst6 !== 0n) return [flow.get('tun_ipv6_src'), dst6];
  return [flow.num('tun_src'), flow.num('tun_dst')];
}

/** The Geneve option of the flow's tun_metadata (set by actions, or received), through the bridge's TLV map. */
function geneveOptions(flow: Flow, wc: FlowWildcards, tlvMap: TlvMap | undefined): GeneveOption[] {
  // With nothing mapped no frame has tun_metadata: the megaflow need not look.
  if (!tlvMap?.size()) return [];
  wc.orField('tun_metadata_present');
  const [index] = presentIndexes(flow.get('tun_metadata_present'));
  const mapping = index === undefined ? undefined : tlvMap.get(index);
  if (!mapping) return [];
  wc.orField('tun_metadata_value');
  const data = Buffer.alloc(DATAPATH_OPT_BYTES);
  data.writeBigUInt64BE(flow.get('tun_metadata_value'));
  return [{ optClass: mapping.optClass, type: mapping.optType, data: data.subarray(DATAPATH_OPT_BYTES - mapping.optLen) }];
}
