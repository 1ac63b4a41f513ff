// tvs-vswitchd: the switch daemon. It follows the Open_vSwitch database
// (its own embedded one by default, or a tvsdb-server), reconciles it into
// bridges and ports on the datapath, writes status back as OVS does
// (ofport, ifindex, mac_in_use, link_state, statistics, error, cur_cfg, and
// Mirror statistics) and
// serves its tvs-appctl commands.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CommandRegistry } from '../lib/command-registry.js';
import { getLogger } from '../lib/log.js';
import { OvsdbClient } from '../ovsdb/client.js';
import { createDatabaseFile } from '../ovsdb/db-file.js';
import type { Replica } from '../ovsdb/replica.js';
import { OvsdbServer } from '../ovsdb/server.js';
import { vswitchSchemaPath } from '../ovsdb/vswitch-schema.js';
import { registerOfprotoCommands } from '../ofproto/commands.js';
import { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import { OFPP } from '../ofproto/actions.js';
import { parseMatch } from '../openflow/flow-syntax.js';
import { defaultDbFile, defaultDbSocket, mgmtSocketPath, runDir } from '../lib/paths.js';
import { registerDaemonCommands } from './commands.js';
import type { ConnMgr } from './connmgr.js';
import { ofTransport } from './of-transport.js';
import { MONITORED, readConfig, wireMap, wireOptional } from './db-config.js';
import type { TlsFiles } from '../lib/tls.js';
import { OvsdbError } from '../ovsdb/errors.js';
import { MemoryTrimmer } from './memory-trim.js';
import { collectMetrics, type SwitchMetrics } from './metrics.js';
import { MetricsEndpoint, type MetricsEndpointStatus } from './metrics-endpoint.js';
import { renderPrometheus } from './metrics-text.js';
import { DummyNetdevs } from './netdev-dummy.js';
import { Captures } from './capture.js';
import { ifaceTypes, Reconciler, type DummyMode } from './reconcile.js';
import { UNSUPPORTED_COLUMNS, UnsupportedSettings } from './unsupported.js';

const log = getLogger('vswitchd');

export const VERSION = '0.1.0';
/** OVS's own default socket, so scripts calling the real ovs-vsctl with no --db reach TVS. */
export const OVS_DB_SOCKET = '/var/run/openvswitch/db.sock';
const DB = 'Open_vSwitch';

export interface VSwitchdOptions {
  /** unix:PATH, tcp:IP:PORT or ssl:IP:PORT of a tvsdb-server; when absent the daemon embeds its database. */
  remote?: string;
  /** More remotes the embedded database listens on: ptcp:PORT[:IP], pssl:PORT[:IP], punix:PATH. */
  dbRemotes?: string[];
  /** The PKI of the command line (-p, -c, -C): for an ssl: remote, and for pssl: until the database has an SSL row. */
  tls?: TlsFiles;
  /** Embedded database file (created on first start). */
  dbFile?: string;
  /** Sockets the embedded database is served on (punix: paths). */
  dbSockets?: string[];
  /** How often interface statistics are written to the database. */
  statsIntervalMs?: number;
  /** --enable-dummy: `on` adds the dummy interface type, `override` opens every interface as a dummy (see DummyMode). */
  dummy?: DummyMode;
  /** Where bridges' management sockets (BRIDGE.mgmt) go; the daemon's rundir by default. */
  runDir?: string;
}

export class VSwitchd {
  readonly registry = new CommandRegistry();
  readonly of = new OfprotoDpif({ onPacketIn: (ev) => this.reconciler.packetIn(ev) });
  /** The dummy interfaces (with --enable-dummy): frames into them and what they send. */
  readonly dummies = new DummyNetdevs(this.of.datapath);
  /** Port captures (capture/start, Switch.capture). */
  readonly captures = new Captures(this.of);
  private readonly reconciler: Reconciler;
  private readonly unsupported = new UnsupportedSettings();
  private readonly memoryTrimmer = new MemoryTrimmer(() => this.of.datapath.stats().flows + [...this.of.bridgeMap().values()].reduce((n, br) => n + br.mac.size, 0));
  /** The Prometheus endpoint (Open_vSwitch other_config:metrics-address). */
  private readonly metricsEndpoint = new MetricsEndpoint(() => renderPrometheus(this.metrics()));
  private server: OvsdbServer | undefined;
  /** Set by init(); absent when stop() follows an init() that failed before connecting. */
  private client: OvsdbClient | undefined;
  private replica!: Replica;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private statsTimer: NodeJS.Timeout | undefined;
  /** What we last wrote per row, to write only changes. */
  private readonly written = new Map<string, string>();
  private curCfg = -1;
  private readonly cfgWaiters: { cfg: number; resolve: () => void }[] = [];
  /** The SSL row's files, once the database has one. */
  private ssl: TlsFiles | undefined;
  /** The Manager targets the embedded database listens on. */
  private readonly managerListeners = new Set<string>();
  private stopped = false;

  private constructor(private readonly opts: VSwitchdOptions) {
    this.reconciler = new Reconciler(this.of, this.dummies, { transport: ofTransport, runDir: opts.runDir ?? runDir(), version: VERSION }, opts.dummy ?? 'off');
  }

  static async start(opts: VSwitchdOptions = {}): Promise<VSwitchd> {
    const d = new VSwitchd(opts);
    try {
      await d.init();
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  /** The database remote the daemon follows. */
  get remote(): string {
    const [socket = defaultDbSocket()] = this.opts.dbSockets ?? [];
    return this.opts.remote ?? `unix:${socket}`;
  }

  private async init(): Promise<void> {
    if (!this.opts.remote) await this.embedDatabase();
    const client = (this.client = await OvsdbClient.connect(this.remote, this.opts.tls ? { tls: this.opts.tls } : {}));
    await this.ensureRootRow();
    const tables: Record<string, { columns: string[] }> = {};
    for (const [t, columns] of [...Object.entries(MONITORED), ...Object.entries(UNSUPPORTED_COLUMNS)]) {
      tables[t] = { columns: [...new Set([...(tables[t]?.columns ?? []), ...columns])] };
    }
    this.replica = await client.monitor(DB, tables);
    this.replica.on('update', () => this.scheduleReconcile());
    client.on('connected', () => this.scheduleReconcile());
    registerOfprotoCommands(this.registry, this.of.bridgeMap(), parseMatch);
    registerDaemonCommands(this.registry, this.of, this.reconciler);
    if ((this.opts.dummy ?? 'off') !== 'off') this.dummies.registerCommands(this.registry);
    this.captures.registerCommands(this.registry);
    this.scheduleReconcile();
    await this.chain;
    this.statsTimer = setInterval(() => {
      this.scheduleReconcile();
      this.memoryTrimmer.check();
    }, this.opts.statsIntervalMs ?? 5000);
    this.statsTimer.unref();
  }

  private async embedDatabase(): Promise<void> {
    const file = this.opts.dbFile ?? defaultDbFile();
    if (!existsSync(file)) {
      await mkdir(dirname(file), { recursive: true });
      await createDatabaseFile(file, JSON.parse(await readFile(vswitchSchemaPath(), 'utf8')));
      log.info(`created database ${file}`);
    }
    this.server = new OvsdbServer();
    const { torn } = await this.server.addDatabaseFile(file);
    if (torn) log.warn(`${file}: a torn last record was cut off (nothing committed before it was lost)`);
    for (const path of this.opts.dbSockets ?? [defaultDbSocket()]) await this.server.listen(`punix:${path}`);
    for (const remote of this.opts.dbRemotes ?? []) log.info(`database listening on ${await this.server.listen(remote, () => this.tlsFiles())}`);
  }

  /** The PKI for pssl:, ssl: controllers and managers: the SSL row, or else the command line's. */
  private tlsFiles(): TlsFiles {
    return this.ssl ?? this.opts.tls ?? {};
  }

  /**
   * The embedded database listens on the passive Manager targets (ptcp:, pssl:, punix:), as
   * ovsdb-server does with --remote=db:Open_vSwitch,Open_vSwitch,manager_options. A target that
   * cannot listen is logged and tried again at the next reconfiguration.
   */
  private async applyManagers(targets: string[]): Promise<void> {
    const server = this.server;
    if (!server) return;
    const wanted = new Set(targets.filter((t) => /^p(tcp|ssl|unix):/.test(t)));
    for (const t of this.managerListeners) {
      if (wanted.has(t)) continue;
      await server.unlisten(t);
      this.managerListeners.delete(t);
      log.info(`manager ${t}: stopped listening`);
    }
    for (const t of wanted) {
      if (this.managerListeners.has(t)) continue;
      try {
        log.info(`manager ${t}: listening on ${await server.listen(t, () => this.tlsFiles())}`);
        this.managerListeners.add(t);
      } catch (e) {
        log.warn(`manager ${t}: cannot listen: ${e instanceof OvsdbError ? e.details : (e as Error).message}`);
      }
    }
  }

  /** A fresh database gets its one Open_vSwitch row, as `ovs-vsctl init` would add it. */
  private async ensureRootRow(): Promise<void> {
    const [res] = (await this.db.transact(DB, [{ op: 'select', table: DB, where: [], columns: ['_uuid'] }])) as [{ rows: unknown[] }];
    if (res.rows.length === 0) await this.db.transact(DB, [{ op: 'insert', table: DB, row: {} }]);
  }

  /** Reconcile after the current pass; changes arriving meanwhile fold into one more pass. */
  private scheduleReconcile(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    this.chain = this.chain
      .then(async () => {
        this.queued = false;
        if (!this.stopped) await this.reconcile();
      })
      .catch((e: unknown) => log.err(`reconfiguration failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  private async reconcile(): Promise<void> {
    const config = readConfig(this.replica);
    if (!config) return;
    this.ssl = config.ssl;
    if (!config.ssl && this.opts.tls) for (const b of config.bridges) for (const c of b.controllers) if (/^p?ssl:/.test(c.target)) c.tls = this.opts.tls;
    await this.applyManagers(config.managers);
    await this.reconciler.apply(config);
    this.unsupported.update(this.replica);
    await this.metricsEndpoint.apply(config.otherConfig['metrics-address']);
    // cur_cfg promises that the switch follows the configuration: the
    // datapath's flows included (a VLAN change, a port gone).
    await this.of.revalidated();
    await this.writeStatus(config.uuid, config.nextCfg);
  }

  /** Status columns OVS's daemon keeps up to date, written only when they change. */
  private async writeStatus(rootUuid: string, nextCfg: number): Promise<void> {
    const ops: unknown[] = [];
    const update = (table: string, uuid: string, row: Record<string, unknown>) => {
      const text = JSON.stringify(row);
      if (this.written.get(uuid) === text) return;
      this.written.set(uuid, text);
      ops.push({ op: 'update', table, where: [['_uuid', '==', ['uuid', uuid]]], row });
    };
    const dpPorts = new Map(this.of.datapath.ports().map((p) => [p.port, p]));
    for (const st of this.reconciler.interfaces()) {
      if (!this.replica.row('Interface', st.uuid)) continue;
      const row: Record<string, unknown> = {
        error: wireOptional(this.reconciler.interfaceError(st)),
        ofport: st.ofport === undefined ? -1 : st.ofport === OFPP.LOCAL ? 65534 : st.ofport,
      };
      const device = this.reconciler.deviceStatus(st);
      if (device) {
        row.ifindex = device.ifindex;
        row.mac_in_use = device.macInUse;
        if (device.mtu !== undefined) row.mtu = device.mtu;
        row.admin_state = device.adminState;
        row.link_state = device.linkState;
      }
      const tunnel = await this.reconciler.tunnelStatus(st);
      row.status = wireMap({ ...this.unsupported.statusOf(st.uuid), ...tunnel });
      const dp = st.dpPort === undefined ? undefined : dpPorts.get(st.dpPort);
      if (dp) {
        const s = dp.stats;
        row.statistics = wireMap({
          rx_packets: s.rxPackets, rx_bytes: s.rxBytes, rx_dropped: s.rxDropped, rx_errors: s.rxErrors,
          tx_packets: s.txPackets, tx_bytes: s.txBytes, tx_dropped: s.txDropped, tx_errors: s.txErrors,
        });
      }
      update('Interface', st.uuid, row);
    }
    for (const b of this.reconciler.bridgeStatus()) {
      if (!this.replica.row('Bridge', b.uuid)) continue;
      update('Bridge', b.uuid, { datapath_id: b.datapathId, status: wireMap(this.unsupported.statusOf(b.uuid)) });
      for (const m of b.mirrors) {
        if (this.replica.row('Mirror', m.uuid)) update('Mirror', m.uuid, { statistics: wireMap({ tx_packets: Number(m.txPackets), tx_bytes: Number(m.txBytes) }) });
      }
      for (const c of b.controllers) {
        if (this.replica.row('Controller', c.uuid)) {
          update('Controller', c.uuid, { is_connected: c.isConnected, role: wireOptional(c.role), status: wireMap(c.status) });
        }
      }
    }
    for (const table of ['Port', 'Manager']) {
      for (const row of this.replica.rows(table)) update(table, row.uuid, { status: wireMap(this.unsupported.statusOf(row.uuid)) });
    }
    const root: Record<string, unknown> = {
      ovs_version: VERSION,
      iface_types: ['set', ifaceTypes(this.opts.dummy ?? 'off')],
      datapath_types: ['set', ['netdev']],
      // The Open_vSwitch table has no status column; its statistics map is where OVS reports on the whole daemon.
      statistics: wireMap(metricsStatistics(this.metricsEndpoint.status())),
    };
    if (nextCfg !== this.curCfg) root.cur_cfg = nextCfg;
    update(DB, rootUuid, root);
    if (ops.length === 0) return;
    try {
      await this.db.transact(DB, ops);
      this.curCfg = nextCfg;
      for (const w of this.cfgWaiters.filter((x) => x.cfg <= nextCfg)) {
        this.cfgWaiters.splice(this.cfgWaiters.indexOf(w), 1);
        w.resolve();
      }
    } catch (e) {
      // A row deleted meanwhile: the next pass writes what still exists.
      this.written.clear();
      log.dbg(`status update failed: ${(e as Error).message}`);
    }
  }

  /** Resolves once the configuration numbered `nextCfg` (Open_vSwitch next_cfg) is applied. */
  waitForConfig(nextCfg: number): Promise<void> {
    if (this.curCfg >= nextCfg) return Promise.resolve();
    return new Promise((resolve) => this.cfgWaiters.push({ cfg: nextCfg, resolve }));
  }

  /** Every metric, read now: what the Prometheus endpoint serves, as typed values. */
  metrics(): SwitchMetrics {
    return collectMetrics({
      of: this.of,
      interfaces: () => this.reconciler.interfaces(),
      connmgr: (bridge) => this.reconciler.connmgr(bridge),
      ...(this.server ? { ovsdb: this.server.transactions } : {}),
    });
  }

  /** Where the metrics endpoint listens, or why it does not (absent both: metrics-address is not set). */
  metricsStatus(): MetricsEndpointStatus {
    return this.metricsEndpoint.status();
  }

  /** The management socket ovs-ofctl reaches bridge `bridge` on (unix:PATH). */
  mgmtSocket(bridge: string): string {
    return `unix:${mgmtSocketPath(bridge, this.opts.runDir ?? runDir())}`;
  }

  /** A bridge's OpenFlow connection manager (in-process controllers, tests). */
  connmgr(bridge: string): ConnMgr | undefined {
    return this.reconciler.connmgr(bridge);
  }

  /** The OVSDB client the daemon follows its database with (for in-process configuration). */
  get db(): OvsdbClient {
    if (!this.client) throw new Error('tvs-vswitchd is not connected to its database');
    return this.client;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.statsTimer);
    await this.chain.catch(() => undefined);
    await this.metricsEndpoint.close();
    this.client?.close();
    this.captures.stopAll();
    await this.reconciler.closeAll().catch(() => undefined);
    this.of.close();
    await this.server?.close();
  }
}

/** Open_vSwitch statistics keys for the metrics endpoint: metrics_address once it listens, metrics_error when it cannot. */
function metricsStatistics(status: MetricsEndpointStatus): Record<string, string> {
  const out: Record<string, string> = {};
  if (status.address !== undefined) out.metrics_address = status.address;
  if (status.error !== undefined) out.metrics_error = status.error;
  return out;
}
