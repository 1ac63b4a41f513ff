// A bridge's OpenFlow connections, as OVS's connmgr: the management socket
// (punix:RUNDIR/BRIDGE.mgmt, which ovs-ofctl and tvs-ofctl use when given
// a bridge name), the Controller rows' passive targets (ptcp:, pssl:, punix:)
// and active ones (tcp:, ssl:, unix:, reconnecting with backoff; TLS with the
// SSL table's key, certificate and CA), inactivity probes,
// roles shared between the controllers, asynchronous messages (packet-in
// with a rate limit, flow_removed, port_status) and fail_mode.
import { mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { parseMac } from '../lib/addr.js';
import { getLogger } from '../lib/log.js';
import { OFPP } from '../ofproto/actions.js';
import type { FlowRemoved } from '../ofproto/flow-table.js';
import type { OfprotoDpif, PacketInEvent } from '../ofproto/ofproto-dpif.js';
import type { RuleChange, XBridge } from '../ofproto/xbridge.js';
import type { BridgePort } from '../ofproto/xlate.js';
import type { MessageOf, MultipartReply, OfMessage, PortDesc, PortStats } from '../openflow/messages.js';
import type { ControllerConfig } from './db-config.js';
import { OfConn, type ConnKind, type OfChannel, type OfConnHost } from './ofconn.js';
import { RequestError } from './request-error.js';
import { createTlsServer, type TlsFiles } from '../lib/tls.js';
import { listenOwnerOnly } from '../lib/unix-socket.js';

const log = getLogger('connmgr');

/** How the switch speaks OpenFlow on a socket (src/openflow/connection.ts's OfConnection). */
export interface OfTransport {
  /** Runs the hello exchange on an accepted socket. */
  accept(socket: Socket): Promise<OfChannel>;
  /** Connects to tcp:IP[:PORT], ssl:IP[:PORT] or unix:PATH and runs the hello exchange. */
  connect(target: string, opts: { timeoutMs: number; tls?: TlsFiles }): Promise<OfChannel>;
  /** The first bytes of a message as it came in, for error replies. */
  offendingBytes?(channel: OfChannel, msg: OfMessage, xid: number): Buffer;
}

/** OVS's defaults for Controller rows. */
const DEFAULT_MAX_BACKOFF_MS = 8000;
const DEFAULT_INACTIVITY_PROBE_MS = 5000;
/** The first reconnection attempt after a failure waits this long; each failure doubles it up to max_backoff. */
const MIN_BACKOFF_MS = 1000;
/** How often probes, reconnections and fail-open are looked at. */
const TICK_MS = 250;

/** OFPPC_* bits (OpenFlow 1.0 numbering, as PortDesc uses). */
const OFPPC = { PORT_DOWN: 1, NO_RECV: 4, NO_FLOOD: 16, NO_FWD: 32, NO_PACKET_IN: 64 } as const;
const OFPPS_LINK_DOWN = 1;

/** Token bucket of controller_rate_limit / controller_burst_limit (packets per second). */
class RateLimiter {
  private tokens: number;
  private last = performance.now();
  dropped = 0;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }
}

/** One connection with what the manager tracks of it. */
interface Attached {
  conn: OfConn;
  /** The Controller target it belongs to (none for the management socket). */
  target?: string;
  lastReceived: number;
  probing: boolean;
  probeMs: number;
  limiter?: RateLimiter;
  /** Why the switch closed it, when it did (the transport's close reason says only that it was closed). */
  closeReason?: string;
}

/** A Controller row's target and what the switch knows of it, for its status columns. */
interface ControllerState {
  cfg: ControllerConfig;
  /** Passive targets: the listener. */
  server?: Server;
  boundPort?: number;
  /** Active targets: the connection, when up, and the reconnection schedule. */
  state: 'VOID' | 'LISTENING' | 'CONNECTING' | 'ACTIVE' | 'BACKOFF';
  backoffMs: number;
  retryAt: number;
  lastError?: string;
  connectedAt?: number;
  disconnectedAt?: number;
  closed: boolean;
}

export interface ControllerStatus {
  uuid: string;
  /** The Controller row's target, e.g. tcp:10.0.0.1:6653. */
  target: string;
  isConnected: boolean;
  /** master, slave or other (equal), as OVS writes Controller.role. */
  role?: string;
  status: Record<string, string>;
}

