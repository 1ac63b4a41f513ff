/**
 * ofproto's rules, matches, actions and groups as text, the way ovs-ofctl prints them
 * (dump-flows, dump-groups) and ofproto/trace shows them: normalised field order, `ip`/`tcp`/...
 * shorthand for dl_type+nw_proto, CIDR masks. Formats follow OVS's lib/match.c, lib/ofp-flow.c
 * and lib/ofp-actions.c; the code is ours. The parser for the same syntax is
 * src/openflow/flow-syntax.ts, and every line printed here parses back to what was printed.
 */
import { formatTunMetadataMatch } from './tun-metadata.js';
import { formatIpv4, formatIpv6, formatMac, prefixLength } from '../lib/addr.js';
import { hex } from '../lib/uint.js';
import { OFPG, OFPP, type Action, type Instructions, type Subfield } from './actions.js';
import { ADDRESS_FIELDS, ETH_TYPE, IP_PROTO, REG_FIELDS, TUN_FLAG, VLAN_CFI, fieldMax, type FieldId } from './flow.js';
import { OFP_DEFAULT_PRIORITY, type FlowModFlags, type Rule } from './flow-table.js';
import type { Group } from './groups.js';
import type { Match } from './match.js';
import { OFPM, type MeterBand, type MeterConfig, type MeterFlags, type MeterStats } from './meters.js';
import { PORT_NAMES, TCP_FLAG_NAMES, fieldNameOf } from './names.js';

// ---------------------------------------------------------------------------------------------
// Values

/** A port by its reserved name (LOCAL, CONTROLLER, ...) or its number. */
function formatPort(port: number): string {
  const named = PORT_NAMES.find(([, p]) => p === port);
  return named ? named[0] : String(port);
}

/** tcp_flags as names (syn|ack) when fully matched, else as +flag-flag. */
function formatTcpFlags(v: number, m: number): string {
  if (m === 0xfff) {
    if (v === 0) return '0';
    const names: string[] = [];
    let bad = 0;
    for (let b = 0; b < 12; b++) {
      if (!(v & (1 << b))) continue;
      if (b < TCP_FLAG_NAMES.length) names.push(TCP_FLAG_NAMES[b]!);
      else bad |= 1 << b;
    }
    if (bad) names.push(`0x${bad.toString(16)}`);
    return names.join('|');
  }
  let s = '';
  for (let b = 0; b < 12; b++) {
    if (!(m & (1 << b))) continue;
    s += (v & (1 << b) ? '+' : '-') + (TCP_FLAG_NAMES[b] ?? `[${(1 << b).toString(16)}]`);
  }
  return s;
}

/** tun_flags bits by name, as OVS's flow_tun_flag_to_string names them. */
const TUN_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [TUN_FLAG.OAM, 'oam'],
  [TUN_FLAG.DONT_FRAGMENT, 'df'],
  [TUN_FLAG.CSUM, 'csum'],
  [TUN_FLAG.KEY, 'key'],
];
const TUN_FLAGS_ALL = TUN_FLAG_NAMES.reduce((m, [b]) => m | b, 0);

/** tun_flags as names (df|key) when every flag is matched, else as +flag-flag (OVS's format_flags_masked). */
function formatTunFlags(v: number, m: number): string {
  if ((m & TUN_FLAGS_ALL) === TUN_FLAGS_ALL) return TUN_FLAG_NAMES.filter(([b]) => v & b).map(([, n]) => n).join('|') || '0';
  return TUN_FLAG_NAMES.filter(([b]) => m & b).map(([b, n]) => (v & b ? '+' : '-') + n).join('');
}

// ---------------------------------------------------------------------------------------------
// Matches (lib/match.c match_format order)

function fmtMaskedHex(name: string, v: bigint, m: bigint, max: bigint): string {
  return `${name}=${hex(v)}${m === max ? '' : `/${hex(m)}`}`;
}

function fmtBe16(name: string, v: bigint, m: bigint): string {
  return m === 0xffffn ? `${name}=${v}` : `${name}=0x${v.toString(16)}/0x${m.toString(16)}`;
}

