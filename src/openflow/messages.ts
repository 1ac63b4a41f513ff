/**
 * OpenFlow messages as TypeScript values, independent of the protocol version.
 *
 * The codec (src/openflow/codec/) turns an `OfMessage` into the bytes of the version and
 * formats a connection negotiated (a `Session`) and back; the switch side
 * (src/vswitchd/ofconn.ts), tvs-ofctl and the controller API speak only these values. Rules,
 * matches, actions, groups and meters are ofproto's own model, so a flow_mod from the wire
 * reaches the tables without another representation in between.
 *
 * Naming follows OVS (`OFPT_FLOW_MOD` is `flow_mod`, `OFPMP_PORT_DESC` is `port_desc`). Nicira
 * extensions that change how other messages are encoded (flow format, packet-in format) are
 * messages here too; the connection applies them to its `Session`.
 */
import type { Action } from '../ofproto/actions.js';
import type { FlowMod, FlowRemovedReason } from '../ofproto/flow-table.js';
import type { Group, GroupMod, GroupType } from '../ofproto/groups.js';
import type { Match } from '../ofproto/match.js';
import type { MeterBand, MeterConfig, MeterMod, MeterStats } from '../ofproto/meters.js';
import type { TlvMapping, TlvTableCommand } from '../ofproto/tun-metadata.js';

/** Wire version numbers: OpenFlow 1.0 is 0x01 ... OpenFlow 1.5 is 0x06. */
export const OFP10 = 0x01;
export const OFP11 = 0x02;
export const OFP12 = 0x03;
export const OFP13 = 0x04;
export const OFP14 = 0x05;
export const OFP15 = 0x06;
export const SUPPORTED_VERSIONS: readonly number[] = [OFP10, OFP11, OFP12, OFP13, OFP14, OFP15];

/** How match and flow messages are encoded on an OpenFlow 1.0 connection (NXT_SET_FLOW_FORMAT). */
export type FlowFormat = 'openflow10' | 'nxm';
/** How packet-ins are sent (NXT_SET_PACKET_IN_FORMAT). */
export type PacketInFormat = 'standard' | 'nxt_packet_in' | 'nxt_packet_in2';

/** What a connection negotiated: the codec needs it to encode and decode. */
export interface Session {
  version: number;
  /** OpenFlow 1.0 only; 1.2+ always use OXM. */
  flowFormat: FlowFormat;
  packetInFormat: PacketInFormat;
  /** NXT_FLOW_MOD_TABLE_ID: an OpenFlow 1.0 flow_mod carries a table id in its command's high byte. */
  flowModTableId: boolean;
}

export function defaultSession(version: number): Session {
  return { version, flowFormat: 'openflow10', packetInFormat: 'standard', flowModTableId: false };
}

/** An OpenFlow port description (ofp_port / ofp_phy_port). */
export interface PortDesc {
  /** OpenFlow port number, 16-bit numbering internally (OFPP.LOCAL is 0xfffe). */
  portNo: number;
  hwAddr: bigint;
  name: string;
  /** OFPPC_* bits: PORT_DOWN 1, NO_RECV 4, NO_FWD 32, NO_PACKET_IN 64 (1.0 adds NO_STP 2, NO_RECV_STP 8, NO_FLOOD 16). */
  config: number;
  /** OFPPS_* bits: LINK_DOWN 1, BLOCKED 2, LIVE 4. */
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  /** kbps, OpenFlow 1.1+. */
  currSpeed: number;
  maxSpeed: number;
}

export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  /** How long the port has existed, ms (OpenFlow 1.3+). */
  durationMs: number;
}

export interface FlowStats {
  tableId: number;
  durationMs: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  /** OFPFF_* flags as the rule was added with. */
  flags: FlowMod['flags'];
  importance: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  /** NXST_FLOW and OpenFlow 1.5 report idle/hard age; ms since last use and since last modification. */
  idleAgeMs: number;
  hardAgeMs: number;
  match: Match;
  /** OpenFlow 1.0 rules: apply only. */
  instructions: FlowMod['instructions'];
}