export interface ConnMgrOptions {
  xb: XBridge;
  of: OfprotoDpif;
  transport: OfTransport;
  /** The management socket's path. */
  mgmtPath: string;
  datapathId: () => bigint;
  /** A port's MAC as ports describe it ("aa:bb:..."), if known. */
  portMac: (name: string) => string | undefined;
  /** TVS's version, for the desc reply. */
  version: string;
}

export class ConnMgr implements OfConnHost {
  readonly xb: XBridge;
  readonly of: OfprotoDpif;
  private readonly attached = new Map<OfConn, Attached>();
  private readonly controllers = new Map<string, ControllerState>();
  private readonly servers: Server[] = [];
  private mgmt: Server | undefined;
  private failMode: 'standalone' | 'secure' = 'standalone';
  /** When the last controller connection went away (or controllers were first configured). */
  private controllerlessSince = performance.now();
  private electionId: bigint | undefined;
  /** Port config bits set by port_mod, by ofport. */
  private readonly portConfig = new Map<number, number>();
  /** When each port joined (performance.now()), for port stats' duration. */
  private readonly portSince = new Map<number, number>();
  /** The ports as the last port_status round saw them. */
  private lastPorts = new Map<number, string>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** The connection and request making the current rule changes (flow monitors abbreviate a connection's own). */
  private changeOrigin: { conn: OfConn; xid: number } | undefined;
  /** When tick() last ran: a late tick tells that our event loop was busy. */
  private lastTickAt: number;

  constructor(private readonly opts: ConnMgrOptions) {
    this.xb = opts.xb;
    this.of = opts.of;
    this.lastPorts = new Map(this.portDescs().map((p) => [p.portNo, JSON.stringify(p, bigintText)]));
    for (const portNo of this.lastPorts.keys()) this.portSince.set(portNo, performance.now());
    this.lastTickAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Opens the management socket. */
  async start(): Promise<void> {
    this.mgmt = await this.listen(`punix:${this.opts.mgmtPath}`, 'service');
  }

  /** Follows the bridge's fail_mode and Controller rows: listeners and connections opened and closed, settings applied. */
  async apply(failMode: string | undefined, controllers: ControllerConfig[]): Promise<void> {
    this.failMode = failMode === 'secure' ? 'secure' : 'standalone';
    const wanted = new Map(controllers.map((c) => [c.target, c]));
    for (const [target, st] of this.controllers) {
      const cfg = wanted.get(target);
      if (!cfg || JSON.stringify(cfg) !== JSON.stringify(st.cfg)) this.closeController(target, st);
    }
    const hadControllers = this.controllers.size > 0;
    for (const cfg of controllers) {
      if (this.controllers.has(cfg.target)) continue;
      const st: ControllerState = { cfg, state: 'VOID', backoffMs: 0, retryAt: 0, closed: false };
      this.controllers.set(cfg.target, st);
      if (/^p(tcp|ssl|unix):/.test(cfg.target)) {
        try {
          st.server = await this.listen(cfg.target, 'controller', cfg.target);
          st.state = 'LISTENING';
          const addr = st.server.address();
          if (addr && typeof addr === 'object') st.boundPort = addr.port;
        } catch (e) {
          st.lastError = (e as Error).message;
          log.warn(`${this.xb.name}: ${cfg.target}: ${st.lastError}`);
        }
      } else if (/^(tcp|ssl|unix):/.test(cfg.target)) {
        this.connectController(st);
      } else {
        st.lastError = `${cfg.target}: unknown controller target (use tcp:IP[:PORT], ssl:IP[:PORT], unix:PATH, ptcp:PORT[:IP], pssl:PORT[:IP] or punix:PATH)`;
        log.warn(`${this.xb.name}: ${st.lastError}`);
      }
    }
    if (!hadControllers && this.controllers.size > 0) this.controllerlessSince = performance.now();
    this.updateFailOpen();
  }

  /** Serves OpenFlow on `channel`; exported for in-process connections and tests. */
  attach(channel: OfChannel, kind: ConnKind, target?: string): OfConn {
    const cfg = target === undefined ? undefined : this.controllers.get(target)?.cfg;
    const conn = new OfConn(channel, kind, this, (msg, xid) => this.opts.transport.offendingBytes?.(channel, msg, xid) ?? Buffer.alloc(0));
    const a: Attached = { conn, lastReceived: performance.now(), probing: false, probeMs: cfg?.inactivityProbe ?? (kind === 'controller' ? DEFAULT_INACTIVITY_PROBE_MS : 0) };
    if (target !== undefined) a.target = target;
    if (cfg?.rateLimit !== undefined) a.limiter = new RateLimiter(Math.max(100, cfg.rateLimit), Math.max(1, cfg.burstLimit ?? Math.floor(Math.max(100, cfg.rateLimit) / 4)));
    this.attached.set(conn, a);
    channel.on('message', (msg: OfMessage, xid: number) => {
      a.lastReceived = performance.now();
      void conn.receive(msg, xid);
    });
    channel.on('close', (reason?: string) => this.detach(conn, reason));
    log.info(`${this.xb.name}: ${target ?? 'management'} connection (OpenFlow version 0x${channel.session.version.toString(16)})`);
    this.connectionsChanged();
    return conn;
  }

  private detach(conn: OfConn, reason?: string): void {
    const a = this.attached.get(conn);
    if (!a) return;
    conn.close();
    this.attached.delete(conn);
    const why = a.closeReason ?? reason;
    log.info(`${this.xb.name}: ${a.target ?? 'management'} connection closed${why ? `: ${why}` : ''}`);
    if (a.target !== undefined) {
      const st = this.controllers.get(a.target);
      if (st) {
        st.disconnectedAt = Date.now();
        if (why) st.lastError = why;
        if (/^(tcp|ssl|unix):/.test(st.cfg.target) && !st.closed) this.scheduleReconnect(st);
      }
    }
    if (!this.hasControllerConnection()) this.controllerlessSince = performance.now();
    this.connectionsChanged();
  }

  private hasControllerConnection(): boolean {
    return [...this.attached.keys()].some((c) => c.kind === 'controller');
  }

  private listen(target: string, kind: ConnKind, controllerTarget?: string): Promise<Server> {
    const onSocket = (socket: Socket): void => {
      socket.on('error', () => undefined);
      this.opts.transport.accept(socket).then(
        (channel) => {
          if (this.closed || !this.servers.includes(server)) channel.close();
          else this.attach(channel, kind, controllerTarget);
        },
        (e: unknown) => {
          log.info(`${this.xb.name}: ${target}: connection refused during the hello exchange: ${(e as Error).message}`);
          socket.destroy();
        },
      );
    };
    let server: Server;
    if (target.startsWith('pssl:')) {
      const tls = controllerTarget === undefined ? undefined : this.controllers.get(controllerTarget)?.cfg.tls;
      if (!tls) return Promise.reject(new Error(`${target}: SSL/TLS needs the SSL table's private key, certificate and CA certificate: tvs-vsctl set-ssl KEY CERT CACERT`));
      try {
        server = createTlsServer(() => tls, `${this.xb.name}: ${target}`, onSocket);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    } else server = createServer(onSocket);
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (e) => {
        this.servers.splice(this.servers.indexOf(server), 1);
        reject(e);
      });
      server.once('listening', () => resolve(server));
      const tcp = /^p(?:tcp|ssl):(\d+)(?::(.+))?$/.exec(target);
      if (tcp) server.listen(Number(tcp[1]), tcp[2] ?? '0.0.0.0');
      else if (target.startsWith('punix:')) {
        const path = target.slice('punix:'.length);
        mkdirSync(dirname(path), { recursive: true });
        removeSocket(path);
        listenOwnerOnly(server, path).catch(reject);
      } else reject(new Error(`${target}: not a passive target (ptcp:PORT[:IP], pssl:PORT[:IP] or punix:PATH)`));
    });
  }

