/**
 * An OpenFlow controller for Node programs: listen for switches (as `ovs-testcontroller ptcp:`
 * does) or connect to one, and get an `OpenFlowSwitch` per connection with typed events and
 * methods that return promises.
 *
 * Flow-mods and packet-outs have no reply in OpenFlow; a switch answers only when it refuses one.
 * So each is confirmed by a barrier: the messages sent in one turn of the event loop share one
 * barrier request, a message resolves when the barrier's reply arrives without an error for its
 * xid before it, and rejects with the switch's error (OfRemoteError, `.name` as OVS names it,
 * e.g. `OFPBAC_BAD_OUT_PORT`) otherwise. A program that sends thousands of flows at once thus
 * costs the switch one barrier, not one per flow.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Action } from '../ofproto/actions.js';
import { OFPG, OFPP } from '../ofproto/actions.js';
import { OFPTT_ALL, type FlowMod, type FlowModCommand } from '../ofproto/flow-table.js';
import { Match } from '../ofproto/match.js';
import { OfConnection, OfRemoteError } from './connection.js';
import { parseFlowMod, parseMatch } from './flow-syntax.js';
import {
  OFP10,
  OFP13,
  type ControllerRole,
  type FlowStats,
  type MessageOf,
  type MultipartReply,
  type MultipartRequest,
  type OfMessage,
  type PacketInFormat,
  type PortDesc,
} from './messages.js';

/** What a switch told us about itself when it connected (features reply, and port_desc on 1.3+). */
export interface SwitchFeatures {
  datapathId: bigint;
  /** The OpenFlow version the connection negotiated (0x01 = 1.0 ... 0x06 = 1.5). */
  version: number;
  nTables: number;
  /** OFPC_* bits. */
  capabilities: number;
  ports: PortDesc[];
}

/** A packet-in, with the ingress port taken out of its match. */
export type PacketIn = MessageOf<'packet_in'> & { inPort: number };
export type PortStatus = MessageOf<'port_status'>;
export type FlowRemoved = MessageOf<'flow_removed'>;

/** The events of one switch's connection. */
interface SwitchEvents {
  'switch-features': [SwitchFeatures];
  'packet-in': [PacketIn];
  'port-status': [PortStatus];
  'flow-removed': [FlowRemoved];
  /**
   * An error the switch sent that no pending call owns, or a message from it that could not be
   * decoded. Emitted only while someone listens, so a stray error never throws.
   */
  error: [Error];
  /** Any other message the switch sent on its own (role status, a reply nobody awaited...). */
  message: [OfMessage];
  close: [reason: string | undefined];
}

export interface PacketOut {
  /** The port the packet is deemed to have come in on (OFPP.CONTROLLER if none). */
  inPort?: number;
  /** Actions as values, or in ovs-ofctl syntax ("output:2", "FLOOD", "mod_vlan_vid:5,output:1"). */
  actions: Action[] | string;
  /** The whole frame (TVS and OVS send whole frames in packet-ins: no buffer ids). */
  data: Buffer;
}

/** The reply to a stats request: the reply of the same kind. */
type StatsReply<R extends MultipartRequest> = Extract<MultipartReply, { kind: R['kind'] }>;

/** Flow-mods sent in one flowMods() call before it waits for their barrier. */
const FLOW_MOD_BATCH = 2000;
/** An OFP_NO_BUFFER buffer id: the packet is in `data`. */
const NO_BUFFER = 0xffffffff;

/** A message sent and not yet confirmed by a barrier. */
interface Unconfirmed {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One switch, as a controller sees it over one OpenFlow connection. */
export class OpenFlowSwitch extends EventEmitter<SwitchEvents> {
  /** Set once the switch has described itself (before the handle is handed out). */
  datapathId = 0n;
  /** The switch's ports by OpenFlow port number, kept up to date from port-status messages. */
  readonly ports = new Map<number, PortDesc>();
  private closed = false;
  /** Sent messages by xid, awaiting the barrier behind them. */
  private readonly unconfirmed = new Map<number, Unconfirmed>();
  /** The xids the next barrier will confirm; undefined while no barrier is scheduled. */
  private nextBarrier: number[] | undefined;

