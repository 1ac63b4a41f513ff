// The TypeScript API for programs and CI tests: a whole switch in-process
// (tvs-vswitchd with its embedded database), configured through the same
// database transactions tvs-vsctl makes, plus hosts to hang on it: network
// namespaces (root), or, on a switch started with { dummy: true }, hosts
// on dummy ports with a host stack in TypeScript (no privilege at all).
//
//   const sw = await Switch.start();
//   await sw.addBridge('br0');
//   const h1 = await sw.addHost('br0', 'h1', { ip: '10.0.0.1/24' });
//   const h2 = await sw.addHost('br0', 'h2', { ip: '10.0.0.2/24', via: 'tap', tag: 10 });
//   await h1.exec('ping', ['-c', '1', '10.0.0.2']);
//   await sw.addFlow('br0', 'priority=10,udp,actions=drop');
//   console.log(sw.portStats('br0'), sw.dumpFlows('br0'));
//   await sw.stop();
//
//   const dsw = await Switch.start({ dummy: true });
//   await dsw.addBridge('br0');
//   const d1 = await dsw.addHost('br0', 'd1', { ip: '10.0.0.1/24' });
//   await dsw.addHost('br0', 'd2', { ip: '10.0.0.2/24' });
//   await d1.ping('10.0.0.2');   // 1 reply
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type Host } from '../lib/netns.js';
import { UnixctlServer } from '../lib/unixctl.js';
import { registerVlogCommands } from '../lib/log.js';
import { formatMac } from '../lib/addr.js';
import { formatDatapathFlow } from '../datapath/dpctl.js';
import type { PortInfo } from '../datapath/dpif.js';
import { formatFlowStats, formatMeter, formatMeterStats } from '../ofproto/print.js';
import { OFPM } from '../ofproto/meters.js';
import { parseMeterId, parseMeterMod } from '../openflow/meter-syntax.js';
import { parseFlowMod } from '../openflow/flow-syntax.js';
import type { XBridge } from '../ofproto/xbridge.js';
import type { VlanMode } from '../ofproto/vlan.js';
import type { SwitchMetrics } from '../vswitchd/metrics.js';
import type { MetricsEndpointStatus } from '../vswitchd/metrics-endpoint.js';
import { VERSION, VSwitchd } from '../vswitchd/vswitchd.js';
import { DummyHost, type DummyHostOptions } from './dummy-host.js';
import { CaptureStream, type CaptureOptions } from '../vswitchd/capture.js';

const DB = 'Open_vSwitch';

export interface SwitchOptions {
  /** Directory for the database and sockets; a fresh temporary one by default (removed on stop). */
  dir?: string;
  /** Serve tvs-appctl on this socket (e.g. the default /var/run/tvs/tvs-vswitchd.ctl). */
  unixctl?: string;
  /** Serve the database on these sockets instead of `<dir>/db.sock` (e.g. /var/run/tvs/db.sock). */
  dbSockets?: string[];
  /**
   * Open every interface as a dummy port (tvs-vswitchd --enable-dummy=override),
   * the bridges' own ports included, and make hosts DummyHosts: the whole
   * switch runs with no root, no namespaces and no devices.
   */
  dummy?: boolean;
}

export interface PortOptions {
  /** "" or "system" (an existing interface), "internal", "tap" (created by the switch), "patch", "dummy". */
  type?: string;
  options?: Record<string, string>;
  ofportRequest?: number;
  tag?: number;
  trunks?: number[];
  vlanMode?: VlanMode;
}

export interface HostOptions {
  /** Address with prefix length, e.g. 10.0.0.1/24. */
  ip: string;
  /** A veth pair (the default) or a switch-owned tap moved into the host's namespace. */
  via?: 'veth' | 'tap';
  tag?: number;
  trunks?: number[];
}

export interface SwitchHost extends Host {
  /** The switch's port (and interface) name for this host. */
  port: string;
}

/** What addHost takes for the hosts of a switch: namespace hosts, or dummy hosts. */
type HostOptionsFor<H> = H extends DummyHost ? DummyHostOptions : HostOptions;

const set = (items: unknown[]) => ['set', items];
const map = (m: Record<string, string>) => ['map', Object.entries(m)];

export class Switch<H extends SwitchHost | DummyHost = SwitchHost> {
  private readonly lab: Lab;
  private readonly dummyHosts: DummyHost[] = [];

