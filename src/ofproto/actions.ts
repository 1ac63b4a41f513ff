/**
 * OpenFlow actions and instructions, independent of the wire protocol.
 *
 * An `Instructions` value is what a rule does: apply-actions now, then clear/write the action set,
 * write metadata, and go to a later table — the OpenFlow 1.3 instruction order, which is also the
 * order ovs-ofctl prints them in. OpenFlow 1.0 rules use only `apply`.
 *
 * Ports are 16-bit OpenFlow 1.0 numbers internally, as in OVS (`OFPP_*` below); the 1.3 codec
 * maps the reserved ones to 0xfffffff8.. on the wire.
 */
import type { FieldId } from './flow.js';

/** Reserved OpenFlow port numbers (OpenFlow 1.0 numbering). */
export const OFPP = {
  /** Highest number of a physical port + 1. */
  MAX: 0xff00,
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  /** "Any port" in filters; "no port" elsewhere (OFPP_NONE). */
  ANY: 0xffff,
} as const;

/** Reserved group numbers. */
export const OFPG = {
  MAX: 0xffffff00,
  ALL: 0xfffffffc,
  ANY: 0xffffffff,
} as const;

/** A bit range of a field, as `NXM_NX_REG0[0..15]` names one: bits ofs .. ofs+nBits-1. */
export interface Subfield {
  field: FieldId;
  ofs: number;
  nBits: number;
  /** The name it was written with, when the field has several (arp_spa for nw_src): see names.ts recordedName. */
  name?: string;
}

/** Why a controller action sends a packet-in (OpenFlow's ofp_packet_in_reason, by OVS's names). */
export type ControllerReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out';
export const CONTROLLER_REASONS: readonly ControllerReason[] = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

/** One action. Field names follow the ovs-ofctl keyword that produces it. */
export type Action =
  /** Output to a port; for CONTROLLER, `maxLen` bytes of the packet go in the packet-in. */
  | { type: 'output'; port: number; maxLen: number }
  /** Set the VLAN id; `push` (mod_vlan_vid) adds a tag if there is none, set_vlan_vid does not. */
  | { type: 'set_vlan_vid'; vid: number; push: boolean }
  | { type: 'set_vlan_pcp'; pcp: number; push: boolean }
  /** Remove the outer VLAN tag; `raw` remembers which keyword the user wrote. */
  | { type: 'strip_vlan'; raw: 'strip_vlan' | 'pop_vlan' }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'set_eth_src'; mac: bigint }
  | { type: 'set_eth_dst'; mac: bigint }
  | { type: 'set_ipv4_src'; ip: number }
  | { type: 'set_ipv4_dst'; ip: number }
  /** mod_nw_tos: the TOS byte with the DSCP in its upper six bits. */
  | { type: 'set_ip_dscp'; tos: number }
  | { type: 'set_l4_src_port'; port: number }
  | { type: 'set_l4_dst_port'; port: number }
  | { type: 'dec_ttl' }
  /** set_field:value[/mask]->field; `name` as in Subfield. */
  | { type: 'set_field'; field: FieldId; value: bigint; mask: bigint; name?: string }
  /** load:value->dst (NXAST_REG_LOAD) */
  | { type: 'load'; dst: Subfield; value: bigint }
  /** move:src->dst (NXAST_REG_MOVE); src and dst have the same width. */
  | { type: 'move'; src: Subfield; dst: Subfield }
  /** Re-search `table` (255 = this table) with in_port replaced by `inPort` (IN_PORT = unchanged). */
  | { type: 'resubmit'; inPort: number; table: number }
  | { type: 'set_tunnel'; tunId: bigint; is64: boolean }
  | { type: 'group'; groupId: number }
  /** output:SUBFIELD (NXAST_OUTPUT_REG): output to the port number a register holds. */
  | { type: 'output_reg'; src: Subfield; maxLen: number }
  /** push:SUBFIELD / pop:SUBFIELD: the translation's stack of values (NXAST_STACK_PUSH/POP). */
  | { type: 'push'; src: Subfield }
  | { type: 'pop'; dst: Subfield }
  /**
   * controller(...) with more than a max_len (NXAST_CONTROLLER2): the packet-in's reason, the
   * controller connection id it is for, opaque userdata, `pause`, which stops the pipeline
   * until the controller resumes it (NXT_RESUME), and the meter that rate-limits these packet-ins
   * (OVN meters its controller events). A plain controller:N is an output action.
   */
  | { type: 'controller'; maxLen: number; reason: ControllerReason; controllerId: number; userdata?: Buffer; pause: boolean; meterId?: number }
  /** Per-flow IPFIX sampling (NXAST_SAMPLE/2/3); see SampleAction. */
  | SampleAction;

/** Which packets of a sample action's direction it samples (NXAST_SAMPLE3's direction). */
export type SampleDirection = 'default' | 'ingress' | 'egress';

/**
 * sample(probability=N,collector_set_id=N,obs_domain_id=N,obs_point_id=N[,sampling_port=P][,ingress|egress]):
 * sends N/65535 of the packets to the IPFIX exporter of Flow_Sample_Collector_Set `collectorSetId`.
 */
export interface SampleAction {
  type: 'sample';
  /** Packets sampled per 65535 (1..65535). */
  probability: number;
  collectorSetId: number;
  obsDomainId: number;
  obsPointId: number;
  /** The OpenFlow port the sample is reported for; OFPP.ANY (OVS's OFPP_NONE) for none. */
  samplingPort: number;
  direction: SampleDirection;
}

/** What a rule does when it matches. */
export interface Instructions {
  /**
   * Meter the packet first (OpenFlow 1.3's OFPIT_METER; 1.5's meter action maps onto it): over a
   * drop band's rate nothing else of the rule happens.
   */
  meter?: number;
  /** Apply-actions, executed at once in order (empty with nothing else = drop). */
  apply: Action[];
  /** Clear the action set. */
  clearActions: boolean;
  /** Write-actions into the action set. */
  write?: Action[];
  writeMetadata?: { value: bigint; mask: bigint };
  gotoTable?: number;
}

/** Output action, with the max_len OVS uses by default (65535 for CONTROLLER, 0 otherwise). */
export function output(port: number, maxLen = port === OFPP.CONTROLLER ? 0xffff : 0): Action {
  return { type: 'output', port, maxLen };
}

/** Every action of a rule: apply-actions then write-actions. */
function allActions(ins: Instructions): Action[] {
  return ins.write ? [...ins.apply, ...ins.write] : ins.apply;
}

/**
 * True if the instructions output to `port` (the OpenFlow out_port filter). OFPP_ANY matches
 * every rule.
 */
export function outputsToPort(ins: Instructions, port: number): boolean {
  if (port === OFPP.ANY) return true;
  return allActions(ins).some((a) => (a.type === 'output' && a.port === port) || (a.type === 'controller' && port === OFPP.CONTROLLER));
}

/** True if the instructions forward to group `groupId` (the out_group filter). */
export function outputsToGroup(ins: Instructions, groupId: number): boolean {
  if (groupId === OFPG.ANY) return true;
  return allActions(ins).some((a) => a.type === 'group' && a.groupId === groupId);
}

/** Groups a rule refers to. */
export function referencedGroups(actions: readonly Action[]): number[] {
  return actions.filter((a): a is Extract<Action, { type: 'group' }> => a.type === 'group').map((a) => a.groupId);
}
