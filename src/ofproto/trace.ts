/**
 * `ofproto/trace BRIDGE FLOW [PACKET]`: follow a flow (OpenFlow match syntax, every field not
 * given is zero) or a real frame (hex, with FLOW supplying in_port) through a bridge and print
 * what happened, in the shape OVS's ofproto/trace uses:
 *
 *     Flow: ip,in_port=1,vlan_tci=0x0000,dl_src=...,dl_dst=...,nw_src=...,...
 *
 *     bridge("br0")
 *     -------------
 *      0. ip,in_port=1, priority 100, cookie 0x5
 *         resubmit(,1)
 *      1. No match.
 *         drop
 *
 *     Final flow: unchanged
 *     Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
 *     Datapath actions: drop
 *
 * Tracing a flow has no side effects; tracing a packet learns MACs like a real packet would.
 */
import { formatActions } from '../datapath/odp-syntax.js';
import { FRAG } from '../datapath/flow-key.js';
import { ETH_TYPE, Flow, FlowWildcards, IP_PROTO, REG_FIELDS, fieldMax, type FieldId } from './flow.js';
import { Match } from './match.js';
import { extractKey, keyToFlow } from './odp-convert.js';
import { formatMatch } from './print.js';
import { xlate, type BridgeContext, type TraceNode, type XlateResult } from './xlate.js';

/**
 * Reads the FLOW argument, in ovs-ofctl match syntax. The parser lives with the OpenFlow syntax
 * (src/openflow/), which ofproto does not import: the daemon hands it in.
 */
export type MatchParser = (text: string) => Match;

/** A bad ofproto/trace argument, worded for the person who typed it. */
export class TraceArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceArgError';
  }
}

/** The outer header of a frame from a tunnel: the trace's FLOW gives it, as a frame cannot. */
const TUNNEL_FIELDS: readonly FieldId[] = ['tun_id', 'tun_src', 'tun_dst', 'tun_ipv6_src', 'tun_ipv6_dst', 'tun_flags', 'tun_tos', 'tun_ttl'];

/** The fields of a flow worth printing: what its Ethernet type and protocol carry. */
function printableWc(flow: Flow): FlowWildcards {
  const wc = new FlowWildcards();
  const all = (f: FieldId) => wc.set(f, fieldMax(f));
  for (const f of [...TUNNEL_FIELDS, 'metadata', ...REG_FIELDS] as FieldId[]) if (flow.get(f) !== 0n) all(f);
  // tun_metadataN prints from its one bit of tun_metadata_present.
  const present = flow.get('tun_metadata_present');
  if (present) wc.set('tun_metadata_present', present).set('tun_metadata_value', fieldMax('tun_metadata_value'));
  for (const f of ['in_port', 'vlan_tci', 'dl_src', 'dl_dst', 'dl_type'] as FieldId[]) all(f);
  const t = flow.num('dl_type');
  if (t === ETH_TYPE.IP || t === ETH_TYPE.IPV6) {
    for (const f of (t === ETH_TYPE.IP ? ['nw_src', 'nw_dst'] : ['ipv6_src', 'ipv6_dst']) as FieldId[]) all(f);
    for (const f of ['nw_proto', 'nw_tos', 'nw_ttl'] as FieldId[]) all(f);
    const p = flow.num('nw_proto');
    if ([IP_PROTO.TCP, IP_PROTO.UDP, IP_PROTO.SCTP, IP_PROTO.ICMP, IP_PROTO.ICMPV6].includes(p as 1)) {
      all('tp_src');
      all('tp_dst');
    }
    if (p === IP_PROTO.TCP) all('tcp_flags');
  } else if (t === ETH_TYPE.ARP || t === ETH_TYPE.RARP) {
    for (const f of ['nw_src', 'nw_dst', 'nw_proto', 'arp_sha', 'arp_tha'] as FieldId[]) all(f);
  }
  return wc;
}

/** A flow the way OVS's flow_format prints it. */
function formatFlow(flow: Flow): string {
  return formatMatch(new Match(flow, printableWc(flow)));
}

/** The "Megaflow:" line: the flow under the consulted wildcards, as a datapath match. */
function formatMegaflow(flow: Flow, wc: FlowWildcards, frag: number = FRAG.no): string {
  const parts = ['recirc_id=0', 'eth'];
  const m = formatMatch(new Match(flow, wc));
  if (m) parts.push(m);
  const t = flow.num('dl_type');
  if (wc.has('dl_type') && (t === ETH_TYPE.IP || t === ETH_TYPE.IPV6)) parts.push(`nw_frag=${frag === FRAG.later ? 'later' : frag === FRAG.first ? 'first' : 'no'}`);
  return parts.join(',');
}

function isTerminal(t: TraceNode['type']): boolean {
  return t !== 'bridge' && t !== 'table';
}