  /** @internal Use `connect()` or `listen()`. */
  constructor(private readonly conn: OfConnection) {
    super();
    conn.on('message', (msg: OfMessage, xid: number) => this.receive(msg, xid));
    conn.on('decode-error', (err: Error) => this.reportError(err));
    conn.on('close', (reason: string | undefined) => {
      this.closed = true;
      const err = new Error(`OpenFlow connection to ${this.describe()} closed${reason ? `: ${reason}` : ''}`);
      for (const u of this.unconfirmed.values()) u.reject(err);
      this.unconfirmed.clear();
      this.emit('close', reason);
    });
  }

  /** The OpenFlow version the connection negotiated (0x01 = 1.0, 0x04 = 1.3, ...). */
  get version(): number {
    return this.conn.session.version;
  }

  /**
   * Asks the switch for its features (and port descriptions, which 1.3+ send apart), updates
   * `datapathId` and `ports`, and emits 'switch-features'.
   */
  async features(): Promise<SwitchFeatures> {
    const reply = await this.conn.request({ type: 'features_request' });
    if (reply.type !== 'features_reply') throw new Error(`features request: the switch answered with ${reply.type}, not features_reply`);
    const ports = this.version >= OFP13 ? (await this.stats({ kind: 'port_desc' })).ports : reply.ports;
    this.datapathId = reply.datapathId;
    this.ports.clear();
    for (const p of ports) this.ports.set(p.portNo, p);
    const features: SwitchFeatures = { datapathId: reply.datapathId, version: this.version, nTables: reply.nTables, capabilities: reply.capabilities, ports };
    this.emit('switch-features', features);
    return features;
  }

  /**
   * Adds, modifies or deletes flows. `flow` is a FlowMod or a flow in ovs-ofctl syntax
   * ("priority=10,in_port=1,actions=output:2"), read as add-flow, mod-flows or del-flows reads
   * it according to `command`. Resolves once the switch has applied it.
   */
  flowMod(flow: FlowMod | string, command: FlowModCommand = 'add'): Promise<void> {
    const mod = typeof flow === 'string' ? parseFlowMod(flow, command) : flow;
    // An OpenFlow 1.0 flow-mod has no table id but through OVS's extension, which ovs-ofctl turns on for one too.
    if (this.version === OFP10 && mod.tableId !== 0 && mod.tableId !== OFPTT_ALL && !this.conn.session.flowModTableId) {
      this.conn.send({ type: 'nx_flow_mod_table_id', enable: true });
    }
    return this.sendConfirmed({ type: 'flow_mod', mod });
  }

  /**
   * Sends many flow-mods, in batches each confirmed by one barrier, so that a large table does
   * not sit in memory as unsent bytes. Rejects with the first error the switch answered.
   */
  async flowMods(flows: ReadonlyArray<FlowMod | string>, command: FlowModCommand = 'add'): Promise<void> {
    for (let i = 0; i < flows.length; i += FLOW_MOD_BATCH) {
      await Promise.all(flows.slice(i, i + FLOW_MOD_BATCH).map((f) => this.flowMod(f, command)));
    }
  }

  /** Sends a packet out of the switch through `actions`. Resolves once the switch has executed it. */
  packetOut(p: PacketOut): Promise<void> {
    const actions = typeof p.actions === 'string' ? parseFlowMod(`actions=${p.actions}`).instructions.apply : p.actions;
    return this.sendConfirmed({ type: 'packet_out', bufferId: NO_BUFFER, inPort: p.inPort ?? OFPP.CONTROLLER, actions, data: p.data });
  }

  /**
   * Chooses how the switch sends packet-ins (NXT_SET_PACKET_IN_FORMAT). 'nxt_packet_in2' is the
   * one that carries controller(userdata=...) and, for controller(pause), the continuation that
   * `resume` needs. Resolves once the switch has applied it.
   */
  setPacketInFormat(format: PacketInFormat): Promise<void> {
    return this.sendConfirmed({ type: 'nx_set_packet_in_format', format });
  }

  /**
   * Resumes the pipeline a controller(pause) action stopped (NXT_RESUME): the switch runs the
   * rest of it on `packetIn.data` with the pipeline fields of `packetIn.match` (registers,
   * metadata), which the caller may change first, e.g. to set a register the pipeline reads
   * after the pause. Resolves once the switch has done it; rejects with its error (NXR_STALE
   * for a continuation from another bridge or an earlier run of the switch).
   */
  resume(packetIn: MessageOf<'packet_in'>): Promise<void> {
    if (!packetIn.continuation) {
      return Promise.reject(new Error('this packet-in has no continuation to resume: it must come from a controller(pause) action, on a connection that set the nxt_packet_in2 format (setPacketInFormat)'));
    }
    const { type, bufferId, totalLen, reason, tableId, cookie, match, data, continuation } = packetIn;
    // NXT_RESUME carries the packet-in without its userdata, as OVS's ofputil_encode_resume.
    return this.sendConfirmed({ type: 'nx_resume', packetIn: { type, bufferId, totalLen, reason, tableId, cookie, match, data, continuation } });
  }

