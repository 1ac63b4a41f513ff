/**
 * xlate: translate one missed flow through a bridge's OpenFlow tables into datapath actions and
 * the megaflow wildcards that justify them (OVS's ofproto-dpif-xlate, reduced to what TVS needs).
 *
 * The wildcard contract: `wc` marks every bit of the input flow the translation consulted, so
 * that any flow equal to it under `wc` translates to the same datapath actions. It collects
 * - the masks of every classifier subtable probed (Classifier.lookup), including higher-priority
 *   rules that did not match;
 * - in_port and dl_type always (OVS's xlate_wc_init);
 * - every bit an action reads (move sources, dec_ttl's TTL, prerequisites of set-field, the
 *   fields hashed by a select group, NORMAL's in_port/dl_src/dl_dst/VLAN);
 * - every bit an action writes, so the commit step (which compares the modified flow with what
 *   the datapath packet holds, `base`) decides the same way for every flow of the class.
 * Registers and metadata are not packet fields and are cleared from `wc` at the end.
 *
 * Header changes are not emitted as they happen: they accumulate in `flow` and are committed
 * (set / push_vlan / pop_vlan) just before each output, as OVS's commit_odp_actions does.
 */
import type { Action as DpAction, SetFieldValue, SetProto } from '../datapath/actions.js';
import { bytesMask, presentBit, presentIndexes, tooManyOptions, tunMetadataIndex, type TlvMap } from './tun-metadata.js';
import { fieldSpan, type FieldName, type FlowKey } from '../datapath/flow-key.js';
import { formatMac } from '../lib/addr.js';
import { OFPP, type Action, type ControllerReason, type Instructions, type Subfield } from './actions.js';
import { ETH_TYPE, Flow, FlowWildcards, IP_PROTO, ND_TYPE, REG_FIELDS, TUN_FLAG, VLAN_CFI, VLAN_VID_MASK, WIDE_REG_FIELDS, fieldMax, type FieldId } from './flow.js';
import { OFP_DEFAULT_PRIORITY, type FlowTables, type Rule } from './flow-table.js';
import { Match } from './match.js';
import type { Group, GroupTable } from './groups.js';
import type { MeterTable } from './meters.js';
import { spanTci, type Mirror, type MirrorSet } from './mirror.js';
import type { PacketInTable } from './packet-in-table.js';
import { isMulticastMac, type LearnResult, type MacLearningTable } from './mac-learning.js';
import { dpValue, geneveOptionToFlow, keyToFlow } from './odp-convert.js';
import { formatAction, formatActionList, formatMatch } from './print.js';
import { inputVlan, outputTci, portCarriesVlan, type ResolvedVlan } from './vlan.js';
import { tunnelHeader, unwildcardTunnel, type TunnelConfig, type TunnelPortMap } from './tunnel.js';
import { withSflowSample, type SflowSampling } from './sflow.js';
import { NF_OUT, type Netflow, type NetflowRef } from './netflow.js';
import { bridgeSampleAction, flowSampleAction, type IpfixSampling } from './ipfix-sampling.js';

/** Deepest resubmit nesting (OVS's MAX_DEPTH). */
export const MAX_RESUBMIT_DEPTH = 64;
/** Most resubmits in one translation (OVS's MAX_RESUBMITS). */
const MAX_RESUBMITS = MAX_RESUBMIT_DEPTH * MAX_RESUBMIT_DEPTH;

/** One port of a bridge as xlate sees it. */
export interface BridgePort {
  /** OpenFlow port number (OFPP.LOCAL for the bridge's internal port). */
  readonly ofport: number;
  /** Datapath port number. */
  readonly dpPort: number;
  readonly name: string;
  readonly vlan: ResolvedVlan;
  /** Administratively up (not OFPPC_PORT_DOWN / NO_FWD): output is skipped otherwise. */
  readonly adminUp: boolean;
  /** Carrier; only group liveness looks at it. Defaults to up. */
  readonly linkUp?: boolean;
  /** Excluded from FLOOD and from NORMAL's flooding (OFPPC_NO_FLOOD). */
  readonly noFlood?: boolean;
  /** Drops every frame it receives (OFPPC_NO_RECV, or OFPPC_PORT_DOWN). */
  readonly noRecv?: boolean;
  /** A tunnel port: `dpPort` is the vport it shares with the other tunnels of its type and UDP port. */
  readonly tunnel?: TunnelConfig;
}

export interface BridgeConfig {
  /** Netlink-style pid put in userspace actions (the upcall handler's id). */
  readonly upcallPid: number;
  /** Forward reserved multicast (01:80:c2:00:00:0x, STP/LLDP...) in NORMAL; OVS's other_config:forward-bpdu. */
  readonly forwardBpdu: boolean;
  /** dec_ttl on TTL 0/1 sends a packet-in (reason invalid_ttl) instead of only dropping. */
  readonly invalidTtlToController: boolean;
  /** A table miss sends a packet-in (reason no_match) instead of dropping (OpenFlow 1.0 behaviour). */
  readonly missToController: boolean;
  /**
   * Fail-open (fail_mode standalone with its controllers unreachable): every packet goes to
   * NORMAL whatever the tables say, as OVS's hidden fail-open rule makes it, and the tables
   * (what dump-flows shows) stay as they are.
   */
  readonly failOpen?: boolean;
}

/** What xlate needs from a bridge. src/ofproto/xbridge.ts implements it. */
export interface BridgeContext {
  readonly name: string;
  readonly tables: FlowTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  readonly mac: MacLearningTable;
  readonly config: BridgeConfig;
  port(ofport: number): BridgePort | undefined;
  portByDp(dpPort: number): BridgePort | undefined;
  /** Every port, by ascending ofport. */
  ports(): readonly BridgePort[];
  /** Where controller actions intern the packet-ins their upcalls turn into. */
  readonly packetIns: PacketInTable;
  /** The tunnel ports of every bridge, which say which port a frame from a tunnel vport is for. */
  readonly tunnels?: Pick<TunnelPortMap, 'isVport' | 'receive'>;
  /** Which Geneve option each tun_metadataN is (none mapped when absent). */
  readonly tlvMap?: TlvMap;
  /** The bridge's port mirrors (none when absent). */
  readonly mirrors?: MirrorSet;
  /** The bridge's sFlow sampling (none when absent). */
  readonly sflow?: SflowSampling | undefined;
  /** NetFlow accounting, when the bridge has it on. */
  readonly netflow?: Netflow | undefined;
  /** IPFIX sampling (bridge and per-flow), when the bridge has any. */
  readonly ipfix?: IpfixSampling | undefined;
}

/** A node of the `ofproto/trace` tree (OVS's oftrace_node). */
export interface TraceNode {
  type: 'bridge' | 'table' | 'action' | 'detail' | 'warn' | 'error' | 'bucket';
  text: string;
  subs: TraceNode[];
}

/** Why a packet goes to the controller; its code is its index (OpenFlow's ofp_packet_in_reason). */
export type PacketInReason = ControllerReason;

export interface PacketIn {
  reason: PacketInReason;
  tableId: number;
  cookie: bigint;
  maxLen: number;
  /** The bridge and the OpenFlow port the packet came in on (OFPP.CONTROLLER for a packet-out's). */
  bridge: string;
  inPort: number;
  /** The pipeline metadata that is not in the packet (tunnel id, metadata, registers), where not zero. */
  metadata: Partial<Record<FieldId, bigint>>;
  /**
   * Sent by a table-miss rule (priority 0, matching everything): OpenFlow 1.3+ report it as
   * no_match (OVS's OFPR_EXPLICIT_MISS), earlier versions as action.
   */
  tableMiss?: true;
  /** controller(id=N): the controller connection it is for (0: every controller). */
  controllerId?: number;
  /** controller(userdata=...). */
  userdata?: Buffer;
  /** controller(meter_id=N): the meter these packet-ins go through. */
  meterId?: number;
  /** controller(pause): where the pipeline stopped; `xlateResume` continues it. */
  continuation?: Continuation;
}