  private constructor(
    readonly daemon: VSwitchd,
    private readonly dir: string,
    private readonly ownDir: boolean,
    private readonly unixctl: UnixctlServer | undefined,
    private readonly dummy: boolean,
  ) {
    this.lab = new Lab({ kind: 'tvs-sw' });
  }

  static start(opts: SwitchOptions & { dummy: true }): Promise<Switch<DummyHost>>;
  static start(opts?: SwitchOptions): Promise<Switch>;
  static async start(opts: SwitchOptions = {}): Promise<Switch | Switch<DummyHost>> {
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tvs-switch-'));
    const daemon = await VSwitchd.start({
      dbFile: join(dir, 'conf.db'),
      dbSockets: opts.dbSockets ?? [join(dir, 'db.sock')],
      dummy: opts.dummy ? 'override' : 'off',
      // Its bridges' management sockets (BRIDGE.mgmt) stay in its own directory, away from other switches'.
      runDir: dir,
    });
    let unixctl: UnixctlServer | undefined;
    if (opts.unixctl) {
      registerVlogCommands(daemon.registry);
      unixctl = new UnixctlServer({ path: opts.unixctl, registry: daemon.registry, version: `tvs-vswitchd (TVS) ${VERSION}` });
      await unixctl.start();
    }
    const ownDir = opts.dir === undefined;
    return opts.dummy ? new Switch<DummyHost>(daemon, dir, ownDir, unixctl, true) : new Switch<SwitchHost>(daemon, dir, ownDir, unixctl, false);
  }

  /** The database remote, for tvs-vsctl --db=... */
  get db(): string {
    return this.daemon.remote;
  }

  /** Run operations in one transaction that also bumps next_cfg, and wait until the switch applied it. */
  private async configure(ops: unknown[]): Promise<unknown[]> {
    const results = await this.daemon.db.transact(DB, [
      ...ops,
      { op: 'mutate', table: DB, where: [], mutations: [['next_cfg', '+=', 1]] },
      { op: 'select', table: DB, where: [], columns: ['next_cfg'] },
    ]);
    const { rows } = results[results.length - 1] as { rows: { next_cfg: number }[] };
    await this.daemon.waitForConfig(rows[0]!.next_cfg);
    return results;
  }

  async addBridge(name: string): Promise<void> {
    await this.configure([
      { op: 'insert', table: 'Interface', 'uuid-name': 'iface', row: { name, type: 'internal' } },
      { op: 'insert', table: 'Port', 'uuid-name': 'port', row: { name, interfaces: ['named-uuid', 'iface'] } },
      { op: 'insert', table: 'Bridge', 'uuid-name': 'br', row: { name, ports: ['named-uuid', 'port'] } },
      { op: 'mutate', table: DB, where: [], mutations: [['bridges', 'insert', set([['named-uuid', 'br']])]] },
    ]);
  }

  async delBridge(name: string): Promise<void> {
    const uuid = await this.uuidOf('Bridge', name);
    await this.configure([{ op: 'mutate', table: DB, where: [], mutations: [['bridges', 'delete', set([['uuid', uuid]])]] }]);
  }