  private connectController(st: ControllerState): void {
    st.state = 'CONNECTING';
    const timeoutMs = Math.max(MIN_BACKOFF_MS, st.cfg.inactivityProbe ?? DEFAULT_INACTIVITY_PROBE_MS);
    const tls = st.cfg.tls;
    this.opts.transport.connect(st.cfg.target, tls ? { timeoutMs, tls } : { timeoutMs }).then(
      (channel) => {
        if (st.closed || this.closed) {
          channel.close();
          return;
        }
        st.state = 'ACTIVE';
        st.backoffMs = 0;
        st.connectedAt = Date.now();
        this.attach(channel, 'controller', st.cfg.target);
      },
      (e: unknown) => {
        if (st.closed || this.closed) return;
        st.lastError = (e as Error).message;
        log.info(`${this.xb.name}: ${st.cfg.target}: connecting failed: ${st.lastError}`);
        this.scheduleReconnect(st);
      },
    );
  }

  private scheduleReconnect(st: ControllerState): void {
    const max = st.cfg.maxBackoff ?? DEFAULT_MAX_BACKOFF_MS;
    st.backoffMs = Math.min(max, st.backoffMs ? st.backoffMs * 2 : MIN_BACKOFF_MS);
    st.retryAt = performance.now() + st.backoffMs;
    st.state = 'BACKOFF';
  }