/** One level of the pipeline a pause stopped in: what was left of a rule's actions. */
export interface ResumeFrame {
  /** The table the rule is in (what resubmit(,255) means in these actions). */
  tableId: number;
  /** The rule's cookie (for packet-ins these actions send). */
  cookie: bigint;
  /**
   * The rest of the rule's apply-actions, then its write_metadata as a masked set_field and its
   * goto_table as a resubmit (the same thing in xlate: a nested lookup that returns here), so
   * that a frame is an action list, as OVS freezes it and NXT_RESUME carries it.
   */
  actions: Action[];
}

/**
 * What a controller(pause) froze (OVS's frozen state): enough to run the rest of the pipeline
 * on the packet later, once the controller sends it back (NXT_RESUME). The packet's headers and
 * the pipeline fields (in_port, metadata, tun_id, registers) are not kept here: the packet-in
 * carries them, the headers with every change made before the pause applied, and the controller
 * sends them back, changed if it likes (OVN sets a register to say how its action went).
 */
export interface Continuation {
  /** The rest of the pipeline, innermost first: the pausing rule's remaining actions, then each resubmit's caller's. */
  frames: ResumeFrame[];
  /**
   * The OpenFlow 1.3 action set, with the write_actions and clear_actions of the frozen rules
   * already applied. (They would run after the rest of their rule's apply-actions: only a
   * resubmit in that rest that writes the same kind of action sees the difference.)
   */
  actionSet: Action[];
  /** The push:/pop: stack. */
  stack: bigint[];
}

/** A (MAC, VLAN, port) NORMAL learned from; kept so traffic on the megaflow can learn it again. */
export interface MacRef {
  mac: bigint;
  vlan: number;
  port: number;
}

export type XlateErrorCode = 'recursion_too_deep' | 'too_many_resubmits' | 'stack_underflow' | 'stack_too_deep';

export interface XlateResult {
  /** Datapath actions; empty means drop. */
  actions: DpAction[];
  /** Consulted bits of the input flow: the megaflow mask in OpenFlow terms. */
  wc: FlowWildcards;
  /** The flow after every modification (for "Final flow:"). */
  finalFlow: Flow;
  /** The trace tree: one bridge node when opts.trace, else empty. */
  trace: TraceNode[];
  /** Rules whose actions ran, in order (credit their counters from the megaflow's stats). */
  ruleHits: Rule[];
  /** Groups whose buckets ran. */
  groupHits: Group[];
  /** Mirrors that sent a copy of the packet (credit their tx counters from the megaflow's stats). */
  mirrorHits: Mirror[];
  sideEffects: {
    /** MAC learning that changed the table (new entries, moves); empty without side effects. */
    learned: Array<MacRef & { result: LearnResult }>;
    /** Every (MAC, VLAN, port) NORMAL learned or would learn from. */
    macRefs: MacRef[];
    /** Packet-ins the userspace actions will produce. */
    packetIns: PacketIn[];
  };
  error?: { code: XlateErrorCode; message: string };
  /**
   * Set when the datapath must not cache this translation, so that every packet comes back to
   * userspace (OVS's slow path): a controller action whose packet-in carries what a megaflow's
   * userspace action cannot (userdata, a controller id, or a pause's continuation).
   */
  slowPath?: string;
  /** With NetFlow on, an IPv4 flow's NetFlow key and output port. */
  netflow?: NetflowRef;
}

export interface XlateOptions {
  /** Learn MACs (default true). Revalidation and flow-only traces turn it off. */
  sideEffects?: boolean;
  /** Build the trace tree (default false). */
  trace?: boolean;
}

/** A translation that cannot finish: `message` in OVS's words (the trace shows it), `hint` what to look at. */
class XlateError extends Error {
  constructor(
    readonly code: XlateErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Fields the datapath can set, by protocol; [OpenFlow field, datapath field name]. */
const ETH_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['dl_src', 'src'],
  ['dl_dst', 'dst'],
];
const IPV4_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['nw_src', 'src'],
  ['nw_dst', 'dst'],
  ['nw_tos', 'tos'],
  ['nw_ttl', 'ttl'],
];
const IPV6_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['ipv6_src', 'src'],
  ['ipv6_dst', 'dst'],
  ['nw_tos', 'tclass'],
  ['nw_ttl', 'hlimit'],
];
const L4_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['tp_src', 'src'],
  ['tp_dst', 'dst'],
];
const ARP_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['nw_src', 'sip'],
  ['nw_dst', 'tip'],
  ['nw_proto', 'op'],
  ['arp_sha', 'sha'],
  ['arp_tha', 'tha'],
];
const ICMP_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['tp_src', 'type'],
  ['tp_dst', 'code'],
];
const ND_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['nd_target', 'target'],
  ['arp_sha', 'sll'],
  ['arp_tha', 'tll'],
];
const ND_EXT_SETS: ReadonlyArray<readonly [FieldId, string]> = [
  ['nd_reserved', 'nd_reserved'],
  ['nd_options_type', 'nd_options_type'],
];
/**
 * Pipeline fields, not packet fields: writes never reach the datapath (the tunnel fields reach
 * it as the outer header of an output to a tunnel port), and a pause keeps them.
 */
const PIPELINE_FIELDS: readonly FieldId[] = ['in_port', 'tun_id', 'tun_src', 'tun_dst', 'tun_ipv6_src', 'tun_ipv6_dst', 'tun_flags', 'tun_metadata_present', 'tun_metadata_value', 'metadata', ...REG_FIELDS];
/** The same, with the wide registers (views of reg0..15). */
const METADATA: ReadonlySet<FieldId> = new Set<FieldId>([...PIPELINE_FIELDS, ...WIDE_REG_FIELDS]);
/** Pipeline fields that are never in a datapath key, so never in a megaflow mask. */
const REGS: readonly FieldId[] = ['metadata', ...REG_FIELDS];
/** Most values the push:/pop: stack holds; a translation that pushes more is looping. */
const MAX_STACK = 1024;

/** The bits of a field a subfield covers. */
function subfieldMask(sf: Subfield): bigint {
  return ((1n << BigInt(sf.nBits)) - 1n) << BigInt(sf.ofs);
}
const CATCH_ALL = Match.catchAll();
/**
 * What a packet-in reports of the pipeline besides in_port, when not zero, as OVS's
 * flow_get_metadata: which tunnel the frame came from, metadata and registers (tun_flags and
 * tun_metadata are added apart: OAM is the one flag OpenFlow sees, and an option may be present
 * with zero data).
 */
const PIPELINE_METADATA: readonly FieldId[] = ['tun_id', 'tun_src', 'tun_dst', 'tun_ipv6_src', 'tun_ipv6_dst', ...REGS];

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function isReservedMulticast(mac: bigint): boolean {
  return mac >> 4n === 0x0180c200000n;
}

class Ctx {
  readonly flow: Flow;
  /** What the datapath packet holds after the actions emitted so far. */
  readonly base: Flow;
  readonly wc = new FlowWildcards();
  readonly odp: DpAction[] = [];
  readonly ruleHits: Rule[] = [];
  readonly groupHits: Group[] = [];
  readonly mirrorHits: Mirror[] = [];
  /** The mirrors this packet has been sent to, with those sharing their outputs (OVS's ctx->mirrors). */
  mirrored = 0;
  readonly learned: Array<MacRef & { result: LearnResult }> = [];
  readonly macRefs: MacRef[] = [];
  readonly packetIns: PacketIn[] = [];
  slowPath: string | undefined;
  /** The OpenFlow 1.3 action set; made on the first write_actions. */
  actionSet: Map<string, Action> | undefined;
  readonly root: TraceNode[] = [];
  /** Where the next trace node goes. */
  cur: TraceNode[];
  depth = 0;
  resubmits = 0;
  tableId = 0;
  rule: Rule | undefined;
  /** The push:/pop: stack. */
  stack: bigint[] = [];
  /** Set by controller(pause): the pipeline unwinds, each level adding what it had left to run. */
  freezing: { continuation: Continuation; rest: Action[] } | undefined;
  /** Inside a group bucket or the action set, where a pause cannot freeze the pipeline. */
  noFreeze = 0;
  /** The cookie of the rule whose actions a resume runs (it has no `rule`). */
  resumeCookie = 0n;
  /** Translating a packet-out's actions: output to TABLE runs the tables. */
  packetOut = false;
  /** Where the packet went, for NetFlow: the last port output to, or one of NF_OUT (OVS's nf_output_iface). */
  nfOutput: number = NF_OUT.DROP;