  /** Resolves once the switch has processed every message sent before it. */
  barrier(): Promise<void> {
    return this.conn.barrier();
  }

  /** A statistics (multipart) request, resolved with the whole reply of the same kind. */
  async stats<R extends MultipartRequest>(request: R): Promise<StatsReply<R>> {
    const reply = await this.conn.request({ type: 'multipart_request', request });
    if (reply.type !== 'multipart_reply' || reply.reply.kind !== request.kind) {
      throw new Error(`${request.kind} stats request: the switch answered with ${reply.type === 'multipart_reply' ? `${reply.reply.kind} stats` : reply.type}`);
    }
    return reply.reply as StatsReply<R>;
  }

  /** The flows of every table (or of `tableId`) that match `match` (ovs-ofctl syntax or a Match), as dump-flows lists them. */
  async dumpFlows(match: Match | string = Match.catchAll(), tableId = OFPTT_ALL): Promise<FlowStats[]> {
    const m = typeof match === 'string' ? parseMatch(match) : match;
    const reply = await this.stats({ kind: 'flow', tableId, match: m, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n });
    return reply.flows;
  }

  /** Asks for a role (OFPCR_ROLE_*): resolves with the role and generation id the switch granted. */
  async role(role: ControllerRole, generationId = 0n): Promise<{ role: ControllerRole; generationId: bigint }> {
    const reply = await this.conn.request({ type: 'role_request', role, generationId });
    if (reply.type !== 'role_reply') throw new Error(`role request: the switch answered with ${reply.type}, not role_reply`);
    return { role: reply.role, generationId: reply.generationId };
  }

  /** Sends an echo request; resolves with the round-trip time in milliseconds. */
  async echo(data: Buffer = Buffer.alloc(0)): Promise<number> {
    const start = performance.now();
    const reply = await this.conn.request({ type: 'echo_request', data });
    if (reply.type !== 'echo_reply') throw new Error(`echo: the switch answered with ${reply.type}, not echo_reply`);
    return performance.now() - start;
  }

  /** Sends any message as is; its replies and errors arrive as 'message' and 'error' events. */
  send(msg: OfMessage): number {
    return this.conn.send(msg);
  }

  close(): void {
    this.conn.close();
  }

  private describe(): string {
    return this.datapathId ? `switch ${this.datapathId.toString(16).padStart(16, '0')}` : 'the switch';
  }

  /** Sends `msg` and settles when the next barrier confirms it (or the switch refuses it). */
  private sendConfirmed(msg: OfMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`OpenFlow connection to ${this.describe()} is closed`));
    return new Promise((resolve, reject) => {
      const xid = this.conn.send(msg);
      this.unconfirmed.set(xid, { resolve, reject });
      if (this.nextBarrier) {
        this.nextBarrier.push(xid);
        return;
      }
      const batch = [xid];
      this.nextBarrier = batch;
      // Everything sent in this turn of the event loop rides on one barrier.
      queueMicrotask(() => {
        this.nextBarrier = undefined;
        this.conn.barrier().then(
          () => this.settle(batch, undefined),
          (err: unknown) => this.settle(batch, err instanceof Error ? err : new Error(String(err))),
        );
      });
    });
  }

  private settle(xids: number[], err: Error | undefined): void {
    for (const xid of xids) {
      const u = this.unconfirmed.get(xid);
      if (!u) continue; // refused already
      this.unconfirmed.delete(xid);
      if (err) u.reject(err);
      else u.resolve();
    }
  }

  private receive(msg: OfMessage, xid: number): void {
    switch (msg.type) {
      case 'packet_in':
        this.emit('packet-in', { ...msg, inPort: Number(msg.match.field('in_port').value) });
        return;
      case 'port_status':
        if (msg.reason === 'delete') this.ports.delete(msg.desc.portNo);
        else this.ports.set(msg.desc.portNo, msg.desc);
        this.emit('port-status', msg);
        return;
      case 'flow_removed':
        this.emit('flow-removed', msg);
        return;
      case 'error': {
        const err = new OfRemoteError(msg.name, msg.data);
        const owner = this.unconfirmed.get(xid);
        if (owner) {
          this.unconfirmed.delete(xid);
          owner.reject(err);
        } else {
          this.reportError(err);
        }
        return;
      }
      default:
        this.emit('message', msg);
    }
  }

  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** Protocol versions a controller offers unless told otherwise: the two TVS implements fully. */