function fmtIPv4Masked(name: string, v: bigint, m: bigint): string {
  if (m === 0xffffffffn) return `${name}=${formatIpv4(Number(v))}`;
  const p = prefixLength(m, 32);
  return `${name}=${formatIpv4(Number(v))}/${p ?? formatIpv4(Number(m))}`;
}

function fmtIPv6Masked(name: string, v: bigint, m: bigint): string {
  if (m === fieldMax('ipv6_src')) return `${name}=${formatIpv6(v)}`;
  const p = prefixLength(m, 128);
  return `${name}=${formatIpv6(v)}/${p ?? formatIpv6(m)}`;
}

function fmtMac(name: string, v: bigint, m: bigint): string {
  return `${name}=${formatMac(v)}${m === fieldMax('dl_src') ? '' : `/${formatMac(m)}`}`;
}

/** Formats a match like `ovs-ofctl dump-flows`; includes `priority=` unless it is 32768. */
export function formatMatch(match: Match, priority = OFP_DEFAULT_PRIORITY): string {
  const out: string[] = [];
  const get = (f: FieldId) => match.field(f);
  const has = (f: FieldId) => match.wc.has(f);
  if (priority !== OFP_DEFAULT_PRIORITY) out.push(`priority=${priority}`);

  const dlType = Number(get('dl_type').value);
  const proto = Number(get('nw_proto').value);
  let skipType = false;
  let skipProto = false;
  if (has('dl_type')) {
    skipType = true;
    if (dlType === ETH_TYPE.IP || dlType === ETH_TYPE.IPV6) {
      const v6 = dlType === ETH_TYPE.IPV6;
      const names: Record<number, string> = v6 ? { 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' } : { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
      const short = has('nw_proto') ? names[proto] : undefined;
      if (short) skipProto = true;
      out.push(short ?? (v6 ? 'ipv6' : 'ip'));
    } else if (dlType === ETH_TYPE.ARP) out.push('arp');
    else if (dlType === ETH_TYPE.RARP) out.push('rarp');
    else skipType = false;
  }
  for (const f of REG_FIELDS) {
    if (has(f)) out.push(fmtMaskedHex(f, get(f).value, get(f).mask, 0xffffffffn));
  }
  if (has('tun_id')) out.push(fmtMaskedHex('tun_id', get('tun_id').value, get('tun_id').mask, fieldMax('tun_id')));
  if (has('tun_src')) out.push(fmtIPv4Masked('tun_src', get('tun_src').value, get('tun_src').mask));
  if (has('tun_dst')) out.push(fmtIPv4Masked('tun_dst', get('tun_dst').value, get('tun_dst').mask));
  if (has('tun_ipv6_src')) out.push(fmtIPv6Masked('tun_ipv6_src', get('tun_ipv6_src').value, get('tun_ipv6_src').mask));
  if (has('tun_ipv6_dst')) out.push(fmtIPv6Masked('tun_ipv6_dst', get('tun_ipv6_dst').value, get('tun_ipv6_dst').mask));
  if (has('tun_tos')) out.push(`tun_tos=${get('tun_tos').value.toString(16)}`);
  if (has('tun_ttl')) out.push(`tun_ttl=${get('tun_ttl').value}`);
  if (has('tun_flags')) out.push(`tun_flags=${formatTunFlags(Number(get('tun_flags').value), Number(get('tun_flags').mask))}`);
  if (has('tun_metadata_present')) out.push(...formatTunMetadataMatch(get('tun_metadata_present'), get('tun_metadata_value')));
  if (has('metadata')) out.push(fmtMaskedHex('metadata', get('metadata').value, get('metadata').mask, fieldMax('metadata')));
  if (has('in_port')) out.push(`in_port=${formatPort(Number(get('in_port').value))}`);
  if (has('vlan_tci')) {
    const { value: tci, mask } = get('vlan_tci');
    const vidM = mask & 0x0fffn;
    const pcpM = mask & 0xe000n;
    if (mask & BigInt(VLAN_CFI) && tci & BigInt(VLAN_CFI) && (vidM === 0n || vidM === 0xfffn) && (pcpM === 0n || pcpM === 0xe000n) && (vidM || pcpM)) {
      if (vidM) out.push(`dl_vlan=${tci & 0xfffn}`);
      if (pcpM) out.push(`dl_vlan_pcp=${tci >> 13n}`);
    } else if (mask === 0xffffn) out.push(`vlan_tci=0x${tci.toString(16).padStart(4, '0')}`);
    else out.push(`vlan_tci=0x${tci.toString(16).padStart(4, '0')}/0x${mask.toString(16).padStart(4, '0')}`);
  }
  if (has('dl_src')) out.push(fmtMac('dl_src', get('dl_src').value, get('dl_src').mask));
  if (has('dl_dst')) out.push(fmtMac('dl_dst', get('dl_dst').value, get('dl_dst').mask));
  if (!skipType && has('dl_type')) out.push(`dl_type=0x${dlType.toString(16).padStart(4, '0')}`);
  const isArp = has('dl_type') && (dlType === ETH_TYPE.ARP || dlType === ETH_TYPE.RARP);
  if (has('dl_type') && dlType === ETH_TYPE.IPV6) {
    if (has('ipv6_src')) out.push(fmtIPv6Masked('ipv6_src', get('ipv6_src').value, get('ipv6_src').mask));
    if (has('ipv6_dst')) out.push(fmtIPv6Masked('ipv6_dst', get('ipv6_dst').value, get('ipv6_dst').mask));
  } else if (isArp) {
    if (has('nw_src')) out.push(fmtIPv4Masked('arp_spa', get('nw_src').value, get('nw_src').mask));
    if (has('nw_dst')) out.push(fmtIPv4Masked('arp_tpa', get('nw_dst').value, get('nw_dst').mask));
  } else {
    if (has('nw_src')) out.push(fmtIPv4Masked('nw_src', get('nw_src').value, get('nw_src').mask));
    if (has('nw_dst')) out.push(fmtIPv4Masked('nw_dst', get('nw_dst').value, get('nw_dst').mask));
  }
  if (!skipProto && has('nw_proto')) out.push(`${isArp ? 'arp_op' : 'nw_proto'}=${proto}`);
  if (isArp) {
    if (has('arp_sha')) out.push(fmtMac('arp_sha', get('arp_sha').value, get('arp_sha').mask));
    if (has('arp_tha')) out.push(fmtMac('arp_tha', get('arp_tha').value, get('arp_tha').mask));
  }
  const tos = get('nw_tos');
  if (tos.mask & 0xfcn) out.push(`nw_tos=${tos.value & 0xfcn}`);
  if (tos.mask & 3n) out.push(`nw_ecn=${tos.value & 3n}`);
  if (has('nw_ttl')) out.push(`nw_ttl=${get('nw_ttl').value}`);
  const icmp = has('dl_type') && has('nw_proto') && ((dlType === ETH_TYPE.IP && proto === IP_PROTO.ICMP) || (dlType === ETH_TYPE.IPV6 && proto === IP_PROTO.ICMPV6));
  if (has('tp_src')) out.push(fmtBe16(icmp ? 'icmp_type' : 'tp_src', get('tp_src').value, get('tp_src').mask));
  if (has('tp_dst')) out.push(fmtBe16(icmp ? 'icmp_code' : 'tp_dst', get('tp_dst').value, get('tp_dst').mask));
  if (icmp && dlType === ETH_TYPE.IPV6) {
    if (has('nd_target')) out.push(fmtIPv6Masked('nd_target', get('nd_target').value, get('nd_target').mask));
    if (has('arp_sha')) out.push(fmtMac('nd_sll', get('arp_sha').value, get('arp_sha').mask));
    if (has('arp_tha')) out.push(fmtMac('nd_tll', get('arp_tha').value, get('arp_tha').mask));
    if (has('nd_reserved')) out.push(`nd_reserved=${get('nd_reserved').value}`);
    if (has('nd_options_type')) out.push(`nd_options_type=${get('nd_options_type').value}`);
  }
  if (has('tcp_flags')) out.push(`tcp_flags=${formatTcpFlags(Number(get('tcp_flags').value), Number(get('tcp_flags').mask))}`);
  return out.join(',');
}

// ---------------------------------------------------------------------------------------------
// Actions

/** A subfield as NXM_NX_REG0[0..15], NXM_OF_ETH_SRC[] or NXM_NX_REG1[3]. */
function formatSubfield(sf: Subfield): string {
  const f = fieldNameOf(sf.field, sf.name);
  if (sf.ofs === 0 && sf.nBits === f.bits) return `${f.nxm}[]`;
  if (sf.nBits === 1) return `${f.nxm}[${sf.ofs}]`;
  return `${f.nxm}[${sf.ofs}..${sf.ofs + sf.nBits - 1}]`;
}

function formatFieldValue(f: FieldId, v: bigint): string {
  switch (ADDRESS_FIELDS[f]) {
    case 'mac':
      return formatMac(v);
    case 'ipv4':
      return formatIpv4(Number(v));
    case 'ipv6':
      return formatIpv6(v);
  }
  switch (f) {
    case 'in_port':
      return formatPort(Number(v));
    case 'nw_proto':
    case 'nw_ttl':
    case 'tp_src':
    case 'tp_dst':
    case 'nd_reserved':
    case 'nd_options_type':
      return String(v);
    default:
      return hex(v);
  }
}

function formatSetField(a: Extract<Action, { type: 'set_field' }>): string {
  if (a.field === 'vlan_tci' && a.mask === 0x1fffn) return `set_field:${a.value & 0xfffn}->vlan_vid`;
  if (a.field === 'vlan_tci' && a.mask === 0xe000n) return `set_field:${a.value >> 13n}->vlan_pcp`;
  if (a.field === 'nw_tos' && a.mask === 0xfcn) return `set_field:${a.value >> 2n}->ip_dscp`;
  const fn = fieldNameOf(a.field, a.name);
  const masked = a.mask !== fieldMax(a.field);
  return `set_field:${formatFieldValue(a.field, a.value)}${masked ? `/${formatFieldValue(a.field, a.mask)}` : ''}->${fn.mf}`;
}

/**
 * controller(...) as OVS's format_CONTROLLER writes it: only what differs from the defaults,
 * in the order reason, max_len, id, userdata, pause, meter_id.
 */
function formatController(a: Extract<Action, { type: 'controller' }>): string {
  const parts: string[] = [];
  if (a.reason !== 'action') parts.push(`reason=${a.reason}`);
  if (a.maxLen !== 0xffff) parts.push(`max_len=${a.maxLen}`);
  if (a.controllerId !== 0) parts.push(`id=${a.controllerId}`);
  if (a.userdata?.length) parts.push(`userdata=${[...a.userdata].map((b) => b.toString(16).padStart(2, '0')).join('.')}`);
  if (a.pause) parts.push('pause');
  if (a.meterId !== undefined) parts.push(`meter_id=${a.meterId}`);
  return parts.length ? `controller(${parts.join(',')})` : `CONTROLLER:${a.maxLen}`;
}

/** One action as ovs-ofctl writes it. */
export function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      if (a.port === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen}`;
      return a.port < OFPP.MAX ? `output:${a.port}` : formatPort(a.port);
    case 'set_vlan_vid':
      return `${a.push ? 'mod_vlan_vid' : 'set_vlan_vid'}:${a.vid}`;
    case 'set_vlan_pcp':
      return `${a.push ? 'mod_vlan_pcp' : 'set_vlan_pcp'}:${a.pcp}`;
    case 'strip_vlan':
      return a.raw;
    case 'push_vlan':
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case 'set_eth_src':
      return `mod_dl_src:${formatMac(a.mac)}`;
    case 'set_eth_dst':
      return `mod_dl_dst:${formatMac(a.mac)}`;
    case 'set_ipv4_src':
      return `mod_nw_src:${formatIpv4(a.ip)}`;
    case 'set_ipv4_dst':
      return `mod_nw_dst:${formatIpv4(a.ip)}`;
    case 'set_ip_dscp':
      return `mod_nw_tos:${a.tos}`;
    case 'set_l4_src_port':
      return `mod_tp_src:${a.port}`;
    case 'set_l4_dst_port':
      return `mod_tp_dst:${a.port}`;
    case 'dec_ttl':
      return 'dec_ttl';
    case 'set_field':
      return formatSetField(a);
    case 'load':
      return `load:${hex(a.value)}->${formatSubfield(a.dst)}`;
    case 'move':
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    case 'resubmit':
      if (a.inPort !== OFPP.IN_PORT && a.table === 255) return `resubmit:${formatPort(a.inPort)}`;
      return `resubmit(${a.inPort !== OFPP.IN_PORT ? formatPort(a.inPort) : ''},${a.table !== 255 ? a.table : ''})`;
    case 'set_tunnel':
      return `set_tunnel${a.is64 ? '64' : ''}:${hex(a.tunId)}`;
    case 'group':
      return `group:${a.groupId}`;
    case 'output_reg':
      return `output:${formatSubfield(a.src)}`;
    case 'push':
      return `push:${formatSubfield(a.src)}`;
    case 'pop':
      return `pop:${formatSubfield(a.dst)}`;
    case 'controller':
      return formatController(a);
    case 'sample':
      return formatSample(a);
  }
}

/** As ovs-ofctl prints it: every id, then the sampling port and direction when set. */
function formatSample(a: Extract<Action, { type: 'sample' }>): string {
  const port = a.samplingPort !== OFPP.ANY ? `,sampling_port=${formatPort(a.samplingPort)}` : '';
  const direction = a.direction !== 'default' ? `,${a.direction}` : '';
  return `sample(probability=${a.probability},collector_set_id=${a.collectorSetId},obs_domain_id=${a.obsDomainId},obs_point_id=${a.obsPointId}${port}${direction})`;
}

/** An action list; an empty one is "drop". */
export function formatActionList(actions: readonly Action[]): string {
  return actions.length ? actions.map(formatAction).join(',') : 'drop';
}

/** Formats instructions as ovs-ofctl prints them after `actions=`. */
function formatInstructions(ins: Instructions): string {
  const parts = ins.apply.map(formatAction);
  if (ins.meter !== undefined) parts.unshift(`meter:${ins.meter}`);
  if (ins.clearActions) parts.push('clear_actions');
  if (ins.write) parts.push(`write_actions(${formatActionList(ins.write)})`);
  if (ins.writeMetadata) {
    const { value, mask } = ins.writeMetadata;
    parts.push(`write_metadata:${hex(value)}${mask === fieldMax('metadata') ? '' : `/${hex(mask)}`}`);
  }
  if (ins.gotoTable !== undefined) parts.push(`goto_table:${ins.gotoTable}`);
  return parts.length ? parts.join(',') : 'drop';
}

// ---------------------------------------------------------------------------------------------
// Flows and groups

/** Seconds with 3 decimals when whole milliseconds, else as many as the nanoseconds need (ofp_print_duration). */
export function formatDuration(ms: number): string {
  const totalNs = BigInt(Math.max(0, Math.round(ms * 1e6)));
  const sec = totalNs / 1_000_000_000n;
  const nsec = Number(totalNs % 1_000_000_000n);
  if (nsec === 0) return `${sec}s`;
  const msec = Math.floor(nsec / 1e6);
  if (msec * 1e6 === nsec) return `${sec}.${String(msec).padStart(3, '0')}s`;
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}s`;
}