export interface TableStats {
  tableId: number;
  name: string;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
  maxEntries: number;
}

/** What a table's rules (or its table-miss rule) may hold (ofputil_table_instruction_features). */
export interface TableInstructionFeatures {
  /** OVS's names of the instructions: meter, apply_actions, clear_actions, write_actions, write_metadata, goto_table. */
  instructions: string[];
  /** The tables goto_table may name. */
  nextTables: number[];
  /** OVS's names of the actions (output, group, set_field, ...) and the fields set_field may write. */
  write: TableActionFeatures;
  apply: TableActionFeatures;
}

export interface TableActionFeatures {
  actions: string[];
  setFields: string[];
}

/** One table's OFPMP_TABLE_FEATURES entry; fields and actions by OVS's names, so every version reads the same. */
export interface TableFeatures {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  maxEntries: number;
  /** OFPTC14_EVICTION and OFPTC14_VACANCY_EVENTS (OpenFlow 1.4+; undefined before). */
  supportsEviction?: boolean;
  supportsVacancyEvents?: boolean;
  nonmiss: TableInstructionFeatures;
  miss: TableInstructionFeatures;
  /** The fields a rule may match, those of them it may match with any mask, and those it may leave out. */
  match: string[];
  maskable: string[];
  wildcards: string[];
}

/** OFPMP_TABLE_DESC: a table's eviction and vacancy-event configuration (OpenFlow 1.4+). */
export interface TableDesc {
  tableId: number;
  /** OFPTC14_EVICTION set in its config. */
  eviction: boolean;
  /** OFPTMPEF14_* flags eviction would weigh: OTHER 1, IMPORTANCE 2, LIFETIME 4. */
  evictionFlags: number;
  /** OFPTC14_VACANCY_EVENTS set, and the thresholds (percent) it would report around. */
  vacancy: boolean;
  vacancyDown: number;
  vacancyUp: number;
  vacancyNow: number;
}

export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationMs: number;
  buckets: Array<{ packetCount: bigint; byteCount: bigint }>;
}

export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  durationMs: number;
}

/** A queue of a port as queue_get_config / queue_desc describe it; rates in tenths of a percent, absent when the queue has none. */
export interface QueueConfig {
  portNo: number;
  queueId: number;
  minRate?: number;
  maxRate?: number;
}

export interface SwitchDesc {
  mfr: string;
  hw: string;
  sw: string;
  serial: string;
  dp: string;
}

export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out';

export type ControllerRole = 'nochange' | 'equal' | 'master' | 'slave';

/** OFPCRR_*: why a role status was sent (a master request by another controller, a config change, an experimenter reason). */
export type RoleStatusReason = 'master_request' | 'config' | 'experimenter';

/** The kinds of asynchronous message a connection may mask, in OpenFlow 1.4's property order (OAM_*). */
export const ASYNC_KINDS = ['packetIn', 'portStatus', 'flowRemoved', 'roleStatus', 'tableStatus', 'requestForward'] as const;
export type AsyncKind = (typeof ASYNC_KINDS)[number];

/**
 * Which asynchronous messages a connection receives, per role (OFPT_GET_ASYNC_REPLY): for each
 * kind, bit masks of reasons, [0] for a master or equal controller and [1] for a slave.
 */
export type AsyncConfig = Record<AsyncKind, [number, number]>;

/**
 * What a set_async changes. OpenFlow 1.3's OFPT_SET_ASYNC and NXT_SET_ASYNC_CONFIG set every mask
 * (those they cannot carry to none); OpenFlow 1.4's property-based OFPT_SET_ASYNC and
 * NXT_SET_ASYNC_CONFIG2 set only the masks they carry, a role's half at a time.
 */