  async addPort(bridge: string, name: string, opts: PortOptions = {}): Promise<void> {
    const iface: Record<string, unknown> = { name, type: opts.type === 'system' ? '' : opts.type ?? '' };
    if (opts.options) iface.options = map(opts.options);
    if (opts.ofportRequest !== undefined) iface.ofport_request = opts.ofportRequest;
    const port: Record<string, unknown> = { name, interfaces: ['named-uuid', 'iface'] };
    if (opts.tag !== undefined) port.tag = opts.tag;
    if (opts.trunks) port.trunks = set(opts.trunks);
    if (opts.vlanMode) port.vlan_mode = opts.vlanMode;
    await this.configure([
      { op: 'insert', table: 'Interface', 'uuid-name': 'iface', row: iface },
      { op: 'insert', table: 'Port', 'uuid-name': 'port', row: port },
      { op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]], mutations: [['ports', 'insert', set([['named-uuid', 'port']])]] },
      { op: 'wait', table: 'Bridge', where: [['name', '==', bridge]], columns: ['name'], until: '==', rows: [{ name: bridge }], timeout: 0 },
    ]).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(/wait/i.test(message) || /timed out/.test(message) ? `no bridge named ${bridge}` : message, { cause: e });
    });
  }

  async delPort(bridge: string, name: string): Promise<void> {
    const uuid = await this.uuidOf('Port', name);
    await this.configure([{ op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]], mutations: [['ports', 'delete', set([['uuid', uuid]])]] }]);
  }

  /** Set a port's VLAN: an access `tag`, or `trunks` (an empty object clears both). */
  async setVlan(port: string, vlan: { tag?: number; trunks?: number[] }): Promise<void> {
    await this.configure([
      { op: 'update', table: 'Port', where: [['name', '==', port]], row: { tag: vlan.tag === undefined ? set([]) : vlan.tag, trunks: set(vlan.trunks ?? []) } },
    ]);
  }

  private async uuidOf(table: string, name: string): Promise<string> {
    const [res] = (await this.daemon.db.transact(DB, [{ op: 'select', table, where: [['name', '==', name]], columns: ['_uuid'] }])) as [
      { rows: { _uuid: [string, string] }[] },
    ];
    const row = res.rows[0];
    if (!row) throw new Error(`no ${table.toLowerCase()} named ${name}`);
    return row._uuid[1];
  }

  /**
   * A host `name` on `bridge`: on a dummy switch a DummyHost on a dummy port
   * named `name`; otherwise a namespace host reached by veth or by a
   * switch-owned tap.
   */
  async addHost(bridge: string, name: string, opts: HostOptionsFor<H>): Promise<H> {
    const vlan = { ...(opts.tag !== undefined ? { tag: opts.tag } : {}), ...(opts.trunks ? { trunks: opts.trunks } : {}) };
    if (this.dummy) {
      const { ip, mac } = opts as DummyHostOptions;
      // Locally administered MACs numbered in order make captures and MAC tables readable.
      const hostMac = mac ?? formatMac(Buffer.from([0x02, 0, 0, 0, (this.dummyHosts.length + 1) >> 8, (this.dummyHosts.length + 1) & 0xff]));
      const host = new DummyHost(this.daemon.dummies, name, hostMac, ip);
      await this.addPort(bridge, name, { type: 'dummy', ...vlan }).catch((e: unknown) => {
        host.close();
        throw e;
      });
      this.dummyHosts.push(host);
      return host as H;
    }
    const { ip, via } = opts as HostOptions;
    if (via === 'tap') {
      const tap = this.lab.ifname(name);
      await this.addPort(bridge, tap, { type: 'tap', ...vlan });
      const host = await this.lab.adoptIntoHost(name, tap, ip);
      return { ...host, port: tap } as H;
    }
    const { host, switchIf } = await this.lab.addVethHost(name, ip);
    await this.addPort(bridge, switchIf, vlan);
    return { ...host, port: switchIf } as H;
  }

  private bridge(name: string): XBridge {
    const b = this.daemon.of.bridge(name);
    if (!b) throw new Error(`no bridge named ${name}`);
    return b;
  }

  /**
   * Add an OpenFlow rule in ovs-ofctl syntax, e.g. `priority=10,ip,nw_dst=10.0.0.2,actions=output:2`.
   * Resolves once the datapath's flows follow it: traffic sent afterwards meets the new rule.
   */
  async addFlow(bridge: string, flow: string): Promise<void> {
    this.bridge(bridge).flowMod(parseFlowMod(flow, 'add'));
    await this.daemon.of.revalidated();
  }

  /** Delete OpenFlow rules matching `match` (all of them by default); resolves once the datapath follows. */
  async delFlows(bridge: string, match = ''): Promise<void> {
    this.bridge(bridge).flowMod(parseFlowMod(match, 'delete'));
    await this.daemon.of.revalidated();
  }

  /**
   * Add a meter in ovs-ofctl's syntax, e.g. `meter=1,pktps,burst,bands=type=drop,rate=100,burst_size=10`;
   * rules use it with `actions=meter:1,...`. The datapath enforces it at once.
   */
  async addMeter(bridge: string, meter: string): Promise<void> {
    this.bridge(bridge).meterMod(parseMeterMod(meter, 'add'));
    await this.daemon.of.revalidated();
  }

  /** Change a meter (its counters restart), in the syntax of addMeter. */
  async modMeter(bridge: string, meter: string): Promise<void> {
    this.bridge(bridge).meterMod(parseMeterMod(meter, 'modify'));
    await this.daemon.of.revalidated();
  }

  /** Delete `meter=N` (every meter by default) and the rules that use it; resolves once the datapath follows. */
  async delMeters(bridge: string, meter = ''): Promise<void> {
    this.bridge(bridge).meterMod(parseMeterMod(meter, 'delete'));
    await this.daemon.of.revalidated();
  }

  /** Meters as ovs-ofctl dump-meters prints them (every meter by default). */
  dumpMeters(bridge: string, meter = ''): string[] {
    const id = parseMeterId(meter);
    return this.bridge(bridge)
      .meters.dump()
      .filter((m) => id === OFPM.ALL || m.meterId === id)
      .map(formatMeter);
  }

  /** Meter counters as ovs-ofctl meter-stats prints them (every meter by default). */
  meterStats(bridge: string, meter = ''): string[] {
    return this.bridge(bridge).meterStats(parseMeterId(meter)).map(formatMeterStats);
  }

  /**
   * Run a revalidation round now (the daemon runs one every 500 ms): the
   * datapath flows' counters reach the OpenFlow rules and the MAC table, and
   * flows that no longer agree with the tables are corrected.
   */
  async revalidate(): Promise<void> {
    await this.daemon.of.revalidationRound();
  }

  /** OpenFlow rules with their counters, as ovs-ofctl dump-flows prints them. */
  dumpFlows(bridge: string): string[] {
    const b = this.bridge(bridge);
    return b.tables.dump().map((r) => formatFlowStats(r, b.tables.now()));
  }

  /** Datapath flows (megaflows) of the whole switch, as ovs-appctl dpctl/dump-flows prints them. */
  dumpDatapathFlows(): string[] {
    return this.daemon.of.datapath.dumpFlows().map((f) => formatDatapathFlow(f));
  }

  /** The MAC learning table of a bridge, as fdb/show prints it. */
  fdb(bridge: string): string {
    const b = this.bridge(bridge);
    return b.mac.format(undefined, (p) => b.portName(p));
  }

  /** Datapath ports of a bridge with their counters. */
  portStats(bridge: string): PortInfo[] {
    const mine = new Set(this.bridge(bridge).ports().map((p) => p.dpPort));
    return this.daemon.of.datapath.ports().filter((p) => mine.has(p.port));
  }

  /**
   * Run a tvs-appctl command of the daemon in-process, e.g.
   * appctl('ofproto/trace', 'br0', 'in_port=1,dl_dst=ff:ff:ff:ff:ff:ff');
   * resolves to its output, or rejects with its error.
   */
  async appctl(command: string, ...args: string[]): Promise<string> {
    const reply = await this.daemon.registry.run(command, args);
    if (!reply.ok) throw new Error(reply.output);
    return reply.output;
  }

  /**
   * Capture a port's frames, with what the switch did with each (`verdict`,
   * as tvs capture's pcapng comments say it):
   *   const cap = await sw.capture('h1', { direction: 'in', filter: 'icmp' });
   *   for await (const p of cap) console.log(p.time, p.direction, p.frame.length, p.verdict);
   * The iteration ends after `count` frames, or once close() stops the capture
   * (leaving a for-await loop early closes it too). Rejects, naming the fix,
   * for a port that is not there or already captured, or a bad filter.
   */
  async capture(port: string, opts: CaptureOptions = {}): Promise<CaptureStream> {
    const stream = new CaptureStream();
    await this.daemon.captures.start(port, opts, stream);
    return stream;
  }

  /** Datapath lookups, flows and masks, as dpctl/show reports them. */
  datapathStats() {
    return this.daemon.of.datapath.stats();
  }

  /**
   * Every metric the Prometheus endpoint serves, as typed values read now:
   * interface counters, datapath hits and misses, upcall batch latency, flow
   * setups, MAC tables, controller connections, database transactions.
   */
  metrics(): SwitchMetrics {
    return this.daemon.metrics();
  }

  /**
   * Serve Prometheus metrics at http://ADDRESS/metrics (Open_vSwitch
   * other_config:metrics-address: IP:PORT, or a port alone for loopback; port
   * 0 picks a free one); undefined stops serving. Resolves once the switch
   * applied it, to where it listens or why it cannot.
   */
  async serveMetrics(address: string | undefined): Promise<MetricsEndpointStatus> {
    const mutations = [['other_config', 'delete', set(['metrics-address'])]];
    if (address !== undefined) mutations.push(['other_config', 'insert', map({ 'metrics-address': address })]);
    await this.configure([{ op: 'mutate', table: DB, where: [], mutations }]);
    return this.daemon.metricsStatus();
  }

  /** Stop the switch and remove every host, port and file it made. */
  async stop(): Promise<void> {
    for (const host of this.dummyHosts.splice(0)) host.close();
    await this.unixctl?.close();
    await this.daemon.stop();
    await this.lab.cleanup();
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