function formatFlags(f: Readonly<FlowModFlags>): string {
  let s = '';
  if (f.sendFlowRem) s += 'send_flow_rem ';
  if (f.checkOverlap) s += 'check_overlap ';
  if (f.resetCounts) s += 'reset_counts ';
  if (f.noPacketCounts) s += 'no_packet_counts ';
  if (f.noByteCounts) s += 'no_byte_counts ';
  return s;
}

/** The subset of a rule that formatting needs (a Rule or a FlowMod-like record). */
export interface FormattableFlow {
  tableId: number;
  match: Match;
  priority: number;
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  flags: Readonly<FlowModFlags>;
  instructions: Instructions;
}

/**
 * Formats one flow as `ovs-ofctl dump-flows` does (OpenFlow 1.3 flow stats: no idle_age):
 * ` cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, priority=100,ip actions=output:2`.
 * Without stats (`--no-stats`), cookie and table appear only when nonzero and there is no
 * leading space.
 */
export function formatFlow(f: FormattableFlow, opts: { stats?: { durationMs: number; nPackets: bigint; nBytes: bigint } } = {}): string {
  let s = '';
  const st = opts.stats;
  if (st || f.cookie) s += `cookie=0x${f.cookie.toString(16)}, `;
  if (st) s += `duration=${formatDuration(st.durationMs)}, `;
  if (st || f.tableId) s += `table=${f.tableId}, `;
  if (st) s += `n_packets=${st.nPackets}, n_bytes=${st.nBytes}, `;
  if (f.idleTimeout) s += `idle_timeout=${f.idleTimeout}, `;
  if (f.hardTimeout) s += `hard_timeout=${f.hardTimeout}, `;
  s += formatFlags(f.flags);
  if (f.importance) s += `importance=${f.importance}, `;
  const m = formatMatch(f.match, f.priority);
  if (m) s += `${m} `;
  s += `actions=${formatInstructions(f.instructions)}`;
  return st ? ` ${s}` : s;
}