export type AsyncConfigChange = { [K in AsyncKind]?: [master?: number, slave?: number] };

/** OFPBCT_*: what a bundle_control asks (or answers). */
export type BundleControlType =
  | 'open_request'
  | 'open_reply'
  | 'close_request'
  | 'close_reply'
  | 'commit_request'
  | 'commit_reply'
  | 'discard_request'
  | 'discard_reply';

/** OFPBF_* bundle flags. */
export const OFPBF_ATOMIC = 0x1;
export const OFPBF_ORDERED = 0x2;

/**
 * Flow monitor flags as Nicira numbers them (NXFMF_*, also ONF's on OpenFlow 1.3). OpenFlow 1.4's
 * OFPFMF_* share the first five bits; its ONLY_OWN (0x40) is what OVS takes for OWN.
 */
export const NXFMF = { INITIAL: 0x1, ADD: 0x2, DELETE: 0x4, MODIFY: 0x8, ACTIONS: 0x10, OWN: 0x20 } as const;

/** OFPFMC_*: what a flow monitor request does to monitor `id` (only OpenFlow 1.4+ can modify or delete one). */
export type FlowMonitorCommand = 'add' | 'modify' | 'delete';

/** One flow monitor of a flow_monitor request (nx_flow_monitor_request, onf_ and ofp14_flow_monitor_request). */
export interface FlowMonitorRequest {
  id: number;
  command: FlowMonitorCommand;
  /** NXFMF_* bits. */
  flags: number;
  /** Only rules that output to this port (OFPP.NONE: any). */
  outPort: number;
  /** Only rules that output to this group (OFPG.ANY: any); OpenFlow 1.4+ carries it. */
  outGroup: number;
  /** 0xff: every table. */
  tableId: number;
  /** Rules whose match is at least as specific as this one. */
  match: Match;
}

/**
 * One flow monitor update: a rule there when the monitor started (initial: OpenFlow 1.4's
 * OFPFME_INITIAL, ADDED in older versions), added, deleted or modified; ABBREV for a change this
 * connection made itself; PAUSED and RESUMED as OpenFlow 1.4 sends them inside the reply.
 */
export type FlowUpdate =
  | {
      event: 'initial' | 'added' | 'deleted' | 'modified';
      /** Why a deleted rule went (deleted only). */
      reason?: FlowRemovedReason;
      tableId: number;
      idleTimeout: number;
      hardTimeout: number;
      priority: number;
      cookie: bigint;
      match: Match;
      /** With NXFMF_ACTIONS. */
      actions?: FlowMod['instructions'];
    }
  | { event: 'abbrev'; xid: number }
  | { event: 'paused' }
  | { event: 'resumed' };

export type MultipartRequest =
  | { kind: 'desc' }
  | { kind: 'flow' | 'aggregate'; tableId: number; match: Match; outPort: number; outGroup: number; cookie: bigint; cookieMask: bigint }
  | { kind: 'table' }
  | { kind: 'table_features' }
  | { kind: 'table_desc' }
  | { kind: 'port'; portNo: number }
  | { kind: 'port_desc' }
  | { kind: 'queue'; portNo: number; queueId: number }
  | { kind: 'queue_desc'; portNo: number; queueId: number }
  | { kind: 'group'; groupId: number }
  | { kind: 'group_desc' }
  | { kind: 'group_features' }
  | { kind: 'meter' | 'meter_config'; meterId: number }
  | { kind: 'meter_features' }
  | { kind: 'flow_monitor'; monitors: FlowMonitorRequest[] };