  constructor(
    readonly br: BridgeContext,
    flow: Flow,
    readonly tracing: boolean,
    readonly sideEffects: boolean,
  ) {
    this.flow = flow.clone();
    this.base = flow.clone();
    this.cur = this.root;
    if (tracing) {
      const bridgeNode: TraceNode = { type: 'bridge', text: `bridge("${br.name}")`, subs: [] };
      this.root.push(bridgeNode);
      this.cur = bridgeNode.subs;
    }
  }

  // -- tracing

  node(type: TraceNode['type'], text: () => string): TraceNode | undefined {
    if (!this.tracing) return undefined;
    const n: TraceNode = { type, text: text(), subs: [] };
    this.cur.push(n);
    return n;
  }

  /** A detail line after the current action ("-> ..."), a warning (">> ...") or an error. */
  say(type: 'detail' | 'warn' | 'error', text: () => string): void {
    if (!this.tracing) return;
    this.cur.push({ type, text: text(), subs: [] });
  }

  /** The cookie of the rule whose actions are running. */
  cookie(): bigint {
    return this.rule?.cookie ?? this.resumeCookie;
  }

  // -- tables

  xlateTable(tableId: number): void {
    const rule = this.br.tables.lookup(tableId, this.flow, this.wc);
    if (!rule) {
      const t = this.node('table', () => `${String(tableId).padStart(2)}. No match.`);
      const saved = this.cur;
      if (t) this.cur = t.subs;
      if (this.br.config.missToController) {
        this.node('action', () => 'CONTROLLER');
        this.controller('no_match', 0xffff, tableId, 0n);
      } else {
        this.node('action', () => 'drop');
      }
      this.cur = saved;
      return;
    }
    this.ruleHits.push(rule);
    const t = this.node('table', () => {
      const m = formatMatch(rule.match, OFP_DEFAULT_PRIORITY);
      const cookie = rule.cookie ? `, cookie ${hex(rule.cookie)}` : '';
      return `${String(tableId).padStart(2)}. ${m ? `${m}, ` : ''}priority ${rule.priority}${cookie}`;
    });
    const saved = { cur: this.cur, tableId: this.tableId, rule: this.rule };
    if (t) this.cur = t.subs;
    this.tableId = tableId;
    this.rule = rule;
    this.instructions(rule.instructions);
    this.cur = saved.cur;
    this.tableId = saved.tableId;
    this.rule = saved.rule;
  }

  instructions(ins: Instructions): void {
    if (ins.meter !== undefined) this.meter(ins.meter);
    if (ins.apply.length === 0 && !ins.write && !ins.clearActions && ins.gotoTable === undefined && !ins.writeMetadata) {
      this.node('action', () => 'drop');
      return;
    }
    if (!this.actions(ins.apply)) {
      if (this.freezing) this.freezeInstructions(ins, this.freezing);
      return;
    }
    if (ins.clearActions) {
      this.node('action', () => 'clear_actions');
      this.actionSet?.clear();
    }
    if (ins.write) {
      const w = ins.write;
      this.node('action', () => `write_actions(${formatActionList(w)})`);
      const set = (this.actionSet ??= new Map());
      for (const a of w) set.set(actionSetKey(a), a);
    }
    if (ins.writeMetadata) {
      const { value, mask } = ins.writeMetadata;
      this.node('action', () => `write_metadata:${hex(value)}${mask === fieldMax('metadata') ? '' : `/${hex(mask)}`}`);
      this.flow.set('metadata', (this.flow.get('metadata') & ~mask) | (value & mask));
    }
    if (ins.gotoTable !== undefined) {
      const g = ins.gotoTable;
      this.node('action', () => `goto_table:${g}`);
      this.xlateTable(g);
    }
  }

  /**
   * A pause stopped `ins`'s apply-actions: adds what the rule had left to the continuation as one
   * frame of actions. Its write_actions and clear_actions are applied to the action set now
   * (see Continuation.actionSet).
   */
  private freezeInstructions(ins: Instructions, fz: NonNullable<Ctx['freezing']>): void {
    const rest = [...fz.rest];
    if (ins.clearActions) this.actionSet?.clear();
    if (ins.write) {
      const set = (this.actionSet ??= new Map());
      for (const a of ins.write) set.set(actionSetKey(a), a);
    }
    if (ins.writeMetadata) rest.push({ type: 'set_field', field: 'metadata', value: ins.writeMetadata.value, mask: ins.writeMetadata.mask });
    if (ins.gotoTable !== undefined) rest.push({ type: 'resubmit', inPort: OFPP.IN_PORT, table: ins.gotoTable });
    fz.continuation.frames.push({ tableId: this.tableId, cookie: this.cookie(), actions: rest });
  }

  /**
   * Runs an action list. Returns false if an action stopped it: dec_ttl on an expiring TTL, or a
   * pause (then `freezing.rest` holds the actions it did not run).
   */
  actions(list: readonly Action[]): boolean {
    for (const [i, a] of list.entries()) {
      this.node('action', () => formatAction(a));
      if (!this.action(a)) return false;
      if (this.freezing) {
        this.freezing.rest = list.slice(i + 1).map((x) => (x.type === 'resubmit' && x.table === 255 ? { ...x, table: this.tableId } : x));
        return false;
      }
    }
    return true;
  }

  action(a: Action): boolean {
    const f = this.flow;
    switch (a.type) {
      case 'output':
        this.output(a.port, a.maxLen);
        return true;
      case 'group':
        this.group(a.groupId);
        return true;
      case 'resubmit':
        this.resubmit(a.inPort, a.table === 255 ? this.tableId : a.table);
        return true;
      case 'set_vlan_vid': {
        this.wc.orField('vlan_tci', VLAN_VID_MASK | VLAN_CFI);
        const tci = f.num('vlan_tci');
        if (!(tci & VLAN_CFI) && !a.push) {
          this.say('detail', () => 'no VLAN header to modify');
          return true;
        }
        f.setNum('vlan_tci', (tci & ~VLAN_VID_MASK) | VLAN_CFI | a.vid);
        return true;
      }
      case 'set_vlan_pcp': {
        this.wc.orField('vlan_tci', 0xe000 | VLAN_CFI);
        const tci = f.num('vlan_tci');
        if (!(tci & VLAN_CFI) && !a.push) {
          this.say('detail', () => 'no VLAN header to modify');
          return true;
        }
        f.setNum('vlan_tci', (tci & 0x1fff) | VLAN_CFI | (a.pcp << 13));
        return true;
      }
      case 'strip_vlan':
        this.wc.orField('vlan_tci', VLAN_CFI);
        f.setNum('vlan_tci', 0);
        return true;
      case 'push_vlan':
        this.wc.orField('vlan_tci', VLAN_CFI);
        if (f.num('vlan_tci') & VLAN_CFI) {
          this.say('warn', () => 'the frame already has a VLAN header: stacking a second one is not supported, ignored');
          return true;
        }
        if (a.ethertype !== ETH_TYPE.VLAN) this.say('warn', () => `push_vlan:0x${a.ethertype.toString(16)} is pushed as 0x8100`);
        f.setNum('vlan_tci', VLAN_CFI);
        return true;
      case 'set_eth_src':
        this.setField('dl_src', a.mac, fieldMax('dl_src'));
        return true;
      case 'set_eth_dst':
        this.setField('dl_dst', a.mac, fieldMax('dl_dst'));
        return true;
      case 'set_ipv4_src':
        this.setField('nw_src', BigInt(a.ip), 0xffffffffn);
        return true;
      case 'set_ipv4_dst':
        this.setField('nw_dst', BigInt(a.ip), 0xffffffffn);
        return true;
      case 'set_ip_dscp':
        this.setField('nw_tos', BigInt(a.tos & 0xfc), 0xfcn);
        return true;
      case 'set_l4_src_port':
        this.setField('tp_src', BigInt(a.port), 0xffffn);
        return true;
      case 'set_l4_dst_port':
        this.setField('tp_dst', BigInt(a.port), 0xffffn);
        return true;
      case 'set_field':
        this.setField(a.field, a.value, a.mask, a.name);
        return true;
      case 'load': {
        const mask = ((1n << BigInt(a.dst.nBits)) - 1n) << BigInt(a.dst.ofs);
        this.setField(a.dst.field, (a.value << BigInt(a.dst.ofs)) & mask, mask, a.dst.name);
        return true;
      }
      case 'move': {
        const srcMask = ((1n << BigInt(a.src.nBits)) - 1n) << BigInt(a.src.ofs);
        const bits = (this.readField(a.src.field, srcMask, a.src.name) & srcMask) >> BigInt(a.src.ofs);
        const dstMask = ((1n << BigInt(a.dst.nBits)) - 1n) << BigInt(a.dst.ofs);
        this.setField(a.dst.field, (bits << BigInt(a.dst.ofs)) & dstMask, dstMask, a.dst.name);
        return true;
      }
      case 'set_tunnel':
        f.set('tun_id', a.tunId);
        return true;
      case 'dec_ttl':
        return this.decTtl();
      case 'output_reg': {
        const m = subfieldMask(a.src);
        this.wc.orField(a.src.field, m);
        const port = Number((f.get(a.src.field) & m) >> BigInt(a.src.ofs));
        this.say('detail', () => `${formatAction(a).slice('output:'.length)} holds port ${port}`);
        this.output(port > 0xffff ? OFPP.ANY : port, a.maxLen);
        return true;
      }
      case 'push': {
        if (this.stack.length >= MAX_STACK) throw new XlateError('stack_too_deep', 'stack too deep', `${formatAction(a)}: the stack already holds ${MAX_STACK} values; a pop is missing, or a resubmit loop pushes forever`);
        const m = subfieldMask(a.src);
        this.stack.push((this.readField(a.src.field, m, a.src.name) & m) >> BigInt(a.src.ofs));
        return true;
      }
      case 'pop': {
        const v = this.stack.pop();
        if (v === undefined) throw new XlateError('stack_underflow', 'stack underflow', `${formatAction(a)} found nothing pushed: every pop needs a push earlier in the pipeline`);
        const m = subfieldMask(a.dst);
        this.setField(a.dst.field, (v << BigInt(a.dst.ofs)) & m, m, a.dst.name);
        return true;
      }
      case 'controller':
        this.controller(a.reason, a.maxLen, this.tableId, this.cookie(), a);
        return true;
      case 'sample':
        this.sample(a);
        return true;
    }
  }