const DEFAULT_VERSIONS = [OFP10, OFP13];

/** Switch-side hello exchange + features: the handle is usable when this resolves. */
async function describedSwitch(conn: OfConnection): Promise<OpenFlowSwitch> {
  const sw = new OpenFlowSwitch(conn);
  try {
    await sw.features();
  } catch (e) {
    conn.close();
    throw e;
  }
  return sw;
}

export interface ConnectOptions {
  /** OpenFlow versions to offer (0x01 = 1.0 ... 0x06 = 1.5); default 1.0 and 1.3. */
  versions?: number[];
  timeoutMs?: number;
}

/**
 * Connects to a switch that listens: 'tcp:IP[:PORT]' (a Controller target `ptcp:` on the
 * switch; default port 6653) or 'unix:PATH' (e.g. a bridge's `BRIDGE.mgmt` socket). Resolves
 * once the switch has described itself; 'switch-features' has then fired already, and the
 * handle's `datapathId` and `ports` hold what it said.
 */
export async function connect(target: string, opts: ConnectOptions = {}): Promise<OpenFlowSwitch> {
  const conn = await OfConnection.connect(target, { versions: opts.versions ?? DEFAULT_VERSIONS, timeoutMs: opts.timeoutMs });
  return describedSwitch(conn);
}

export interface ListenOptions {
  /** TCP port to listen on (0: any free one; see `Controller.port`). */
  port?: number;
  /** Address to listen on with `port`; default 127.0.0.1. */
  host?: string;
  /** A Unix socket path to listen on instead of TCP. */
  path?: string;
  versions?: number[];
}

interface ControllerEvents {
  /** A switch connected and described itself; attach its listeners in this handler. */
  switch: [OpenFlowSwitch];
  /** A connection that never became a switch (no common version, no features reply...). */
  'connection-error': [Error];
}

/** A listening controller: switches connect to it, each becoming an OpenFlowSwitch. */
export class Controller extends EventEmitter<ControllerEvents> {
  /** Every switch connected now. */
  readonly switches = new Set<OpenFlowSwitch>();

  /** @internal Use `listen()`. */
  constructor(
    private readonly server: net.Server,
    versions: number[],
  ) {
    super();
    server.on('connection', (socket) => {
      OfConnection.accept(socket, { versions })
        .then(describedSwitch)
        .then(
          (sw) => {
            this.switches.add(sw);
            sw.on('close', () => this.switches.delete(sw));
            this.emit('switch', sw);
          },
          (e: unknown) => {
            socket.destroy();
            if (this.listenerCount('connection-error') > 0) this.emit('connection-error', e instanceof Error ? e : new Error(String(e)));
          },
        );
    });
  }

  /** The TCP port listened on (useful after `listen({ port: 0 })`); 0 for a Unix socket. */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** The next switch to connect and describe itself. */
  nextSwitch(): Promise<OpenFlowSwitch> {
    return new Promise((resolve) => this.once('switch', resolve));
  }

  /** Stops listening and closes every switch's connection. */
  async close(): Promise<void> {
    for (const sw of this.switches) sw.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Listens for switches, as `ovs-testcontroller ptcp:PORT` does: point a bridge at it with
 * `set-controller BRIDGE tcp:127.0.0.1:PORT`. Each switch arrives as a 'switch' event once it
 * has described itself.
 */
export async function listen(opts: ListenOptions): Promise<Controller> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = opts.path ?? `${opts.host ?? '127.0.0.1'}:${opts.port ?? 'any port'}`;
      reject(new Error(`OpenFlow controller cannot listen on ${where}: ${e.code === 'EADDRINUSE' ? 'address in use (another controller or switch listens there; pick another port)' : e.message}`, { cause: e }));
    });
    if (opts.path !== undefined) server.listen(opts.path, resolve);
    else server.listen(opts.port ?? 6653, opts.host ?? '127.0.0.1', resolve);
  });
  return new Controller(server, opts.versions ?? DEFAULT_VERSIONS);
}