/** A whole reply: the codec splits it into as many OFPMPF_REPLY_MORE messages as it needs and the connection joins them. */
export type MultipartReply =
  | { kind: 'desc'; desc: SwitchDesc }
  | { kind: 'flow'; flows: FlowStats[] }
  | { kind: 'aggregate'; packetCount: bigint; byteCount: bigint; flowCount: number }
  | { kind: 'table'; tables: TableStats[] }
  | { kind: 'table_features'; tables: TableFeatures[] }
  | { kind: 'table_desc'; tables: TableDesc[] }
  | { kind: 'port'; ports: PortStats[] }
  | { kind: 'port_desc'; ports: PortDesc[] }
  | { kind: 'queue'; queues: QueueStats[] }
  | { kind: 'queue_desc'; queues: QueueConfig[] }
  | { kind: 'group'; groups: GroupStats[] }
  | { kind: 'group_desc'; groups: Array<Pick<Group, 'groupId' | 'type' | 'buckets'>> }
  /** `capabilities` is OFPGFC_*; `actions` are OFPAT_* bitmaps numbered as the session's version numbers actions. */
  | { kind: 'group_features'; types: GroupType[]; capabilities: number; maxGroups: Record<GroupType, number>; actions: Record<GroupType, number> }
  | { kind: 'meter'; meters: MeterStats[] }
  | { kind: 'meter_config'; meters: MeterConfig[] }
  | { kind: 'meter_features'; maxMeters: number; bandTypes: Array<MeterBand['type']>; capabilities: number; maxBands: number; maxColor: number }
  | { kind: 'flow_monitor'; updates: FlowUpdate[] };