  /**
   * Reads the `mask` bits of a field for an action, unwildcarding them. tun_metadataN (`name`)
   * reads as zero unless the frame carries the option mapped to N.
   */
  readField(field: FieldId, mask: bigint, name?: string): bigint {
    if (field === 'tun_metadata_value') {
      this.wc.orField('tun_metadata_present');
      if (this.flow.get('tun_metadata_present') !== presentBit(tunMetadataIndex(name))) return 0n;
    }
    this.wc.orField(field, mask);
    return this.flow.get(field);
  }

  /**
   * Writes tun_metadataN: the frame now carries the option mapped to N, with the `mask` bits of
   * its data from `value`. The datapath carries one option per frame, so another one the frame
   * carried is replaced (and the trace says so). Unmapped, it does nothing, as in OVS.
   */
  setTunMetadata(index: number, value: bigint, mask: bigint): void {
    const mapping = this.br.tlvMap?.get(index);
    if (!mapping) {
      this.say('detail', () => `skipped: tun_metadata${index} is not mapped to a Geneve option (add-tlv-map)`);
      return;
    }
    const f = this.flow;
    const bit = presentBit(index);
    const present = f.get('tun_metadata_present');
    const width = bytesMask(mapping.optLen);
    // Bits the write leaves alone keep the option's data, if the frame has this option.
    if ((mask & width) !== width) this.wc.orField('tun_metadata_present').orField('tun_metadata_value');
    if (present !== 0n && present !== bit) this.say('warn', () => `${tooManyOptions([...presentIndexes(present), index])}: tun_metadata${index} replaces the other`);
    const old = present === bit ? f.get('tun_metadata_value') : 0n;
    f.set('tun_metadata_present', bit);
    f.set('tun_metadata_value', ((old & ~mask) | (value & mask)) & width);
  }

  /** Writes `value` under `mask` into a field, if the frame has that field; `name` says which tun_metadataN. */
  setField(field: FieldId, value: bigint, mask: bigint, name?: string): void {
    if (field === 'tun_metadata_value') return this.setTunMetadata(tunMetadataIndex(name), value, mask);
    const f = this.flow;
    // A field kept narrower than its wire width (arp_op in the 8-bit nw_proto) takes the bits it has.
    mask &= fieldMax(field);
    value &= mask;
    if (!METADATA.has(field)) {
      const why = this.prereqProblem(field);
      if (why) {
        this.say('detail', () => `skipped: ${why}`);
        return;
      }
      if (!this.datapathCanSet(field)) this.say('warn', () => `the datapath cannot rewrite ${field}: only later table lookups see the new value`);
    }
    if (field === 'vlan_tci' && !(mask & BigInt(VLAN_CFI))) {
      // vlan_pcp alone: OpenFlow 1.3 requires a VLAN header.
      this.wc.orField('vlan_tci', VLAN_CFI);
      if (!(f.num('vlan_tci') & VLAN_CFI)) {
        this.say('detail', () => 'skipped: no VLAN header');
        return;
      }
    }
    if (!METADATA.has(field)) this.wc.orField(field, mask);
    f.set(field, (f.get(field) & ~mask) | (value & mask));
  }

  /** Why `field` cannot be set on this frame (OpenFlow prerequisites), unwildcarding what it checks. */
  prereqProblem(field: FieldId): string | undefined {
    const f = this.flow;
    const dlType = (): number => {
      this.wc.orField('dl_type');
      return f.num('dl_type');
    };
    const proto = (): number => {
      this.wc.orField('nw_proto');
      return f.num('nw_proto');
    };
    const isIp = (t: number) => t === ETH_TYPE.IP || t === ETH_TYPE.IPV6;
    switch (field) {
      case 'nw_src':
      case 'nw_dst': {
        const t = dlType();
        return t === ETH_TYPE.IP || t === ETH_TYPE.ARP || t === ETH_TYPE.RARP ? undefined : `${field} needs an IPv4 or ARP frame`;
      }
      case 'ipv6_src':
      case 'ipv6_dst':
        return dlType() === ETH_TYPE.IPV6 ? undefined : `${field} needs an IPv6 frame`;
      case 'nw_tos':
      case 'nw_ttl':
        return isIp(dlType()) ? undefined : `${field} needs an IP frame`;
      case 'nw_proto': {
        const t = dlType();
        return isIp(t) || t === ETH_TYPE.ARP || t === ETH_TYPE.RARP ? undefined : `${field} needs an IP or ARP frame (in ARP it is arp_op)`;
      }
      case 'tp_src':
      case 'tp_dst': {
        const t = dlType();
        if (!isIp(t)) return `${field} needs an IP frame`;
        const p = proto();
        // As icmp_type and icmp_code, tp_src and tp_dst are ICMP's over IPv4 and ICMPv6's over IPv6.
        const icmp = t === ETH_TYPE.IP ? IP_PROTO.ICMP : IP_PROTO.ICMPV6;
        return p === IP_PROTO.TCP || p === IP_PROTO.UDP || p === IP_PROTO.SCTP || p === icmp ? undefined : `${field} needs TCP, UDP, SCTP or ICMP`;
      }
      case 'tcp_flags':
        return isIp(dlType()) && proto() === IP_PROTO.TCP ? undefined : 'tcp_flags needs TCP';
      case 'arp_sha':
      case 'arp_tha': {
        const t = dlType();
        if (t === ETH_TYPE.ARP || t === ETH_TYPE.RARP) return undefined;
        // In IPv6 these are nd_sll and nd_tll, each in its own kind of ND message.
        const ndType = field === 'arp_sha' ? ND_TYPE.SOLICIT : ND_TYPE.ADVERT;
        if (t !== ETH_TYPE.IPV6) return `${field} needs an ARP frame, or an IPv6 neighbor discovery message as ${field === 'arp_sha' ? 'nd_sll' : 'nd_tll'}`;
        return this.ndType() === ndType ? undefined : `${field === 'arp_sha' ? 'nd_sll' : 'nd_tll'} needs an ICMPv6 neighbor ${ndType === ND_TYPE.SOLICIT ? 'solicitation' : 'advertisement'} (icmp_type=${ndType})`;
      }
      case 'nd_target':
      case 'nd_reserved':
      case 'nd_options_type':
        return dlType() === ETH_TYPE.IPV6 && this.ndType() !== undefined ? undefined : `${field} needs an ICMPv6 neighbor solicitation or advertisement (icmp_type=135 or 136)`;
      default:
        return undefined;
    }
  }