/**
 * Prints a trace tree with OVS's indentation rule: a node is indented one step when it has a
 * following sibling or is a leaf, and its children one step further still; so the last table
 * of a chain lines up with the first, and actions sit under their table.
 */
function formatTraceNodes(nodes: readonly TraceNode[], level = 0): string {
  let out = '';
  nodes.forEach((n, i) => {
    if (n.type === 'bridge') out += '\n';
    const more = i < nodes.length - 1 || isTerminal(n.type) ? 1 : 0;
    const pad = ' '.repeat((level + more) * 4);
    switch (n.type) {
      case 'detail':
        out += `${pad} -> ${n.text}\n`;
        break;
      case 'warn':
        out += `${pad} >> ${n.text}\n`;
        break;
      case 'error':
        out += `${pad} >>>> ${n.text} <<<<\n`;
        break;
      case 'bridge':
        out += `${pad}${n.text}\n${pad}${'-'.repeat(n.text.length)}\n`;
        break;
      default:
        out += `${pad}${n.text}\n`;
    }
    out += formatTraceNodes(n.subs, level + 2 * more);
  });
  return out;
}

const ERROR_TEXT: Record<string, string> = { recursion_too_deep: 'Recursion too deep', too_many_resubmits: 'Too many resubmits', stack_underflow: 'Stack underflow', stack_too_deep: 'Stack too deep' };

/** The whole ofproto/trace report for a finished translation. */
function formatTrace(initial: Flow, r: XlateResult, frag: number = FRAG.no): string {
  let s = `Flow: ${formatFlow(initial)}\n`;
  s += formatTraceNodes(r.trace);
  s += `\nFinal flow: ${r.finalFlow.equals(initial) ? 'unchanged' : formatFlow(r.finalFlow)}\n`;
  s += `Megaflow: ${formatMegaflow(initial, r.wc, frag)}\n`;
  s += `Datapath actions: ${formatActions(r.actions)}\n`;
  if (r.error) s += `\nTranslation failed (${ERROR_TEXT[r.error.code] ?? r.error.code}), packet is dropped.\n`;
  return s;
}

function parseHexFrame(s: string): Buffer | undefined {
  const t = s.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(t) || t.length < 28) return undefined;
  return Buffer.from(t, 'hex');
}

/** Replaces `in_port=NAME` by the port's number so users can trace by port name. */
function resolvePortNames(bridge: BridgeContext, text: string): string {
  return text.replace(/(^|[,\s])in_port=([^,\s]+)/, (all, pre: string, name: string) => {
    const p = bridge.ports().find((x) => x.name === name);
    return p ? `${pre}in_port=${p.ofport}` : all;
  });
}

/**
 * Runs ofproto/trace on `bridge` with the arguments after the bridge name: `FLOW` or
 * `FLOW PACKET_HEX`. Throws TraceArgError for unusable arguments.
 */
export function ofprotoTrace(bridge: BridgeContext, args: readonly string[], parseMatch: MatchParser): string {
  if (args.length < 1 || args.length > 2) throw new TraceArgError('usage: ofproto/trace BRIDGE FLOW [PACKET], e.g. ofproto/trace br0 in_port=1,dl_dst=ff:ff:ff:ff:ff:ff');
  const [flowText, packetText] = args as [string, string | undefined];
  if (packetText === undefined && parseHexFrame(flowText) && !flowText.includes('=')) {
    throw new TraceArgError('a packet needs a flow that names its in_port: ofproto/trace BRIDGE in_port=1 PACKET_HEX');
  }
  let match: Match;
  try {
    match = parseMatch(resolvePortNames(bridge, flowText));
  } catch (e) {
    throw new TraceArgError(`Bad openflow flow syntax: ${(e as Error).message}`);
  }
  let flow = match.flow.clone();
  let frag: number = FRAG.no;
  let sideEffects = false;
  if (packetText !== undefined) {
    const frame = parseHexFrame(packetText);
    if (!frame) throw new TraceArgError(`"${packetText.slice(0, 40)}": a packet is an even number of hex digits, at least a 14-byte Ethernet header`);
    const port = bridge.port(flow.num('in_port'));
    if (!port) throw new TraceArgError(`in_port=${flow.num('in_port')} is not a port of bridge ${bridge.name}`);
    const key = extractKey(frame, port.dpPort);
    const pflow = keyToFlow(key, port.ofport);
    for (const f of [...TUNNEL_FIELDS, 'tun_metadata_present', 'tun_metadata_value', 'metadata', ...REG_FIELDS] as FieldId[]) pflow.set(f, flow.get(f));
    flow = pflow;
    frag = Number(key['ipv4.frag'] ?? key['ipv6.frag'] ?? 0);
    sideEffects = true;
  }
  const r = xlate(bridge, flow, { trace: true, sideEffects });
  return formatTrace(flow, r, frag);
}