export type OfMessage =
  | { type: 'hello'; versions: number[] }
  /**
   * `name` is OVS's name of the error (`OFPBRC_BAD_TYPE`, `OFPFMFC_OVERLAP`, `NXBRC_...`), which
   * the codec maps to the type and code of the session's version; `data` is (the start of) the
   * offending message.
   */
  | { type: 'error'; name: string; data: Buffer }
  | { type: 'echo_request' | 'echo_reply'; data: Buffer }
  | { type: 'features_request' }
  | {
      type: 'features_reply';
      datapathId: bigint;
      nBuffers: number;
      nTables: number;
      auxiliaryId: number;
      /** OFPC_* bits. */
      capabilities: number;
      /** OpenFlow 1.0's supported-actions bitmap. */
      actions: number;
      /** OpenFlow 1.0-1.2 carry the ports here; 1.3+ leave it empty (port_desc instead). */
      ports: PortDesc[];
    }
  | { type: 'get_config_request' }
  | { type: 'get_config_reply' | 'set_config'; flags: number; missSendLen: number }
  | {
      type: 'packet_in';
      /** 0xffffffff: not buffered (TVS never buffers). */
      bufferId: number;
      totalLen: number;
      reason: PacketInReason;
      tableId: number;
      cookie: bigint;
      /** in_port and the pipeline metadata (registers, metadata, tunnel) at the time of the packet-in. */
      match: Match;
      data: Buffer;
      /** controller(userdata=...) bytes (NXT_PACKET_IN2). */
      userdata?: Buffer;
      /** controller(pause): the opaque continuation a controller returns in NXT_RESUME. */
      continuation?: Buffer;
    }
  | { type: 'packet_out'; bufferId: number; inPort: number; actions: Action[]; data: Buffer }
  | { type: 'flow_mod'; mod: FlowMod }
  | {
      type: 'flow_removed';
      cookie: bigint;
      priority: number;
      reason: FlowRemovedReason;
      tableId: number;
      durationMs: number;
      idleTimeout: number;
      hardTimeout: number;
      packetCount: bigint;
      byteCount: bigint;
      match: Match;
    }
  | { type: 'port_status'; reason: 'add' | 'delete' | 'modify'; desc: PortDesc }
  | { type: 'port_mod'; portNo: number; hwAddr: bigint; config: number; mask: number; advertise: number }
  | { type: 'table_mod'; tableId: number; config: number }
  | { type: 'barrier_request' | 'barrier_reply' }
  | { type: 'role_request' | 'role_reply'; role: ControllerRole; generationId: bigint }
  /**
   * OFPT_ROLE_STATUS (OpenFlow 1.4+; ONFT_ROLE_STATUS on 1.3): the switch changed this connection's
   * role without its asking, e.g. to slave because another controller became master. Properties are not modelled.
   */
  | { type: 'role_status'; role: ControllerRole; reason: RoleStatusReason; generationId: bigint }
  /** OFPT_QUEUE_GET_CONFIG_REQUEST / _REPLY (OpenFlow 1.0-1.3; OFPMP_QUEUE_DESC from 1.4). */
  | { type: 'queue_get_config_request'; portNo: number }
  | { type: 'queue_get_config_reply'; portNo: number; queues: QueueConfig[] }
  | { type: 'get_async_request' }
  | { type: 'get_async_reply'; config: AsyncConfig }
  | { type: 'set_async'; config: AsyncConfigChange }
  | { type: 'multipart_request'; request: MultipartRequest }
  /**
   * `more`, when encoding: further parts of this reply follow in later messages, so its last
   * part too carries OFPMPF_REPLY_MORE (a long reply sent in pieces). Decoding joins the parts.
   */
  | { type: 'multipart_reply'; reply: MultipartReply; more?: boolean }
  | { type: 'group_mod'; mod: GroupMod }
  | { type: 'meter_mod'; mod: MeterMod }
  /** OFPT_BUNDLE_CONTROL (OpenFlow 1.4+; ONFT_BUNDLE_CONTROL on 1.3). Properties are not modelled. */
  | { type: 'bundle_control'; bundleId: number; control: BundleControlType; flags: number }
  /**
   * OFPT_BUNDLE_ADD_MESSAGE (ONFT_BUNDLE_ADD_MESSAGE on 1.3): `msg` travels inside with the
   * same xid as the bundle_add itself, as OpenFlow requires.
   */
  | { type: 'bundle_add'; bundleId: number; flags: number; msg: OfMessage }
  /**
   * Stop flow monitor `id`: NXT_FLOW_MONITOR_CANCEL (OpenFlow 1.0-1.2), ONFT_FLOW_MONITOR_CANCEL
   * (1.3), a flow monitor request with command OFPFMC_DELETE (1.4+).
   */
  | { type: 'flow_monitor_cancel'; id: number }
  /**
   * The switch stopped sending flow updates (the connection's backlog is full) or restarted:
   * NXT_ / ONFT_FLOW_MONITOR_PAUSED and _RESUMED; OpenFlow 1.4+ sends them as a flow monitor
   * reply with one PAUSED or RESUMED update, and decodes to that.
   */
  | { type: 'flow_monitor_paused' | 'flow_monitor_resumed' }
  // Nicira extensions (OpenFlow 1.0's vendor messages; OVS accepts them on every version).
  | { type: 'nx_set_flow_format'; format: FlowFormat }
  | { type: 'nx_flow_mod_table_id'; enable: boolean }
  | { type: 'nx_set_packet_in_format'; format: PacketInFormat }
  | { type: 'nx_set_controller_id'; controllerId: number }
  /** NXT_RESUME: continue the pipeline of a paused packet-in. */
  | { type: 'nx_resume'; packetIn: Extract<OfMessage, { type: 'packet_in' }> }
  /** NXT_TLV_TABLE_MOD: add, delete (by index) or clear the bridge's map of Geneve options to tun_metadata0..63. */
  | { type: 'nx_tlv_table_mod'; command: TlvTableCommand; mappings: TlvMapping[] }
  | { type: 'nx_tlv_table_request' }
  /** NXT_TLV_TABLE_REPLY: the switch's limits (bytes of options, number of fields) and its mappings. */
  | { type: 'nx_tlv_table_reply'; maxOptionSpace: number; maxFields: number; mappings: TlvMapping[] };

export type OfMessageType = OfMessage['type'];
export type MessageOf<T extends OfMessageType> = Extract<OfMessage, { type: T }>;