  /** The ND message type (135 or 136) of an IPv6 flow that is one, unwildcarding what it checks. */
  ndType(): number | undefined {
    const f = this.flow;
    this.wc.orField('nw_proto');
    if (f.num('nw_proto') !== IP_PROTO.ICMPV6) return undefined;
    this.wc.orField('tp_src').orField('tp_dst');
    const type = f.num('tp_src');
    return f.num('tp_dst') === 0 && (type === ND_TYPE.SOLICIT || type === ND_TYPE.ADVERT) ? type : undefined;
  }

  datapathCanSet(field: FieldId): boolean {
    const f = this.flow;
    switch (field) {
      case 'dl_src':
      case 'dl_dst':
      case 'vlan_tci':
      case 'ipv6_src':
      case 'ipv6_dst':
      case 'nw_tos':
      case 'nw_ttl':
        return true;
      case 'nw_src':
      case 'nw_dst':
        return f.num('dl_type') === ETH_TYPE.IP || isArp(f);
      case 'nw_proto':
        return isArp(f);
      case 'arp_sha':
      case 'arp_tha':
      case 'nd_target':
      case 'nd_reserved':
      case 'nd_options_type':
        // prereqProblem has made sure an IPv6 frame is an ND message.
        return isArp(f) || f.num('dl_type') === ETH_TYPE.IPV6;
      case 'tp_src':
      case 'tp_dst': {
        // prereqProblem has made sure ICMP is over its own IP version.
        const p = f.num('nw_proto');
        return p === IP_PROTO.TCP || p === IP_PROTO.UDP || p === IP_PROTO.ICMP || p === IP_PROTO.ICMPV6;
      }
      default:
        return false;
    }
  }

  decTtl(): boolean {
    const f = this.flow;
    this.wc.orField('dl_type');
    const t = f.num('dl_type');
    if (t !== ETH_TYPE.IP && t !== ETH_TYPE.IPV6) {
      this.say('detail', () => 'not an IP frame: nothing to decrement');
      return true;
    }
    this.wc.orField('nw_ttl');
    const ttl = f.num('nw_ttl');
    if (ttl > 1) {
      f.setNum('nw_ttl', ttl - 1);
      return true;
    }
    if (this.br.config.invalidTtlToController) {
      this.say('detail', () => `TTL ${ttl}: sending to the controller (invalid_ttl), stopping these actions`);
      this.controller('invalid_ttl', 0xffff, this.tableId, this.cookie());
    } else {
      this.say('detail', () => `TTL ${ttl}: dropping, stopping these actions`);
    }
    return false;
  }

  resubmit(inPort: number, tableId: number): void {
    if (this.depth >= MAX_RESUBMIT_DEPTH) {
      throw new XlateError(
        'recursion_too_deep',
        `over max translation depth ${MAX_RESUBMIT_DEPTH}`,
        `resubmit to table ${tableId} nests more than ${MAX_RESUBMIT_DEPTH} resubmits deep, so the packet is dropped; a table probably resubmits back into itself: see the resubmits in ofproto/trace`,
      );
    }
    if (++this.resubmits > MAX_RESUBMITS) {
      throw new XlateError(
        'too_many_resubmits',
        `over ${MAX_RESUBMITS} resubmit actions`,
        `one packet's translation ran more than ${MAX_RESUBMITS} resubmits, so the packet is dropped; look for rules that resubmit to several tables each, see ofproto/trace`,
      );
    }
    const oldInPort = this.flow.num('in_port');
    if (inPort !== OFPP.IN_PORT) this.flow.setNum('in_port', inPort);
    this.depth++;
    try {
      this.xlateTable(tableId);
    } finally {
      this.depth--;
      this.flow.setNum('in_port', oldInPort);
    }
  }

  // -- per-flow IPFIX

  /** OVS's xlate_sample_action: the packet as it is now, sampled for the collector set's exporter. */
  sample(a: Extract<Action, { type: 'sample' }>): void {
    if (!this.br.ipfix?.collectorSets.has(a.collectorSetId)) {
      this.say('detail', () => `no Flow_Sample_Collector_Set with id ${a.collectorSetId} and an IPFIX exporter on this bridge: not sampled`);
      return;
    }
    this.commit();
    this.odp.push(flowSampleAction(a, this.br.config.upcallPid));
  }

  // -- output

  output(port: number, maxLen: number): void {
    const inPort = this.flow.num('in_port');
    switch (port) {
      case OFPP.IN_PORT:
        this.outputToPort(inPort, true);
        return;
      case OFPP.NORMAL:
        this.normal();
        return;
      case OFPP.FLOOD:
      case OFPP.ALL:
        for (const p of this.br.ports()) {
          if (p.ofport === inPort) continue;
          if (port === OFPP.FLOOD && p.noFlood) continue;
          this.outputToPort(p.ofport, false);
        }
        this.nfOutput = NF_OUT.FLOOD;
        return;
      case OFPP.CONTROLLER:
        this.controller('action', maxLen, this.tableId, this.cookie());
        return;
      case OFPP.TABLE:
        if (this.packetOut) {
          this.xlateTable(0);
          return;
        }
        this.say('warn', () => 'output to TABLE is only meaningful in a packet-out: ignored');
        return;
      case OFPP.ANY:
        this.say('warn', () => 'output to ANY (NONE): ignored');
        return;
      default:
        if (port === inPort) {
          this.say('detail', () => 'skipping output to input port');
          return;
        }
        this.outputToPort(port, false);
    }
  }

  outputToPort(ofport: number, allowInPort: boolean): void {
    const p = this.br.port(ofport);
    if (!p) {
      this.say('detail', () => `no such port ${ofport}: skipping output`);
      return;
    }
    if (!allowInPort && ofport === this.flow.num('in_port')) return;
    if (!p.adminUp) {
      this.say('detail', () => `port ${p.name} is down: skipping output`);
      return;
    }
    this.commit();
    if (p.tunnel) {
      const tunnel = tunnelHeader(p.tunnel, this.flow, this.wc, this.br.tlvMap);
      if (!tunnel) {
        this.say('detail', () => `tunnel port ${p.name} has remote_ip=flow and the flow has no tun_dst: dropping (set_field:IP->tun_dst or set_field:IPV6->tun_ipv6_dst first)`);
        return;
      }
      this.say('detail', () => `output to tunnel ${p.name}: tun_id=${hex(tunnel.tunId)},src=${tunnel.src},dst=${tunnel.dst},tos=${tunnel.tos},ttl=${tunnel.ttl}${tunnel.tpDst ? `,tp_dst=${tunnel.tpDst}` : ''}`);
      this.odp.push({ type: 'set_tunnel', tunnel });
    }
    this.odp.push({ type: 'output', port: p.dpPort });
    this.nfOutput = p.ofport;
    const mirrors = this.br.mirrors;
    if (mirrors?.active) this.mirrorPacket(p, mirrors.dstMirrors(p.ofport), 'sent to');
  }

  // -- mirrors

