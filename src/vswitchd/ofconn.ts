// One OpenFlow connection to a bridge, as OVS's ofconn: the messages a
// controller (or ovs-ofctl on the management socket) sends are applied to
// the bridge and answered; the connection's own state (role, asynchronous
// message configuration, miss_send_len) decides which asynchronous
// messages it receives. Everything the bridge shares between its
// connections (role arbitration, ports, the datapath) comes from an
// OfConnHost, the bridge's connection manager.
import type { EventEmitter } from 'node:events';
import { getLogger } from '../lib/log.js';
import type { RuleChange } from '../ofproto/xbridge.js';
import { Bundles } from './bundles.js';
import { FlowMonitors } from './flow-monitor.js';
import { RequestError } from './request-error.js';
import { OFPG, OFPP, referencedGroups, type Action } from '../ofproto/actions.js';
import { OFPTT_ALL, type FlowMod, type Rule } from '../ofproto/flow-table.js';
import { OFPM } from '../ofproto/meters.js';
import { Match } from '../ofproto/match.js';
import { OfpError } from '../ofproto/ofperr.js';
import { TUN_METADATA_FIELDS, TUN_METADATA_SPACE } from '../ofproto/tun-metadata.js';
import type { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import type { XBridge } from '../ofproto/xbridge.js';
import type { PacketIn } from '../ofproto/xlate.js';
import { OfDecodeError } from '../openflow/codec/buffer.js';
import { decodeContinuation, encodeContinuation } from '../openflow/codec/continuation.js';
import { applyAsyncChange, noAsync } from '../openflow/codec/async-config.js';
import { supportedActionBitmap, tvsTableCapabilities } from '../openflow/codec/table-features.js';
import {
  OFP10,
  OFP12,
  OFP13,
  OFP14,
  type AsyncConfig,
  type ControllerRole,
  type FlowStats,
  type MessageOf,
  type MultipartReply,
  type MultipartRequest,
  type OfMessage,
  type PacketInReason,
  type PortDesc,
  type PortStats,
  type Session,
} from '../openflow/messages.js';

const log = getLogger('ofconn');

/** OFPGFC_*: select buckets are weighted and skip dead ports, and a bucket may output to another group. */
const OFPGFC_SELECT_WEIGHT = 1 << 0;
const OFPGFC_SELECT_LIVENESS = 1 << 1;
const OFPGFC_CHAINING = 1 << 2;
/** OFPTMPEF14_OTHER | IMPORTANCE | LIFETIME: what OVS's eviction would weigh (OFPROTO_EVICTION_FLAGS). */
const OFPTMPEF14_ALL = 0x7;

/** What a connection needs of the transport (OfConnection offers exactly this). */
export interface OfChannel extends EventEmitter {
  readonly session: Session;
  send(msg: OfMessage, xid?: number): number;
  request(msg: OfMessage): Promise<OfMessage>;
  close(): void;
  /** Bytes queued and not yet sent (flow monitors pause above a limit); none if the transport cannot say. */
  backlog?(): number;
}

/**
 * A controller from the Controller table ("primary" in OVS) or a service
 * connection (the bridge's management socket): a service connection gets
 * no asynchronous messages until it sets a miss_send_len, and does not
 * count as a controller for fail_mode.
 */
export type ConnKind = 'controller' | 'service';

/** What the bridge's connection manager offers its connections. */
export interface OfConnHost {
  readonly xb: XBridge;
  readonly of: OfprotoDpif;
  datapathId(): bigint;
  /** Every port, LOCAL included, as features and port_desc describe them. */
  portDescs(): PortDesc[];
  /** Counters of one port, or every port for OFPP.ANY; none for a port that does not exist. */
  portStats(portNo: number): PortStats[];
  /** Applies a port_mod; throws RequestError (OFPPMFC_BAD_PORT, OFPPMFC_BAD_HW_ADDR). */
  portMod(msg: MessageOf<'port_mod'>): void;
  /** Checks a port_mod as portMod() does, without applying it (a bundle applies it at commit). */
  checkPortMod(msg: MessageOf<'port_mod'>): void;
  /**
   * Checks a master/slave request's generation id against the bridge's
   * (OFPRRFC_STALE if it is older) and makes it the bridge's; true if accepted.
   */
  acceptGenerationId(id: bigint): boolean;
  /** The generation id the bridge has seen, if any. */
  generationId(): bigint | undefined;
  /** `conn` became master: every other master becomes a slave. */
  demoteOtherMasters(conn: OfConn): void;
  /** Something changed what the bridge does on a table miss (a connection's version, role, miss_send_len). */
  connectionsChanged(): void;
  /** The switch description (desc multipart reply). */
  desc(): MultipartReply & { kind: 'desc' };
  /** Runs `change` as `conn`'s request `xid`: flow monitors report the rule changes it makes as that connection's own. */
  changedBy<T>(conn: OfConn, xid: number, change: () => T): T;
}


/** OVS's tables as OpenFlow sees them: 0-253 (254 is kept for internal use). */
const N_OF_TABLES = 254;
/** OFP_DEFAULT_MISS_SEND_LEN: what a controller connection gets of a table-miss frame. */
const DEFAULT_MISS_SEND_LEN = 128;
/** OFP_NO_BUFFER: TVS never buffers packets. */
const NO_BUFFER = 0xffffffff;
/** Rules per piece of a flow stats reply (see flowStatsReply): about 100 KiB on the wire. */
const FLOW_STATS_PIECE = 1000;
/** Every queue of a port, in queue stats requests. */
const OFPQ_ALL = 0xffffffff;

/** Reason bits of the asynchronous configuration, as OpenFlow numbers the reasons. */
const PACKET_IN_BIT: Record<PacketInReason, number> = { no_match: 0, action: 1, invalid_ttl: 2, action_set: 3, group: 4, packet_out: 5 };
const PORT_STATUS_BIT = { add: 0, delete: 1, modify: 2 } as const;
const FLOW_REMOVED_BIT = { idle_timeout: 0, hard_timeout: 1, delete: 2, group_delete: 3, meter_delete: 4 } as const;

/**
 * OVS's defaults (ofputil_async_cfg_default): a master or equal controller gets packet-ins of
 * every reason but invalid_ttl, port status and the flow-removed reasons of its version; a slave
 * port status only.
 */
function defaultAsyncConfig(version: number): AsyncConfig {
  const flowRemoved = version >= OFP14 ? 0x3f : version === OFP13 ? 0xf : 0x7;
  const packetIn = 0x3f & ~(1 << PACKET_IN_BIT.invalid_ttl);
  return { ...noAsync(), packetIn: [packetIn, 0], portStatus: [0b111, 0b111], flowRemoved: [flowRemoved, 0] };
}

/** Messages a slave may not send (OFPBRC_IS_SLAVE): everything that changes the switch. */
/**
 * What meter_features reports: the datapath's meter table (native/src/meter.rs MAX_METERS) and
 * the bands of MeterTable; capabilities OFPMF_KBPS | PKTPS | BURST | STATS.
 */
const METER_FEATURES = { maxMeters: 65535, maxBands: 8, capabilities: 0x1 | 0x2 | 0x4 | 0x8 } as const;

const STATE_CHANGING = new Set<OfMessage['type']>(['flow_mod', 'group_mod', 'meter_mod', 'port_mod', 'table_mod', 'packet_out', 'bundle_control', 'bundle_add', 'nx_tlv_table_mod']);

export class OfConn {
  role: Exclude<ControllerRole, 'nochange'> = 'equal';
  missSendLen: number;
  private configFlags = 0;
  /** Set by the connection's first set_async; until then OVS's defaults for its version. */
  private ownAsyncConfig: AsyncConfig | undefined;
  /** NXT_SET_CONTROLLER_ID: the id controller(id=N) actions address. */
  controllerId = 0;
  /** Set once the connection is gone: what is still queued is dropped unanswered. */
  closed = false;
  /** Messages are applied one after another: a barrier's reply waits for every earlier message. */
  private queue: Promise<void> = Promise.resolve();
  private readonly bundles: Bundles;
  private readonly monitors: FlowMonitors;

  constructor(
    readonly channel: OfChannel,
    readonly kind: ConnKind,
    private readonly host: OfConnHost,
    /** The offending message's first bytes for error replies (empty when the transport cannot say). */
    private readonly offendingBytes: (msg: OfMessage, xid: number) => Buffer = () => Buffer.alloc(0),
  ) {
    this.missSendLen = kind === 'controller' ? DEFAULT_MISS_SEND_LEN : 0;
    this.bundles = new Bundles({
      xb: host.xb,
      start: (msg) => this.startBundled(msg),
      sendError: (name, xid, data) => {
        if (!this.closed) this.channel.send({ type: 'error', name, data }, xid);
      },
    });
    this.monitors = new FlowMonitors(host.xb, {
      // Updates are unsolicited replies: OVS sends them with xid 0.
      send: (msg) => {
        if (!this.closed) this.channel.send(msg, 0);
      },
      backlog: () => this.channel.backlog?.() ?? 0,
    });
  }

  /** The connection is gone: what is still queued is dropped unanswered, its bundles and flow monitors with it. */
  close(): void {
    this.closed = true;
    this.bundles.discardAll();
    this.monitors.close();
  }

  /** Rules changed; `origin` made the change, with its request's xid. */
  rulesChanged(changes: readonly RuleChange[], origin: { conn: OfConn; xid: number } | undefined): void {
    this.monitors.report(changes, origin?.conn === this ? origin.xid : undefined);
  }

  get version(): number {
    return this.channel.session.version;
  }

  /** Queues `msg` after the messages before it; resolves once it is answered. */
  receive(msg: OfMessage, xid: number): Promise<void> {
    this.queue = this.queue.then(() => (this.closed ? undefined : this.handle(msg, xid))).catch((e: unknown) => this.fail(msg, xid, e));
    return this.queue;
  }

  /**
   * Answers a request that failed with an error message, so that its sender does not wait for
   * a reply that will not come: the OpenFlow error of a refusal, OFPBRC_EPERM for a failure of
   * the switch's own (a bug, or a reply the codec cannot encode).
   */
  private fail(msg: OfMessage, xid: number, e: unknown): void {
    if (this.closed) return;
    let name = 'OFPBRC_EPERM';
    if (e instanceof RequestError || e instanceof OfpError) {
      name = e instanceof OfpError ? e.code : e.errorName;
      log.info(`${this.host.xb.name}: ${msg.type} refused: ${e.message}`);
    } else {
      log.err(`${this.host.xb.name}: ${msg.type} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    try {
      this.channel.send({ type: 'error', name, data: this.offendingBytes(msg, xid) }, xid);
    } catch (sendError) {
      log.warn(`${this.host.xb.name}: cannot send the error for ${msg.type}: ${(sendError as Error).message}`);
    }
  }

  /**
   * Another controller became master: this one is slave now and is sent a role status where its
   * version has one (1.4, ONF's on 1.3; OVS sends nothing before 1.3).
   */
  demoteToSlave(generationId: bigint): void {
    this.role = 'slave';
    if (this.closed || this.channel.session.version < OFP13) return;
    this.channel.send({ type: 'role_status', role: 'slave', reason: 'master_request', generationId }, 0);
  }

  /** Sends a reply; throws (to fail()) if the transport cannot encode it. */
  private reply(msg: OfMessage, xid: number): void {
    this.channel.send(msg, xid);
  }

  private async handle(msg: OfMessage, xid: number): Promise<void> {
    if (this.role === 'slave' && STATE_CHANGING.has(msg.type)) {
      throw new RequestError('OFPBRC_IS_SLAVE', `a slave controller may not send ${msg.type} (request the master or equal role first)`);
    }
    const xb = this.host.xb;
    switch (msg.type) {
      case 'echo_request':
        this.reply({ type: 'echo_reply', data: msg.data }, xid);
        return;
      case 'features_request':
        this.reply(this.features(), xid);
        return;
      case 'get_config_request':
        this.reply({ type: 'get_config_reply', flags: this.configFlags, missSendLen: this.missSendLen }, xid);
        return;
      case 'queue_get_config_request':
        // TVS ports have no queues: an existing port (or every port) answers with none, as an OVS port
        // without QoS does. Before 1.4 only a physical port (below OFPP_MAX) may be asked, or any (1.1+).
        if (msg.portNo === OFPP.ANY && this.version === OFP10) throw new RequestError('OFPQOFC_BAD_PORT', 'OpenFlow 1.0 asks for the queues of one port at a time');
        if (msg.portNo !== OFPP.ANY && (msg.portNo >= OFPP.MAX || !this.portExists(msg.portNo))) {
          throw new RequestError('OFPQOFC_BAD_PORT', `port ${msg.portNo} does not exist on this bridge (see dump-ports-desc)`);
        }
        this.reply({ type: 'queue_get_config_reply', portNo: msg.portNo, queues: [] }, xid);
        return;
      case 'set_config':
        this.configFlags = msg.flags;
        this.missSendLen = msg.missSendLen;
        this.host.connectionsChanged();
        return;
      case 'flow_mod':
        this.host.changedBy(this, xid, () => this.flowMod(msg.mod));
        return;
      case 'packet_out':
        this.packetOut(msg)();
        return;
      case 'port_mod':
        this.host.portMod(msg);
        return;
      case 'table_mod':
        // OpenFlow 1.1-1.3's table-miss config is deprecated; TVS tables have nothing else to configure.
        if (msg.tableId !== OFPTT_ALL && msg.tableId >= N_OF_TABLES) throw new RequestError('OFPTMFC_BAD_TABLE', `table ${msg.tableId} does not exist (tables are 0-${N_OF_TABLES - 1})`);
        return;
      case 'barrier_request':
        await this.host.of.revalidated();
        this.reply({ type: 'barrier_reply' }, xid);
        return;
      case 'role_request':
        this.roleRequest(msg, xid);
        return;
      case 'get_async_request':
        this.reply({ type: 'get_async_reply', config: structuredClone(this.asyncConfig) }, xid);
        return;
      case 'set_async':
        // OpenFlow 1.4's properties change only the masks they carry (the others keep their value).
        this.ownAsyncConfig = applyAsyncChange(this.asyncConfig, msg.config);
        this.host.connectionsChanged();
        return;
      case 'multipart_request':
        if (msg.request.kind === 'flow') {
          await this.flowStatsReply(msg.request, xid);
          return;
        }
        this.reply({ type: 'multipart_reply', reply: this.multipart(msg.request) }, xid);
        return;
      case 'group_mod': {
        this.host.changedBy(this, xid, () => xb.groupMod(msg.mod));
        this.host.of.scheduleRevalidation();
        return;
      }
      case 'meter_mod':
        this.host.changedBy(this, xid, () => xb.meterMod(msg.mod));
        this.host.of.scheduleRevalidation();
        return;
      case 'nx_set_flow_format':
      case 'nx_flow_mod_table_id':
      case 'nx_set_packet_in_format':
        // The transport applied it to the session when it decoded it.
        return;
      case 'nx_set_controller_id':
        this.controllerId = msg.controllerId;
        return;
      case 'hello':
      case 'echo_reply':
        return;
      case 'error':
        log.info(`${xb.name}: the controller reported ${msg.name}`);
        return;
      case 'nx_resume':
        this.resume(msg.packetIn);
        return;
      case 'bundle_control':
        this.reply(
          this.host.changedBy(this, xid, () => this.bundles.control(msg, xid, this.offendingBytes(msg, xid))),
          xid,
        );
        return;
      case 'flow_monitor_cancel':
        this.monitors.cancel(msg.id);
        return;
      case 'nx_tlv_table_mod':
        xb.tlvMap.modify(msg.command, msg.mappings, (index) => xb.usesTunMetadata(index));
        // Megaflows translated under the old map read options by it: translate them again.
        this.host.of.scheduleRevalidation();
        return;
      case 'nx_tlv_table_request':
        this.reply({ type: 'nx_tlv_table_reply', maxOptionSpace: TUN_METADATA_SPACE, maxFields: TUN_METADATA_FIELDS, mappings: xb.tlvMap.list() }, xid);
        return;
      case 'bundle_add':
        this.bundles.add(msg, xid, this.offendingBytes(msg, xid));
        return;
      default:
        // Replies and asynchronous messages only a switch sends.
        throw new RequestError('OFPBRC_BAD_TYPE', `a switch does not accept ${msg.type}`);
    }
  }

  private features(): OfMessage {
    const old = this.version < OFP13;
    return {
      type: 'features_reply',
      datapathId: this.host.datapathId(),
      nBuffers: 0,
      nTables: N_OF_TABLES,
      auxiliaryId: 0,
      // FLOW_STATS, TABLE_STATS, PORT_STATS, QUEUE_STATS; 1.0 adds ARP_MATCH_IP, 1.1+ GROUP_STATS (1.0's bit 3 is STP).
      capabilities: this.version === OFP10 ? 0xc7 : 0x4f,
      // OpenFlow 1.0's action bitmap: every one of its 12 actions.
      actions: this.version === OFP10 ? 0xfff : 0,
      ports: old ? this.host.portDescs() : [],
    };
  }

  private flowMod(fm: FlowMod): void {
    const { xb } = this.host;
    if (fm.command === 'add' || fm.command === 'modify' || fm.command === 'modify_strict') {
      if (fm.tableId !== OFPTT_ALL && fm.tableId >= N_OF_TABLES) throw new RequestError('OFPFMFC_BAD_TABLE_ID', `table ${fm.tableId} does not exist (tables are 0-${N_OF_TABLES - 1})`);
      if (fm.instructions.gotoTable !== undefined && fm.instructions.gotoTable >= N_OF_TABLES) {
        throw new RequestError('OFPBIC_BAD_TABLE_ID', `goto_table:${fm.instructions.gotoTable} names a table that does not exist (tables are 0-${N_OF_TABLES - 1})`);
      }
      checkActions([...fm.instructions.apply, ...(fm.instructions.write ?? [])], xb);
    }
    xb.flowMod(fm);
    this.host.of.scheduleRevalidation();
  }

  /**
   * A bundled message at commit: flow_mods and group_mods are applied now (inside the bridge's
   * transaction), port_mods and packet-outs are checked now and done once the whole bundle is.
   */
  private startBundled(msg: OfMessage): (() => void) | undefined {
    switch (msg.type) {
      case 'flow_mod':
        this.flowMod(msg.mod);
        return undefined;
      case 'group_mod':
        this.host.xb.groupMod(msg.mod);
        this.host.of.scheduleRevalidation();
        return undefined;
      case 'port_mod':
        this.host.checkPortMod(msg);
        return () => this.host.portMod(msg);
      case 'packet_out':
        return this.packetOut(msg);
      default:
        throw new RequestError('OFPBFC_MSG_UNSUP', `${msg.type} cannot be bundled`);
    }
  }

  /** Checks a packet-out; returns how to send it. */
  private packetOut(msg: MessageOf<'packet_out'>): () => void {
    if (msg.bufferId !== NO_BUFFER) throw new RequestError('OFPBRC_BUFFER_UNKNOWN', `buffer ${msg.bufferId} does not exist (this switch buffers no packets: send the frame in the packet-out)`);
    const inPort = msg.inPort === OFPP.ANY ? OFPP.CONTROLLER : msg.inPort;
    if (inPort >= OFPP.MAX && inPort !== OFPP.CONTROLLER && inPort !== OFPP.LOCAL) {
      throw new RequestError('OFPBRC_BAD_PORT', `in_port ${inPort} is a reserved port a packet cannot come in on (use a port number, LOCAL or CONTROLLER)`);
    }
    if (msg.data.length < 14) throw new RequestError('OFPBRC_BAD_LEN', `the packet-out's frame is ${msg.data.length} bytes, shorter than an Ethernet header`);
    checkActions(msg.actions, this.host.xb);
    return () => {
      const error = this.host.of.packetOut(this.host.xb, inPort, msg.data, msg.actions);
      if (error) log.warn(`${this.host.xb.name}: packet-out: ${error}`);
    };
  }

  /**
   * NXT_RESUME: runs the rest of a paused pipeline on the packet the controller sent back, with
   * the pipeline fields of its metadata (which the controller may have changed), as OVS does.
   */
  private resume(pin: MessageOf<'packet_in'>): void {
    if (!pin.continuation) throw new RequestError('NXR_STALE', 'NXT_RESUME without a continuation: send back the continuation of a packet-in from a controller(pause) action');
    let decoded: ReturnType<typeof decodeContinuation>;
    try {
      decoded = decodeContinuation(pin.continuation, this.version);
    } catch (e) {
      if (e instanceof OfDecodeError) throw new RequestError(e.name, e.message.slice(e.name.length + 2));
      throw e;
    }
    const { xb } = this.host;
    if (decoded.bridge !== xb.uuid) {
      throw new RequestError('NXR_STALE', `the continuation is from ${decoded.bridge ? `bridge ${decoded.bridge}` : 'no bridge'}, not ${xb.name} (${xb.uuid}) as it runs now: resume a packet-in on the bridge that sent it, before the switch restarts`);
    }
    if (pin.data.length < 14) throw new RequestError('OFPBRC_BAD_LEN', `the resumed frame is ${pin.data.length} bytes, shorter than an Ethernet header`);
    const error = this.host.of.resume(xb, pin.data, pin.match.flow, decoded.continuation);
    if (error) log.warn(`${xb.name}: resume: ${error}`);
  }

  private roleRequest(msg: Extract<OfMessage, { type: 'role_request' | 'role_reply' }>, xid: number): void {
    if (msg.role !== 'nochange') {
      // NXT_ROLE_REQUEST (OpenFlow 1.0/1.1) carries no generation id, so OVS does not check one.
      if (msg.role !== 'equal' && this.version >= OFP12 && !this.host.acceptGenerationId(msg.generationId)) {
        throw new RequestError('OFPRRFC_STALE', `generation id ${msg.generationId} is older than the ${String(this.host.generationId())} of the last master or slave request`);
      }
      if (msg.role === 'master') this.host.demoteOtherMasters(this);
      this.role = msg.role;
      this.host.connectionsChanged();
    }
    this.reply({ type: 'role_reply', role: this.role, generationId: this.host.generationId() ?? 0n }, xid);
  }

  /** The reply to a statistics request; handle() sends flow stats in pieces instead (flowStatsReply). */
  private multipart(req: MultipartRequest): MultipartReply {
    const { xb } = this.host;
    switch (req.kind) {
      case 'desc':
        return this.host.desc();
      case 'flow':
        throw new Error('flow stats are sent in pieces by flowStatsReply, not built whole');
      case 'aggregate': {
        const rules = this.selectRules(req);
        return {
          kind: 'aggregate',
          packetCount: rules.reduce((n, r) => n + r.nPackets, 0n),
          byteCount: rules.reduce((n, r) => n + r.nBytes, 0n),
          flowCount: rules.length,
        };
      }
      case 'table':
        return {
          kind: 'table',
          tables: Array.from({ length: N_OF_TABLES }, (_, tableId) => ({
            tableId,
            name: `table${tableId}`,
            activeCount: xb.tables.count(tableId),
            lookupCount: 0n,
            matchedCount: 0n,
            maxEntries: 1_000_000,
          })),
        };
      case 'table_features':
        return {
          kind: 'table_features',
          tables: Array.from({ length: N_OF_TABLES }, (_, tableId) => ({
            tableId,
            name: '',
            metadataMatch: 0xffffffffffffffffn,
            metadataWrite: 0xffffffffffffffffn,
            maxEntries: 1_000_000,
            // TVS neither evicts rules nor reports vacancy.
            supportsEviction: false,
            supportsVacancyEvents: false,
            ...tvsTableCapabilities(tableId, N_OF_TABLES, this.version),
          })),
        };
      case 'table_desc':
        // Eviction and vacancy events are off (TVS implements neither); OVS reports the flags eviction would weigh.
        return {
          kind: 'table_desc',
          tables: Array.from({ length: N_OF_TABLES }, (_, tableId) => ({ tableId, eviction: false, evictionFlags: OFPTMPEF14_ALL, vacancy: false, vacancyDown: 0, vacancyUp: 0, vacancyNow: 0 })),
        };
      case 'port':
        return { kind: 'port', ports: this.host.portStats(req.portNo) };
      case 'port_desc':
        return { kind: 'port_desc', ports: this.host.portDescs() };
      case 'queue':
        if (req.portNo !== OFPP.ANY && req.portNo !== OFPP.ALL && !xb.port(req.portNo)) {
          throw new RequestError('OFPQOFC_BAD_PORT', `port ${req.portNo} does not exist`);
        }
        // TVS ports have no queues (there is no QoS to make them), so "every queue" is none and a
        // named queue is refused, as OVS answers for a port without that queue.
        if (req.queueId !== OFPQ_ALL) throw new RequestError('OFPQOFC_BAD_QUEUE', `port ${req.portNo} has no queue ${req.queueId} (TVS does not implement QoS queues)`);
        return { kind: 'queue', queues: [] };
      case 'queue_desc':
        if (req.portNo !== OFPP.ANY && !this.portExists(req.portNo)) throw new RequestError('OFPQOFC_BAD_PORT', `port ${req.portNo} does not exist on this bridge (see dump-ports-desc)`);
        if (req.queueId !== OFPQ_ALL) throw new RequestError('OFPQOFC_BAD_QUEUE', `port ${req.portNo} has no queue ${req.queueId} (TVS does not implement QoS queues)`);
        return { kind: 'queue_desc', queues: [] };
      case 'group': {
        const now = xb.tables.now();
        const groups = xb.groups.dump().filter((g) => req.groupId === OFPG.ALL || req.groupId === OFPG.ANY || g.groupId === req.groupId);
        return {
          kind: 'group',
          groups: groups.map((g) => ({
            groupId: g.groupId,
            refCount: xb.tables.dump({ outGroup: g.groupId }).length,
            packetCount: g.nPackets,
            byteCount: g.nBytes,
            durationMs: Math.max(0, now - g.createdAt),
            // Buckets keep no counters of their own.
            buckets: g.buckets.map(() => ({ packetCount: 0n, byteCount: 0n })),
          })),
        };
      }
      case 'group_desc':
        return { kind: 'group_desc', groups: xb.groups.dump().map((g) => ({ groupId: g.groupId, type: g.type, buckets: g.buckets })) };
      case 'group_features': {
        const max = OFPG.MAX;
        const actions = supportedActionBitmap(this.version);
        return {
          kind: 'group_features',
          types: ['all', 'select', 'indirect', 'ff'],
          capabilities: OFPGFC_SELECT_WEIGHT | OFPGFC_SELECT_LIVENESS | OFPGFC_CHAINING,
          maxGroups: { all: max, select: max, indirect: max, ff: max },
          actions: { all: actions, select: actions, indirect: actions, ff: actions },
        };
      }
      case 'meter':
        return { kind: 'meter', meters: this.host.xb.meterStats(req.meterId) };
      case 'meter_config': {
        const all = this.host.xb.meters.dump();
        return { kind: 'meter_config', meters: req.meterId === OFPM.ALL ? all : all.filter((m) => m.meterId === req.meterId) };
      }
      case 'flow_monitor':
        return { kind: 'flow_monitor', updates: this.monitors.apply(req.monitors) };
      case 'meter_features':
        return { kind: 'meter_features', maxMeters: METER_FEATURES.maxMeters, bandTypes: ['drop', 'dscp_remark'], capabilities: METER_FEATURES.capabilities, maxBands: METER_FEATURES.maxBands, maxColor: 0 };
    }
  }

  /**
   * A flow stats reply, in pieces of FLOW_STATS_PIECE rules: between pieces the event loop turns,
   * so what is encoded leaves while the rest is (the controller decodes meanwhile, as OVS streams
   * its replies), and other connections are served. The rules are those selected when the
   * request came; this connection's next message waits for the last piece.
   */
  private async flowStatsReply(req: Extract<MultipartRequest, { kind: 'flow' | 'aggregate' }>, xid: number): Promise<void> {
    const rules = this.selectRules(req);
    const { tables } = this.host.xb;
    for (let i = 0; ; i += FLOW_STATS_PIECE) {
      const flows = rules.slice(i, i + FLOW_STATS_PIECE).map((r) => flowStats(r, tables.now()));
      const more = i + FLOW_STATS_PIECE < rules.length;
      this.reply({ type: 'multipart_reply', reply: { kind: 'flow', flows }, ...(more ? { more } : {}) }, xid);
      if (!more) return;
      await new Promise((resolve) => setImmediate(resolve));
      if (this.closed) return;
    }
  }

  private portExists(portNo: number): boolean {
    return this.host.portDescs().some((p) => p.portNo === portNo);
  }

  private selectRules(req: Extract<MultipartRequest, { kind: 'flow' | 'aggregate' }>): Rule[] {
    if (req.tableId !== OFPTT_ALL && req.tableId >= N_OF_TABLES) throw new RequestError('OFPBRC_BAD_TABLE_ID', `table ${req.tableId} does not exist (tables are 0-${N_OF_TABLES - 1})`);
    return this.host.xb.tables.dump({ tableId: req.tableId, match: req.match, cookie: req.cookie, cookieMask: req.cookieMask, outPort: req.outPort, outGroup: req.outGroup });
  }

  // -- asynchronous messages

  private get asyncConfig(): AsyncConfig {
    return this.ownAsyncConfig ?? defaultAsyncConfig(this.version);
  }

  /** Whether this connection asked for an asynchronous message of `kind` with reason bit `bit`. */
  private wants(kind: keyof AsyncConfig, bit: number): boolean {
    // Service connections get asynchronous messages only once they set a miss_send_len (as in OVS).
    if (this.kind === 'service' && this.missSendLen === 0) return false;
    const mask = this.asyncConfig[kind][this.role === 'slave' ? 1 : 0];
    return (mask & (1 << bit)) !== 0;
  }

  /** True if a table miss should reach this connection as a packet-in (OpenFlow 1.0-1.2 do; 1.3 drops misses). */
  wantsMisses(): boolean {
    return this.version < OFP13 && this.wants('packetIn', PACKET_IN_BIT.no_match);
  }

  /** The packet-in message for this connection, or undefined if it does not take it. */
  packetIn(pin: PacketIn, frame: Buffer): MessageOf<'packet_in'> | undefined {
    let reason: PacketInReason = pin.reason;
    if (pin.tableMiss && this.version >= OFP13) reason = 'no_match';
    else if (pin.reason === 'action' && pin.inPort === OFPP.CONTROLLER && this.version >= OFP14) reason = 'packet_out';
    if (!this.wants('packetIn', PACKET_IN_BIT[reason])) return undefined;
    // An implicit table miss (no rule) sends what miss_send_len says; a rule's controller action, its own max_len.
    const maxLen = pin.reason === 'no_match' ? this.missSendLen : pin.maxLen;
    const match = Match.catchAll().set('in_port', pin.inPort);
    for (const [field, value] of Object.entries(pin.metadata) as [keyof PacketIn['metadata'], bigint][]) {
      // tun_metadataN's presence is one bit of its field: the match holds that bit alone.
      match.set(field, value, field === 'tun_metadata_present' ? value : undefined);
    }
    // Only NXT_PACKET_IN2 carries a continuation: on other formats a pause's packet-in is a plain one, never resumed (as in OVS).
    const continuation = pin.continuation && this.channel.session.packetInFormat === 'nxt_packet_in2' ? this.encodeContinuation(pin) : undefined;
    return {
      type: 'packet_in',
      bufferId: NO_BUFFER,
      totalLen: frame.length,
      reason,
      tableId: pin.tableId,
      cookie: pin.reason === 'no_match' ? 0xffffffffffffffffn : pin.cookie,
      match,
      data: frame.subarray(0, Math.min(frame.length, maxLen)),
      ...(pin.userdata ? { userdata: pin.userdata } : {}),
      ...(continuation ? { continuation } : {}),
    };
  }

  private encodeContinuation(pin: PacketIn): Buffer | undefined {
    if (!pin.continuation) return undefined;
    try {
      return encodeContinuation(this.host.xb.uuid, pin.continuation, this.version);
    } catch (e) {
      // An action the connection's version cannot express (the codec names it).
      log.warn(`${this.host.xb.name}: sending a paused packet-in without its continuation, which the controller thus cannot resume: ${(e as Error).message}`);
      return undefined;
    }
  }

  wantsFlowRemoved(reason: keyof typeof FLOW_REMOVED_BIT): boolean {
    return this.wants('flowRemoved', FLOW_REMOVED_BIT[reason]);
  }

  wantsPortStatus(reason: keyof typeof PORT_STATUS_BIT): boolean {
    return this.wants('portStatus', PORT_STATUS_BIT[reason]);
  }
}

/** OFPBAC_BAD_OUT_GROUP for a group that does not exist, as OVS checks a rule's actions. */
function checkActions(actions: readonly Action[], xb: XBridge): void {
  for (const id of referencedGroups(actions)) {
    if (!xb.groups.get(id)) throw new RequestError('OFPBAC_BAD_OUT_GROUP', `group ${id} does not exist (add it with add-group first)`);
  }
}

function flowStats(r: Rule, now: number): FlowStats {
  return {
    tableId: r.tableId,
    durationMs: Math.max(0, now - r.createdAt),
    priority: r.priority,
    idleTimeout: r.idleTimeout,
    hardTimeout: r.hardTimeout,
    flags: r.flags,
    importance: r.importance,
    cookie: r.cookie,
    packetCount: r.nPackets,
    byteCount: r.nBytes,
    idleAgeMs: Math.max(0, now - r.usedAt),
    hardAgeMs: Math.max(0, now - r.modifiedAt),
    match: r.match,
    instructions: r.instructions,
  };
}