/** One dump-flows line for a rule, with duration against `now` (ms on the tables' clock). */
export function formatFlowStats(rule: Rule, now: number): string {
  return formatFlow(rule, { stats: { durationMs: now - rule.createdAt, nPackets: rule.nPackets, nBytes: rule.nBytes } });
}

/** Formats a group as ovs-ofctl dump-groups prints it (without the leading space). */
export function formatGroup(g: Pick<Group, 'groupId' | 'type' | 'buckets'>): string {
  let s = `group_id=${g.groupId},type=${g.type}`;
  for (const b of g.buckets) {
    s += ',bucket=';
    if (b.weight !== (g.type === 'select' ? 1 : 0)) s += `weight:${b.weight},`;
    if (b.watchPort !== OFPP.ANY) s += `watch_port:${formatPort(b.watchPort)},`;
    if (b.watchGroup !== OFPG.ANY) s += `watch_group:${b.watchGroup},`;
    s += `actions=${formatActionList(b.actions)}`;
  }
  return s;
}

/** `meter=N`, or the name of a reserved meter id, as OVS's ofputil_format_meter_id writes it after `separator`. */
function formatMeterId(meterId: number, separator: string): string {
  if (meterId <= OFPM.MAX) return `meter${separator}${meterId}`;
  const name = meterId === OFPM.SLOWPATH ? 'slowpath' : meterId === OFPM.CONTROLLER ? 'controller' : meterId === OFPM.ALL ? 'all' : 'unknown';
  return `meter${separator}${name}`;
}