  /**
   * Sends copies of the packet, as it is now, to the mirrors among `candidates` that select it
   * (OVS's mirror_packet): it is being received on `port` (ingress) or was just sent to it
   * (egress; its VLAN is then read as the port would receive it). Each output gets one copy
   * per packet, however many mirrors select it.
   */
  mirrorPacket(port: BridgePort, candidates: number, direction: 'received on' | 'sent to'): void {
    const mirrors = this.br.mirrors!;
    candidates &= ~this.mirrored;
    if (!candidates) return;
    // The selection by VLAN and the copies' tagging depend on the packet's VLAN.
    this.wc.orField('vlan_tci', VLAN_VID_MASK | VLAN_CFI);
    const iv = inputVlan(port.vlan, this.flow.num('vlan_tci'));
    if ('drop' in iv) return;
    const vlan = iv.vlan;
    for (let rest = candidates; rest; rest = (rest & (rest - 1)) & ~this.mirrored) {
      const m = mirrors.byMask(rest & -rest);
      if (!m || (m.vlans && !m.vlans.has(vlan))) continue;
      const { outPort, outVlan } = m.spec;
      if (outPort === undefined) {
        // As OVS: no RSPAN copy of a frame already in the output VLAN, nor of reserved multicast (STP, LLDP).
        this.wc.orField('dl_dst', 0xfffffffffff0n);
        if (vlan === outVlan || isReservedMulticast(this.flow.get('dl_dst'))) continue;
      }
      this.mirrorHits.push(m);
      // Marked before sending, so that the copies' own outputs do not mirror to these again.
      this.mirrored |= m.dup;
      const out = outPort === undefined ? undefined : this.br.port(outPort);
      if (out) {
        this.say('detail', () => `mirror ${m.spec.name}: packet ${direction} ${port.name}, copy to port ${out.name}`);
        const old = this.flow.num('vlan_tci');
        this.flow.setNum('vlan_tci', spanTci(out.vlan, vlan, old & VLAN_CFI ? (old >> 13) & 7 : 0));
        this.outputToPort(out.ofport, false);
        this.flow.setNum('vlan_tci', old);
      } else if (outVlan !== undefined) {
        this.say('detail', () => `mirror ${m.spec.name}: packet ${direction} ${port.name}, copy flooded in VLAN ${outVlan}`);
        for (const p of this.br.ports()) {
          if (portCarriesVlan(p.vlan, outVlan) && !mirrors.isOutput(p.ofport)) this.normalOutput(p, outVlan);
        }
      }
    }
  }

  controller(reason: PacketInReason, maxLen: number, tableId: number, cookie: bigint, extra?: Extract<Action, { type: 'controller' }>): void {
    this.commit();
    const metadata: PacketIn['metadata'] = {};
    for (const f of PIPELINE_METADATA) {
      const v = this.flow.get(f);
      if (v !== 0n) metadata[f] = v;
    }
    const oam = this.flow.num('tun_flags') & TUN_FLAG.OAM;
    if (oam) metadata.tun_flags = BigInt(oam);
    const present = this.flow.get('tun_metadata_present');
    if (present) {
      metadata.tun_metadata_present = present;
      metadata.tun_metadata_value = this.flow.get('tun_metadata_value');
    }
    const pin: PacketIn = { reason, tableId, cookie, maxLen, bridge: this.br.name, inPort: this.flow.num('in_port'), metadata };
    if (reason === 'action' && this.rule?.priority === 0 && this.rule.match.equals(CATCH_ALL)) pin.tableMiss = true;
    if (extra) {
      if (extra.controllerId) pin.controllerId = extra.controllerId;
      if (extra.userdata) pin.userdata = extra.userdata;
      if (extra.meterId !== undefined) pin.meterId = extra.meterId;
      this.slowPath = 'controller action with userdata, id, pause or meter_id';
      if (extra.pause && this.noFreeze) this.say('warn', () => 'pause inside a group bucket or the action set cannot stop the pipeline: sending the packet-in without pausing');
      else if (extra.pause) {
        // The action set is taken when the pipeline has unwound (run), after the frozen rules' writes.
        pin.continuation = { frames: [], actionSet: [], stack: [...this.stack] };
        this.freezing = { continuation: pin.continuation, rest: [] };
        this.say('detail', () => 'pausing the pipeline: the rest runs when the controller resumes it');
      }
    }
    this.packetIns.push(pin);
    this.odp.push({
      type: 'userspace',
      pid: this.br.config.upcallPid,
      userdata: this.br.packetIns.userdata(pin),
      detail: `controller(reason=${reason},table=${tableId},cookie=${hex(cookie)},max_len=${maxLen})`,
    });
  }

  /** Emits the header changes made since the last commit (OVS's commit_odp_actions). */
  commit(): void {
    const f = this.flow;
    const b = this.base;
    // Most outputs follow no header change.
    if (f.equals(b)) return;
    this.commitSet('eth', ETH_SETS);
    const tci = f.num('vlan_tci');
    const old = b.num('vlan_tci');
    if (tci !== old && (tci & VLAN_CFI || old & VLAN_CFI)) {
      this.wc.orField('vlan_tci');
      if (old & VLAN_CFI) this.odp.push({ type: 'pop_vlan' });
      if (tci & VLAN_CFI) this.odp.push({ type: 'push_vlan', tpid: ETH_TYPE.VLAN, tci });
    }
    b.setNum('vlan_tci', tci);
    const t = f.num('dl_type');
    if (t === ETH_TYPE.IP) this.commitSet('ipv4', IPV4_SETS);
    else if (t === ETH_TYPE.IPV6) this.commitSet('ipv6', IPV6_SETS);
    else if (isArp(f)) this.commitSet('arp', ARP_SETS);
    if (t === ETH_TYPE.IP || t === ETH_TYPE.IPV6) {
      const p = f.num('nw_proto');
      if (p === IP_PROTO.TCP) this.commitSet('tcp', L4_SETS);
      else if (p === IP_PROTO.UDP) this.commitSet('udp', L4_SETS);
      else if (t === ETH_TYPE.IP && p === IP_PROTO.ICMP) this.commitSet('icmp', ICMP_SETS);
      else if (t === ETH_TYPE.IPV6 && p === IP_PROTO.ICMPV6) {
        // OVS's order: the ND extensions (a new options type first, so that a tll set finds its
        // option), the ND message, then the ICMPv6 header.
        this.commitSet('nd_ext', ND_EXT_SETS);
        this.commitSet('nd', ND_SETS);
        this.commitSet('icmpv6', ICMP_SETS);
      }
    }
  }

  commitSet(proto: SetProto, fields: ReadonlyArray<readonly [FieldId, string]>): void {
    let out: SetFieldValue[] | undefined;
    let masked = false;
    for (const [of, name] of fields) {
      if (this.flow.sameField(this.base, of)) continue;
      const v = this.flow.get(of);
      const dpName = `${proto === 'tcp' || proto === 'udp' ? 'tcp' : proto}.${name}` as FieldName;
      // The datapath's field may be narrower than OpenFlow's (ICMP's one-byte type in tp_src).
      const dpMax = fieldMax(of) & ((1n << BigInt(8 * fieldSpan(dpName)[1])) - 1n);
      const m = this.wc.get(of) & dpMax;
      const sf: SetFieldValue = { field: name, value: dpValue(dpName, v & m) };
      if (m !== dpMax) {
        sf.mask = dpValue(dpName, m);
        masked = true;
      }
      (out ??= []).push(sf);
      this.base.set(of, v);
    }
    if (out) this.odp.push({ type: 'set', proto, masked, fields: out });
  }

  // -- meters

  /**
   * The meter instruction: the datapath meters the packet before anything else the rule does (as
   * OVS emits it). A meter the datapath does not enforce (no datapath yet) is skipped.
   */
  meter(meterId: number): void {
    this.node('action', () => `meter:${meterId}`);
    const providerId = this.br.meters.get(meterId)?.providerId;
    if (providerId === undefined) {
      this.say('warn', () => `meter ${meterId} is not in the datapath: not metering`);
      return;
    }
    this.odp.push({ type: 'meter', id: providerId });
  }

  // -- groups