  private closeController(target: string, st: ControllerState): void {
    st.closed = true;
    for (const [conn, a] of this.attached) if (a.target === target) conn.channel.close();
    if (st.server) this.closeServer(st.server, target);
    this.controllers.delete(target);
  }

  private closeServer(server: Server, target: string): void {
    server.close();
    this.servers.splice(this.servers.indexOf(server), 1);
    if (target.startsWith('punix:')) removeSocket(target.slice('punix:'.length));
  }

  /** Reconnections, inactivity probes and fail-open, on a timer. */
  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    // A late tick means our own event loop was busy (a large flow dump encodes for seconds): what
    // peers sent meanwhile is still unread in their sockets, and timers run before reads. Idleness
    // counts only the time we could have read, so every peer's last word moves on by the delay.
    const lateMs = now - this.lastTickAt - TICK_MS;
    this.lastTickAt = now;
    if (lateMs > 0) {
      if (lateMs > TICK_MS) log.dbg(`${this.xb.name}: event loop was busy for ${Math.round(lateMs)} ms; inactivity probes do not count it`);
      for (const a of this.attached.values()) a.lastReceived += lateMs;
    }
    for (const st of this.controllers.values()) {
      if (st.state === 'BACKOFF' && now >= st.retryAt) this.connectController(st);
    }
    for (const [conn, a] of this.attached) {
      if (!a.probeMs) continue;
      const idle = now - a.lastReceived;
      if (idle >= 2 * a.probeMs) {
        log.info(`${this.xb.name}: ${a.target ?? 'management'}: no response to inactivity probe after ${Math.round(idle / 1000)} s, disconnecting`);
        a.closeReason = 'inactivity probe timeout';
        conn.channel.close();
      } else if (idle >= a.probeMs && !a.probing) {
        a.probing = true;
        conn.channel.request({ type: 'echo_request', data: Buffer.alloc(0) }).then(
          () => {
            a.probing = false;
            a.lastReceived = performance.now();
          },
          () => {
            a.probing = false;
          },
        );
      }
    }
    this.updateFailOpen();
  }

  /**
   * fail_mode standalone: while the bridge has controllers and none has
   * been connected for an inactivity probe interval, every packet goes to
   * NORMAL (OVS's fail-open); secure never does.
   */
  private updateFailOpen(): void {
    const probe = Math.min(...[...this.controllers.values()].map((c) => c.cfg.inactivityProbe ?? DEFAULT_INACTIVITY_PROBE_MS));
    const open =
      this.failMode === 'standalone' && this.controllers.size > 0 && !this.hasControllerConnection() && performance.now() - this.controllerlessSince >= probe;
    if (open !== (this.xb.config.failOpen ?? false)) {
      log.info(`${this.xb.name}: ${open ? 'no controller connected: fail-open (NORMAL switching)' : 'leaving fail-open'}`);
      this.xb.setConfig({ failOpen: open });
      this.of.scheduleRevalidation();
    }
  }

  // -- OfConnHost

  datapathId(): bigint {
    return this.opts.datapathId();
  }

  portDescs(): PortDesc[] {
    return this.xb.ports().map((p) => {
      const mac = this.opts.portMac(p.name);
      return {
        portNo: p.ofport,
        hwAddr: mac ? macToBigint(mac) : 0n,
        name: p.name,
        config: this.portConfig.get(p.ofport) ?? 0,
        state: p.linkUp === false ? OFPPS_LINK_DOWN : 0,
        curr: 0,
        advertised: 0,
        supported: 0,
        peer: 0,
        currSpeed: 0,
        maxSpeed: 0,
      };
    });
  }

  portStats(portNo: number): PortStats[] {
    const dp = new Map(this.of.datapath.ports().map((p) => [p.port, p.stats]));
    const now = performance.now();
    return this.xb.ports().flatMap((p) => {
      if (portNo !== OFPP.ANY && portNo !== p.ofport) return [];
      const s = dp.get(p.dpPort);
      if (!s) return [];
      return [
        {
          portNo: p.ofport,
          rxPackets: BigInt(s.rxPackets),
          txPackets: BigInt(s.txPackets),
          rxBytes: BigInt(s.rxBytes),
          txBytes: BigInt(s.txBytes),
          rxDropped: BigInt(s.rxDropped),
          txDropped: BigInt(s.txDropped),
          rxErrors: BigInt(s.rxErrors),
          txErrors: BigInt(s.txErrors),
          rxFrameErr: 0n,
          rxOverErr: 0n,
          rxCrcErr: 0n,
          collisions: 0n,
          durationMs: Math.round(now - (this.portSince.get(p.ofport) ?? now)),
        },
      ];
    });
  }

  checkPortMod(msg: MessageOf<'port_mod'>): BridgePort {
    const p = this.xb.port(msg.portNo);
    if (!p) throw new RequestError('OFPPMFC_BAD_PORT', `port ${msg.portNo} does not exist on bridge ${this.xb.name}`);
    const mac = this.opts.portMac(p.name);
    if (mac && macToBigint(mac) !== msg.hwAddr) {
      throw new RequestError('OFPPMFC_BAD_HW_ADDR', `port ${msg.portNo} (${p.name}) has hardware address ${mac}, not the one the port_mod names`);
    }
    return p;
  }

  portMod(msg: MessageOf<'port_mod'>): void {
    const p = this.checkPortMod(msg);
    const config = ((this.portConfig.get(p.ofport) ?? 0) & ~msg.mask) | (msg.config & msg.mask);
    this.portConfig.set(p.ofport, config);
    // Output to a port that is down or no-fwd is skipped: xlate's adminUp.
    this.xb.setPortState(p.ofport, {
      adminUp: (config & (OFPPC.PORT_DOWN | OFPPC.NO_FWD)) === 0,
      noFlood: (config & OFPPC.NO_FLOOD) !== 0,
      // A port that is down neither sends nor receives.
      noRecv: (config & (OFPPC.PORT_DOWN | OFPPC.NO_RECV)) !== 0,
    });
    this.of.scheduleRevalidation();
    this.portsChanged();
  }

  acceptGenerationId(id: bigint): boolean {
    if (this.electionId !== undefined && BigInt.asIntN(64, id - this.electionId) < 0n) return false;
    this.electionId = id;
    return true;
  }

  generationId(): bigint | undefined {
    return this.electionId;
  }

  /** As OVS's ofconn_set_role: every other master becomes slave and is told so, with the current generation id. */
  demoteOtherMasters(conn: OfConn): void {
    for (const other of this.attached.keys()) {
      if (other !== conn && other.role === 'master') other.demoteToSlave(this.electionId ?? 0n);
    }
  }

  connectionsChanged(): void {
    const misses = [...this.attached.keys()].some((c) => c.wantsMisses());
    if (misses !== this.xb.config.missToController) {
      this.xb.setConfig({ missToController: misses });
      this.of.scheduleRevalidation();
    }
    this.updateFailOpen();
  }

  changedBy<T>(conn: OfConn, xid: number, change: () => T): T {
    const outer = this.changeOrigin;
    this.changeOrigin = { conn, xid };
    try {
      return change();
    } finally {
      this.changeOrigin = outer;
    }
  }

  /** The bridge's rules changed: every connection's flow monitors hear of it. */
  rulesChanged(changes: readonly RuleChange[]): void {
    for (const conn of this.attached.keys()) conn.rulesChanged(changes, this.changeOrigin);
  }

  desc(): MultipartReply & { kind: 'desc' } {
    return { kind: 'desc', desc: { mfr: 'The TVS project', hw: 'TVS', sw: this.opts.version, serial: 'None', dp: 'None' } };
  }

  // -- asynchronous messages

  packetIn(ev: PacketInEvent): void {
    const { packetIn } = ev;
    if (packetIn.reason === 'no_match' && ((this.portConfig.get(packetIn.inPort) ?? 0) & OFPPC.NO_PACKET_IN) !== 0) return;
    for (const [conn, a] of this.attached) {
      const msg = conn.packetIn(packetIn, ev.frame);
      if (!msg) continue;
      if (a.limiter && !a.limiter.take()) continue;
      this.send(conn, msg);
    }
  }

  flowRemoved(ev: FlowRemoved): void {
    const r = ev.rule;
    const msg: OfMessage = {
      type: 'flow_removed',
      cookie: r.cookie,
      priority: r.priority,
      reason: ev.reason,
      tableId: r.tableId,
      durationMs: Math.max(0, this.xb.tables.now() - r.createdAt),
      idleTimeout: r.idleTimeout,
      hardTimeout: r.hardTimeout,
      packetCount: r.nPackets,
      byteCount: r.nBytes,
      match: r.match,
    };
    for (const conn of this.attached.keys()) if (conn.wantsFlowRemoved(ev.reason)) this.send(conn, msg);
  }

  /** Sends port_status for every port added, deleted or changed since the last call. */
  portsChanged(): void {
    const now = new Map(this.portDescs().map((p) => [p.portNo, p]));
    const changes: Array<MessageOf<'port_status'>> = [];
    for (const [portNo, p] of now) {
      const text = JSON.stringify(p, bigintText);
      const before = this.lastPorts.get(portNo);
      if (before === undefined) {
        changes.push({ type: 'port_status', reason: 'add', desc: p });
        this.portSince.set(portNo, performance.now());
      }
      else if (before !== text) changes.push({ type: 'port_status', reason: 'modify', desc: p });
    }
    for (const [portNo, text] of this.lastPorts) {
      if (!now.has(portNo)) {
        changes.push({ type: 'port_status', reason: 'delete', desc: JSON.parse(text, (k, v: unknown) => (k === 'hwAddr' ? BigInt(v as string) : v)) as PortDesc });
        this.portConfig.delete(portNo);
        this.portSince.delete(portNo);
      }
    }
    this.lastPorts = new Map([...now].map(([n, p]) => [n, JSON.stringify(p, bigintText)]));
    for (const msg of changes) for (const conn of this.attached.keys()) if (conn.wantsPortStatus(msg.reason)) this.send(conn, msg);
  }

  private send(conn: OfConn, msg: OfMessage): void {
    try {
      // Asynchronous messages answer no request: OVS sends them with xid 0.
      conn.channel.send(msg, 0);
    } catch (e) {
      log.warn(`${this.xb.name}: cannot send ${msg.type}: ${(e as Error).message}`);
    }
  }

  /** Packet-ins a controller's rate limit dropped (controller_rate_limit). */
  packetInsDropped(target: string): number {
    return [...this.attached.values()].filter((a) => a.target === target).reduce((n, a) => n + (a.limiter?.dropped ?? 0), 0);
  }

  /** The Controller rows' status columns, as OVS writes them. */
  status(): ControllerStatus[] {
    const now = Date.now();
    return [...this.controllers.values()].map((st) => {
      const conns = [...this.attached].filter(([, a]) => a.target === st.cfg.target).map(([c]) => c);
      const status: Record<string, string> = { state: conns.length && st.state !== 'LISTENING' ? 'ACTIVE' : st.state };
      if (st.boundPort !== undefined) status.bound_port = String(st.boundPort);
      if (st.lastError) status.last_error = st.lastError;
      if (st.connectedAt !== undefined) status.sec_since_connect = String(Math.floor((now - st.connectedAt) / 1000));
      if (st.disconnectedAt !== undefined) status.sec_since_disconnect = String(Math.floor((now - st.disconnectedAt) / 1000));
      const dropped = this.packetInsDropped(st.cfg.target);
      if (dropped) status['packet-in-dropped'] = String(dropped);
      const out: ControllerStatus = { uuid: st.cfg.uuid, target: st.cfg.target, isConnected: conns.length > 0, status };
      const [first] = conns;
      if (first) out.role = first.role === 'equal' ? 'other' : first.role;
      return out;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const [target, st] of [...this.controllers]) this.closeController(target, st);
    for (const conn of [...this.attached.keys()]) conn.channel.close();
    if (this.mgmt) this.closeServer(this.mgmt, `punix:${this.opts.mgmtPath}`);
  }
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // none there
  }
}

function macToBigint(mac: string): bigint {
  return BigInt(`0x${parseMac(mac).toString('hex')}`);
}

function bigintText(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