function formatMeterFlags(f: Readonly<MeterFlags>): string {
  return (f.kbps ? 'kbps ' : '') + (f.pktps ? 'pktps ' : '') + (f.burst ? 'burst ' : '') + (f.stats ? 'stats ' : '');
}

function formatMeterBand(b: MeterBand, flags: Readonly<MeterFlags>): string {
  let s = `\ntype=${b.type} rate=${b.rate}`;
  if (flags.burst) s += ` burst_size=${b.burstSize}`;
  if (b.type === 'dscp_remark') s += ` prec_level=${b.precLevel}`;
  return s;
}

/**
 * Formats one meter as `ovs-ofctl dump-meters` does (one line, then a line per band):
 * `meter=1 kbps burst stats bands=` / `type=drop rate=1000 burst_size=100`.
 */
export function formatMeter(m: MeterConfig): string {
  return `${formatMeterId(m.meterId, '=')} ${formatMeterFlags(m.flags)}bands=${m.bands.map((b) => formatMeterBand(b, m.flags)).join('')}`;
}

/**
 * Formats one meter's counters as `ovs-ofctl meter-stats` does:
 * `meter:1 flow_count:1 packet_in_count:10 byte_in_count:600 duration:1.5s bands:` / `0: packet_count:4 byte_count:240`.
 */
export function formatMeterStats(st: MeterStats): string {
  let s = `${formatMeterId(st.meterId, ':')} flow_count:${st.flowCount} packet_in_count:${st.packetInCount} byte_in_count:${st.byteInCount} `;
  s += `duration:${formatDuration(st.durationMs)} bands:`;
  st.bands.forEach((b, i) => (s += `\n${i}: packet_count:${b.packetCount} byte_count:${b.byteCount}`));
  return s;
}