  group(groupId: number): void {
    const g = this.br.groups.get(groupId);
    if (!g) {
      this.say('warn', () => `group ${groupId} does not exist: dropping`);
      return;
    }
    this.groupHits.push(g);
    const live = (ofport: number) => {
      const p = this.br.port(ofport);
      return !!p && p.adminUp && p.linkUp !== false;
    };
    const hash = g.type === 'select' ? this.selectHash() : 0;
    const buckets = this.br.groups.selectBuckets(g, hash, live);
    if (buckets.length === 0) this.say('detail', () => 'no live bucket: dropping');
    for (const bk of buckets) {
      const i = g.buckets.indexOf(bk);
      const saved = this.cur;
      const n = this.node('bucket', () => `bucket ${i}`);
      if (n) this.cur = n.subs;
      const flowBefore = this.flow.clone();
      const setBefore = this.actionSet && new Map(this.actionSet);
      this.noFreeze++;
      this.actions(bk.actions);
      this.noFreeze--;
      // Each bucket works on its own copy of the packet.
      this.flow.w.set(flowBefore.w);
      this.actionSet = setBefore;
      this.cur = saved;
    }
  }

  /**
   * OVS's default select hash (symmetric L4): Ethernet addresses, type and VLAN id, IP
   * addresses and protocol, and TCP/UDP/SCTP ports. Unwildcards exactly what it hashes.
   */
  selectHash(): number {
    const f = this.flow;
    const wc = this.wc;
    let h = 0x811c9dc5;
    const mix = (x: number) => {
      h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    };
    const sym = (a: bigint, b: bigint) => {
      const x = a ^ b;
      mix(Number(x & 0xffffffffn));
      mix(Number((x >> 32n) & 0xffffffffn));
      mix(Number((x >> 64n) & 0xffffffffn));
      mix(Number((x >> 96n) & 0xffffffffn));
    };
    wc.orField('dl_src').orField('dl_dst').orField('dl_type').orField('vlan_tci', VLAN_VID_MASK | VLAN_CFI);
    sym(f.get('dl_src'), f.get('dl_dst'));
    mix(f.num('dl_type'));
    mix(f.num('vlan_tci') & (VLAN_VID_MASK | VLAN_CFI));
    const t = f.num('dl_type');
    if (t === ETH_TYPE.IP || t === ETH_TYPE.IPV6) {
      if (t === ETH_TYPE.IP) {
        wc.orField('nw_src').orField('nw_dst');
        sym(f.get('nw_src'), f.get('nw_dst'));
      } else {
        wc.orField('ipv6_src').orField('ipv6_dst');
        sym(f.get('ipv6_src'), f.get('ipv6_dst'));
      }
      wc.orField('nw_proto');
      const p = f.num('nw_proto');
      mix(p);
      if (p === IP_PROTO.TCP || p === IP_PROTO.UDP || p === IP_PROTO.SCTP) {
        wc.orField('tp_src').orField('tp_dst');
        mix(f.num('tp_src') ^ f.num('tp_dst'));
      }
    }
    return h;
  }

  // -- NORMAL

  normal(): void {
    const f = this.flow;
    const wc = this.wc;
    wc.orField('in_port').orField('dl_src').orField('dl_dst').orField('vlan_tci', VLAN_VID_MASK | VLAN_CFI);
    const inPort = this.br.port(f.num('in_port'));
    if (!inPort) {
      this.say('detail', () => `no bridge port for in_port ${f.num('in_port')}: dropping`);
      return;
    }
    const dst = f.get('dl_dst');
    const src = f.get('dl_src');
    if (isReservedMulticast(dst) && !this.br.config.forwardBpdu) {
      this.say('detail', () => 'reserved multicast destination (e.g. STP or LLDP) and forward-bpdu is off: dropping');
      return;
    }
    const iv = inputVlan(inPort.vlan, f.num('vlan_tci'));
    if ('drop' in iv) {
      this.say('detail', () => `${iv.drop} (port ${inPort.name}): dropping`);
      return;
    }
    const vlan = iv.vlan;
    if (!isMulticastMac(src)) {
      const ref = { mac: src, vlan, port: inPort.ofport };
      this.macRefs.push(ref);
      if (this.sideEffects) {
        const result = this.br.mac.learn(src, vlan, inPort.ofport);
        if (result === 'new' || result === 'moved') {
          this.learned.push({ ...ref, result });
          this.say('detail', () => `learned that ${formatMac(src)} is on port ${inPort.name} in VLAN ${vlan}`);
        }
      }
    }
    if (isMulticastMac(dst)) {
      this.say('detail', () => `${dst === 0xffffffffffffn ? 'broadcast' : 'multicast'} destination: flooding VLAN ${vlan}`);
      this.normalFlood(inPort, vlan);
      return;
    }
    const port = this.br.mac.lookup(dst, vlan);
    if (port === undefined) {
      this.say('detail', () => 'no learned MAC for destination, flooding');
      this.normalFlood(inPort, vlan);
      return;
    }
    const out = this.br.port(port);
    if (!out) {
      this.say('detail', () => `learned port ${port} is unknown, dropping`);
      return;
    }
    if (out === inPort || out.ofport === inPort.ofport) {
      this.say('detail', () => 'learned port is input port, dropping');
      return;
    }
    if (this.br.mirrors?.isOutput(out.ofport)) {
      this.say('warn', () => 'learned port is a mirror port, dropping');
      return;
    }
    this.say('detail', () => `forwarding to learned port ${out.name}`);
    this.normalOutput(out, vlan);
  }

  normalFlood(inPort: BridgePort, vlan: number): void {
    for (const p of this.br.ports()) {
      if (p.ofport === inPort.ofport || p.noFlood || !portCarriesVlan(p.vlan, vlan) || this.br.mirrors?.isOutput(p.ofport)) continue;
      this.normalOutput(p, vlan);
    }
    this.nfOutput = NF_OUT.FLOOD;
  }

  /** Outputs with the tagging `port` wants for `vlan`, leaving the flow's VLAN as it was. */
  normalOutput(port: BridgePort, vlan: number): void {
    const old = this.flow.num('vlan_tci');
    const pcp = old & VLAN_CFI ? (old >> 13) & 7 : 0;
    const tci = outputTci(port.vlan, vlan, pcp);
    if (tci === undefined) {
      this.say('detail', () => `port ${port.name} does not carry VLAN ${vlan}: skipped`);
      return;
    }
    this.flow.setNum('vlan_tci', tci);
    this.outputToPort(port.ofport, false);
    this.flow.setNum('vlan_tci', old);
  }

  // -- the action set (OpenFlow 1.3 write-actions), run when the pipeline ends

  runActionSet(): void {
    if (!this.actionSet?.size) return;
    const set = [...this.actionSet.values()];
    const rank = (a: Action): number => {
      switch (a.type) {
        case 'strip_vlan':
          return 0;
        case 'push_vlan':
          return 1;
        case 'dec_ttl':
          return 2;
        case 'group':
          return 4;
        case 'output':
          return 5;
        default:
          return 3;
      }
    };
    const ordered = set.map((a, i) => [a, i] as const).sort((x, y) => rank(x[0]) - rank(y[0]) || x[1] - y[1]).map(([a]) => a);
    const hasGroup = ordered.some((a) => a.type === 'group');
    this.node('action', () => `execute the action set: ${formatActionList(ordered)}`);
    this.noFreeze++;
    for (const a of ordered) {
      if (a.type === 'output' && hasGroup) continue;
      if (!this.action(a)) break;
    }
    this.noFreeze--;
  }
}

function isArp(f: Flow): boolean {
  const t = f.num('dl_type');
  return t === ETH_TYPE.ARP || t === ETH_TYPE.RARP;
}

function actionSetKey(a: Action): string {
  switch (a.type) {
    case 'set_field':
      return `set_field:${a.field}`;
    case 'load':
      return `set_field:${a.dst.field}`;
    case 'set_eth_src':
      return 'set_field:dl_src';
    case 'set_eth_dst':
      return 'set_field:dl_dst';
    case 'set_ipv4_src':
      return 'set_field:nw_src';
    case 'set_ipv4_dst':
      return 'set_field:nw_dst';
    case 'set_l4_src_port':
      return 'set_field:tp_src';
    case 'set_l4_dst_port':
      return 'set_field:tp_dst';
    case 'set_vlan_vid':
      return 'set_field:vlan_vid';
    case 'set_vlan_pcp':
      return 'set_field:vlan_pcp';
    case 'set_ip_dscp':
      return 'set_field:nw_tos';
    default:
      return a.type;
  }
}

/**
 * Translates `flow` (the OpenFlow view of a missed packet; in_port is an ofport) through
 * `bridge`'s tables starting at table 0.
 */
export function xlate(bridge: BridgeContext, flow: Flow, opts: XlateOptions = {}): XlateResult {
  const ctx = new Ctx(bridge, flow, opts.trace ?? false, opts.sideEffects ?? true);
  const result = run(ctx, () => {
    const inPort = bridge.port(flow.num('in_port'));
    if (inPort?.noRecv) {
      // As OVS: the port is configured not to receive, so the flow (on in_port alone) drops.
      ctx.node('detail', () => `${inPort.name} is configured not to receive (no-receive or down): dropping`);
      return;
    }
    const mirrors = bridge.mirrors;
    if (inPort && mirrors?.active) {
      if (mirrors.isOutput(inPort.ofport)) {
        ctx.node('warn', () => `dropping packet received on port ${inPort.name}, which is reserved exclusively for mirroring`);
        return;
      }
      ctx.mirrorPacket(inPort, mirrors.srcMirrors(inPort.ofport), 'received on');
    }
    if (bridge.config.failOpen) {
      ctx.node('action', () => 'NORMAL (fail-open: no controller connected)');
      ctx.normal();
    } else {
      ctx.xlateTable(0);
    }
    // Bridge IPFIX samples what comes in, before any change, saying where it went (OVS's input sampling).
    const sampling = bridge.ipfix?.bridge;
    if (sampling && inPort) ctx.odp.unshift(bridgeSampleAction(sampling, bridge.config.upcallPid, ctx.nfOutput < NF_OUT.DROP ? ctx.nfOutput : 0));
  });
  if (bridge.sflow && bridge.port(flow.num('in_port'))) result.actions = withSflowSample(result.actions, bridge.sflow, result.finalFlow.num('vlan_tci'));
  return result;
}

/**
 * Continues a paused pipeline (NXT_RESUME): `packet` is the flow of the packet the controller
 * sent back (the headers as the pause left them), `pipeline` holds the pipeline fields the
 * resume's metadata gave (in_port, tun_id, metadata, registers; its other fields are not read),
 * `c` what the pause froze. The result's actions are for that one packet: they are executed,
 * not cached.
 */
export function xlateResume(bridge: BridgeContext, packet: Flow, pipeline: Flow, c: Continuation, opts: XlateOptions = {}): XlateResult {
  const flow = packet.clone();
  for (const f of PIPELINE_FIELDS) flow.set(f, pipeline.get(f));
  const ctx = new Ctx(bridge, flow, opts.trace ?? false, opts.sideEffects ?? true);
  if (c.actionSet.length) ctx.actionSet = new Map(c.actionSet.map((a) => [actionSetKey(a), a]));
  ctx.stack = [...c.stack];
  ctx.slowPath = 'resumed after a pause';
  return run(ctx, () => {
    ctx.node('detail', () => 'resuming a paused pipeline');
    for (const [i, frame] of c.frames.entries()) {
      ctx.tableId = frame.tableId;
      ctx.resumeCookie = frame.cookie;
      const fz = ctx.actions(frame.actions) ? undefined : ctx.freezing;
      if (fz) {
        // Paused again: what this resume had left joins the new continuation.
        fz.continuation.frames.push({ tableId: frame.tableId, cookie: frame.cookie, actions: fz.rest }, ...c.frames.slice(i + 1));
        return;
      }
    }
  });
}

/** Runs a translation from `start`, then the action set, and collects the result. */
function run(ctx: Ctx, start: () => void): XlateResult {
  // Always examined, as in OVS: the port a packet came in on and its Ethernet type.
  ctx.wc.orField('in_port').orField('dl_type');
  // A frame from a tunnel: which tunnel port it came in on depends on its outer header.
  if (ctx.flow.num('tun_dst') !== 0 || ctx.flow.get('tun_ipv6_dst') !== 0n) unwildcardTunnel(ctx.flow, ctx.wc);
  const netflowKey = ctx.br.netflow ? netflowKeyOf(ctx.flow, ctx.wc) : undefined;
  let error: XlateResult['error'];
  try {
    start();
    // A pause froze the action set with the rest of the pipeline.
    if (ctx.freezing) ctx.freezing.continuation.actionSet = ctx.actionSet ? [...ctx.actionSet.values()] : [];
    else ctx.runActionSet();
  } catch (e) {
    if (!(e instanceof XlateError)) throw e;
    error = { code: e.code, message: e.hint ? `${e.message}: ${e.hint}` : e.message };
    ctx.odp.length = 0;
    ctx.packetIns.length = 0;
    if (ctx.tracing) ctx.root[0]!.subs.push({ type: 'error', text: e.message, subs: [] });
  }
  for (const r of REGS) ctx.wc.set(r, 0n);
  const result = resultOf(ctx, error);
  if (netflowKey) result.netflow = { key: netflowKey, output: ctx.nfOutput };
  return result;
}

/**
 * An IPv4 flow's NetFlow key; its fields are unwildcarded, so that each megaflow's counters
 * belong to one NetFlow flow (OVS's netflow_mask_wc).
 */
function netflowKeyOf(flow: Flow, wc: FlowWildcards): NetflowRef['key'] | undefined {
  if (flow.num('dl_type') !== ETH_TYPE.IP) return undefined;
  wc.orField('nw_src').orField('nw_dst').orField('nw_proto').orField('nw_tos', 0xfc);
  const proto = flow.num('nw_proto');
  const ports = proto === IP_PROTO.TCP || proto === IP_PROTO.UDP || proto === IP_PROTO.SCTP || proto === IP_PROTO.ICMP;
  if (ports) wc.orField('tp_src').orField('tp_dst');
  return {
    inPort: flow.num('in_port'),
    nwSrc: flow.num('nw_src'),
    nwDst: flow.num('nw_dst'),
    nwTos: flow.num('nw_tos'),
    nwProto: proto,
    tpSrc: ports ? flow.num('tp_src') : 0,
    tpDst: ports ? flow.num('tp_dst') : 0,
  };
}

function resultOf(ctx: Ctx, error: XlateResult['error']): XlateResult {
  const result: XlateResult = {
    actions: ctx.odp,
    wc: ctx.wc,
    finalFlow: ctx.flow,
    trace: ctx.root,
    ruleHits: ctx.ruleHits,
    groupHits: ctx.groupHits,
    mirrorHits: ctx.mirrorHits,
    sideEffects: { learned: ctx.learned, macRefs: ctx.macRefs, packetIns: ctx.packetIns },
  };
  if (error) result.error = error;
  if (ctx.slowPath) result.slowPath = ctx.slowPath;
  return result;
}

/**
 * Translates a packet-out's `actions` for `flow` (its in_port an ofport, or OFPP.CONTROLLER when
 * the controller named none), as a rule's actions are translated; output to TABLE runs the
 * tables from table 0.
 */
export function xlatePacketOut(bridge: BridgeContext, flow: Flow, actions: readonly Action[]): XlateResult {
  const ctx = new Ctx(bridge, flow, false, true);
  ctx.packetOut = true;
  return run(ctx, () => ctx.actions(actions));
}

/**
 * Translates a datapath miss: maps the key's in_port to an ofport and runs xlate. Returns
 * undefined if the in_port is not a port of `bridge`. The megaflow mask is `wcToMask` of the
 * result's wildcards, for callers that install one.
 */
export function xlateMiss(bridge: BridgeContext, key: FlowKey | Buffer, opts: XlateOptions = {}): XlateResult | undefined {
  const dpPort = Buffer.isBuffer(key) ? key.readUInt32LE(0) : Number(key.in_port ?? 0);
  const port = bridge.portByDp(dpPort);
  if (port) return xlate(bridge, keyToFlow(key, port.ofport), opts);
  if (!bridge.tunnels?.isVport(dpPort)) return undefined;
  const flow = geneveOptionToFlow(key, keyToFlow(key, 0), bridge.tlvMap);
  const hit = bridge.tunnels.receive(dpPort, flow);
  if (hit?.bridge !== bridge.name) return undefined;
  return xlate(bridge, flow.setNum('in_port', hit.ofport), opts);
}
