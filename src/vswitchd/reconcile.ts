// Brings the running switch in line with the database: bridges, their
// ports and interfaces opened in the datapath, VLAN settings, and the
// settings OVS users put in other_config. Idempotent: running it again with
// the same configuration changes nothing, and an interface that failed to
// open (its device missing) is retried on every pass.
//
// Each interface is carried by one kind of datapath port: `system` (an
// existing device), `tap` (types internal and tap), `patch` (a pair joined
// inside the datapath) or `dummy` (no device; see netdev-dummy.ts). A tunnel
// (vxlan, geneve, gre) goes through the vport of its type and UDP port, which
// it shares with every other tunnel of that kind (tunnels.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { PortType } from '../datapath/dpif.js';
import type { OfprotoDpif, PacketInEvent } from '../ofproto/ofproto-dpif.js';
import { OFPP } from '../ofproto/actions.js';
import { XBridge } from '../ofproto/xbridge.js';
import type { PortVlanConfig } from '../ofproto/vlan.js';
import { formatMac } from '../lib/addr.js';
import { getLogger } from '../lib/log.js';
import { ConnMgr, type ControllerStatus, type OfTransport } from './connmgr.js';
import type { BridgeConfig, InterfaceConfig, PortConfig, SwitchConfig } from './db-config.js';
import type { DummyNetdevs } from './netdev-dummy.js';
import { TUNNEL_TYPES, TunnelConfigError, formatUnderlayIp, parseTunnelOptions, type TunnelConfig, type TunnelType } from '../ofproto/tunnel.js';
import { TunnelVports } from './tunnels.js';
import { BridgeMirrors, type MirrorStatus } from './mirrors.js';
import { BridgeNetflows } from './netflow.js';
import { BridgeIpfixes } from './ipfix.js';
import { carrierOf, routeLookup } from './underlay.js';
import { BridgeSflows } from './sflow.js';

const log = getLogger('bridge');

/** The interface types this switch implements, as Open_vSwitch.iface_types lists them. */
const IFACE_TYPES = ['geneve', 'gre', 'internal', 'patch', 'system', 'tap', 'vxlan'];

const isTunnelType = (type: string): type is TunnelType => (TUNNEL_TYPES as readonly string[]).includes(type);

/**
 * tvs-vswitchd --enable-dummy (OVS's option): `off` without it; `on` adds
 * the `dummy` interface type; `override` also opens every interface of a
 * type that needs a device (system, internal, tap) as a dummy, so that a
 * whole configuration runs with no devices and no privilege.
 */
export type DummyMode = 'off' | 'on' | 'override';

/** The interface types a switch in dummy mode `mode` implements. */
export function ifaceTypes(mode: DummyMode): string[] {
  return mode === 'off' ? IFACE_TYPES : [...IFACE_TYPES, 'dummy'].sort();
}

/** The MTU a dummy interface reports without mtu_request. */
const DUMMY_MTU = 1500;

/**
 * An interface whose configuration is wrong in itself (not a missing
 * device): Interface.error gets its message as it is, as OVS writes its own.
 */
class InterfaceConfigError extends Error {}

/** What the switch made of one Interface row. */
export interface InterfaceState {
  uuid: string;
  name: string;
  bridge: string;
  port: string;
  type: string;
  /** The kind of datapath port that carries it, once chosen. */
  carrier?: PortType;
  dpPort?: number;
  /** A dummy or patch port's MAC (either has no device to read one from). */
  mac?: string;
  /** A dummy port's MTU. */
  mtu?: number;
  /** A patch port's peer (options:peer). */
  peer?: string;
  /** A tunnel's configuration; its dpPort is the vport it shares. */
  tunnel?: TunnelConfig;
  /** A tunnel's options as dpif/show lists them ("key=5, remote_ip=192.0.2.2"). */
  tunnelOptions?: string;
  ofport?: number;
  /** Why it could not be opened (Interface.error). */
  error?: string;
  /** The settings it was opened with, and its VLAN settings, to notice changes. */
  applied: string;
  vlan: string;
}

interface RunningBridge {
  uuid: string;
  xb: XBridge;
  ofports: Set<number>;
  /** Its OpenFlow connections: the management socket and the Controller rows. */
  connmgr: ConnMgr;
  /** other_config:datapath-id as given, if valid (16 hex digits). */
  datapathId?: string;
}

export interface BridgeStatus {
  uuid: string;
  /** 16 hex digits: other_config:datapath-id, or derived from the internal port's MAC as OVS does. */
  datapathId: string;
  controllers: ControllerStatus[];
  /** Its running mirrors' counters. */
  mirrors: MirrorStatus[];
}

/** What the status columns of an Interface row say of the device carrying it. */
export interface DeviceStatus {
  /** 0 for a port with no kernel device, as OVS writes it. */
  ifindex: number;
  macInUse: string;
  /** Absent for a patch port, which has no MTU. */
  mtu?: number;
  adminState: 'up' | 'down';
  linkState: 'up' | 'down';
}

const sysfs = (dev: string, attr: string): string | undefined => {
  try {
    return readFileSync(`/sys/class/net/${dev}/${attr}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/**
 * A MAC for a port with no device, stable across restarts: aa:55 (OVS's
 * dummies' prefix; locally administered, unicast) and 4 bytes of the name's hash.
 */
function emulatedMac(name: string): string {
  return formatMac(Buffer.concat([Buffer.from([0xaa, 0x55]), createHash('sha1').update(name).digest().subarray(0, 4)]));
}

/** How bridges serve OpenFlow. */
export interface OpenFlowSettings {
  transport: OfTransport;
  /** Where BRIDGE.mgmt sockets go (the daemon's rundir). */
  runDir: string;
  version: string;
}

export class Reconciler {
  private readonly bridges = new Map<string, RunningBridge>();
  private readonly ifaces = new Map<string, InterfaceState>();
  private readonly vports: TunnelVports;
  private readonly mirrors = new BridgeMirrors();
  private readonly sflows: BridgeSflows;
  private readonly netflows = new BridgeNetflows();
  private readonly ipfixes: BridgeIpfixes;

  constructor(
    private readonly of: OfprotoDpif,
    private readonly dummies: DummyNetdevs,
    private readonly openflow: OpenFlowSettings,
    private readonly dummyMode: DummyMode = 'off',
  ) {
    this.vports = new TunnelVports(of.datapath);
    this.sflows = new BridgeSflows(of);
    this.ipfixes = new BridgeIpfixes(of);
  }

  /** The open tunnel vports and the Interfaces using each. */
  tunnelVports(): ReturnType<TunnelVports['list']> {
    return this.vports.list();
  }

  interfaces(): InterfaceState[] {
    return [...this.ifaces.values()];
  }

  bridgeNames(): string[] {
    return [...this.bridges.keys()];
  }

  bridgeStatus(): BridgeStatus[] {
    return [...this.bridges].map(([name, rb]) => ({ uuid: rb.uuid, datapathId: this.datapathIdOf(name, rb), controllers: rb.connmgr.status(), mirrors: BridgeMirrors.status(rb.xb) }));
  }

  /** other_config:datapath-id, or derived from the bridge's internal port's MAC as OVS does. */
  private datapathIdOf(name: string, rb: RunningBridge): string {
    if (rb.datapathId) return rb.datapathId;
    return `0000${(this.portMac(name) ?? '00:00:00:00:00:00').replace(/:/g, '')}`;
  }

  private portMac(name: string): string | undefined {
    const st = this.ifaces.get(name);
    return (st && this.deviceStatus(st)?.macInUse) || undefined;
  }

  /** The bridge's OpenFlow connections (undefined for a bridge that does not exist). */
  connmgr(bridge: string): ConnMgr | undefined {
    return this.bridges.get(bridge)?.connmgr;
  }

  /** Hands a frame a CONTROLLER action sent up to its bridge's controllers. */
  packetIn(ev: PacketInEvent): void {
    this.bridges.get(ev.bridge.name)?.connmgr.packetIn(ev);
  }

  async apply(config: SwitchConfig): Promise<void> {
    // OVS's keys and defaults; a key removed (or invalid) means its default.
    const setting = (key: string, valid: (n: number) => boolean, fallback: number) => {
      const n = Number(config.otherConfig[key] ?? NaN);
      return Number.isInteger(n) && valid(n) ? n : fallback;
    };
    this.of.configureFlows({
      flowLimit: setting('flow-limit', (n) => n > 0, 200_000),
      maxIdleMs: setting('max-idle', (n) => n > 0, 10_000),
      // 0 turns insertion into the exact-match cache off; N inserts 1 hit in N.
      emcInsertInvProb: setting('emc-insert-inv-prob', (n) => n >= 0 && n <= 0xffffffff, 100),
    });
    const wanted = new Map(config.bridges.map((b) => [b.name, b]));
    for (const name of [...this.bridges.keys()]) if (!wanted.has(name)) await this.destroyBridge(name);
    for (const b of config.bridges) await this.applyBridge(b);
  }

  private async bridge(cfg: BridgeConfig): Promise<RunningBridge> {
    let rb = this.bridges.get(cfg.name);
    if (!rb) {
      // In secure fail mode a bridge starts with an empty flow table, as in
      // OVS: only a controller (or ovs-ofctl) puts flows there.
      const xb = new XBridge({
        name: cfg.name,
        defaultRule: cfg.failMode !== 'secure',
        onFlowRemoved: (ev) => connmgr.flowRemoved(ev),
        onRulesChanged: (changes) => connmgr.rulesChanged(changes),
      });
      const connmgr: ConnMgr = new ConnMgr({
        xb,
        of: this.of,
        transport: this.openflow.transport,
        mgmtPath: join(this.openflow.runDir, `${cfg.name}.mgmt`),
        datapathId: () => BigInt(`0x${this.datapathIdOf(cfg.name, this.bridges.get(cfg.name)!)}`),
        portMac: (name) => this.portMac(name),
        version: this.openflow.version,
      });
      rb = { uuid: cfg.uuid, xb, ofports: new Set(), connmgr };
      this.bridges.set(cfg.name, rb);
      this.of.addBridge(rb.xb);
      log.info(`${cfg.name}: added bridge`);
      try {
        await connmgr.start();
      } catch (e) {
        log.warn(`${cfg.name}: cannot listen on the management socket ${join(this.openflow.runDir, `${cfg.name}.mgmt`)}: ${(e as Error).message}`);
      }
    }
    rb.uuid = cfg.uuid;
    const dpid = cfg.otherConfig['datapath-id'];
    if (dpid !== undefined && /^(0x)?[0-9a-fA-F]{16}$/.test(dpid)) rb.datapathId = dpid.replace(/^0x/, '').toLowerCase();
    else delete rb.datapathId;
    const aging = Number(cfg.otherConfig['mac-aging-time'] ?? 300);
    const size = Number(cfg.otherConfig['mac-table-size'] ?? 8192);
    if (aging > 0) rb.xb.mac.agingSec = aging;
    if (Number.isInteger(size) && size > 0) rb.xb.mac.maxEntries = size;
    return rb;
  }

  private async applyBridge(cfg: BridgeConfig): Promise<void> {
    const rb = await this.bridge(cfg);
    await rb.connmgr.apply(cfg.failMode, cfg.controllers);
    const wanted = new Set<string>();
    for (const port of cfg.ports) {
      const [first, ...extra] = port.interfaces;
      if (!first) continue;
      wanted.add(first.name);
      await this.applyInterface(cfg, rb, port, first);
      for (const iface of extra) {
        wanted.add(iface.name);
        this.ifaces.set(iface.name, {
          uuid: iface.uuid, name: iface.name, bridge: cfg.name, port: port.name, type: iface.type || 'system',
          error: `port ${port.name} has more than one interface: bonds are not supported`, applied: '', vlan: '',
        });
      }
    }
    for (const st of [...this.ifaces.values()]) {
      if (st.bridge === cfg.name && !wanted.has(st.name)) this.closeInterface(st);
    }
    this.mirrors.apply(rb.xb, cfg.mirrors, (port) => this.ofportOf(cfg.name, port));
    await this.sflows.apply(rb.xb, cfg.sflow);
    this.netflows.apply(rb.xb, cfg.netflow);
    this.ipfixes.apply(rb.xb, cfg);
    rb.connmgr.portsChanged();
  }

  /** The OpenFlow port of Port `port` of bridge `bridge`, if its interface is open. */
  private ofportOf(bridge: string, port: string): number | undefined {
    for (const st of this.ifaces.values()) if (st.bridge === bridge && st.port === port && st.ofport !== undefined) return st.ofport;
    return undefined;
  }

  private async applyInterface(b: BridgeConfig, rb: RunningBridge, port: PortConfig, iface: InterfaceConfig): Promise<void> {
    const vlan: PortVlanConfig = {
      ...(port.tag !== undefined ? { tag: port.tag } : {}),
      ...(port.trunks.length ? { trunks: port.trunks } : {}),
      ...(port.vlanMode ? { vlanMode: port.vlanMode } : {}),
    };
    const applied = JSON.stringify({ bridge: b.name, port: port.name, type: iface.type, options: iface.options, req: iface.ofportRequest, mtu: iface.mtuRequest, mac: iface.mac });
    const old = this.ifaces.get(iface.name);
    const vlanText = JSON.stringify(vlan);
    if (old && old.applied === applied && !old.error) {
      // Same interface: only its VLAN settings may have changed.
      old.uuid = iface.uuid;
      if (old.vlan !== vlanText && old.ofport !== undefined) {
        try {
          rb.xb.setPortVlan(old.ofport, vlan);
          old.vlan = vlanText;
          this.of.scheduleRevalidation();
        } catch (e) {
          log.warn(`${b.name}: port ${port.name}: ${(e as Error).message}`);
        }
      }
      return;
    }
    // An interface that failed is retried on every pass; say so only when the reason changes.
    const previousError = old?.error;
    if (old) this.closeInterface(old);
    const type = iface.type || 'system';
    const st: InterfaceState = { uuid: iface.uuid, name: iface.name, bridge: b.name, port: port.name, type, applied, vlan: vlanText };
    this.ifaces.set(iface.name, st);
    if (isTunnelType(type)) this.openTunnel(rb, st, type, iface, vlan);
    else this.openInterface(b, rb, st, iface, vlan);
    if (st.error && st.error !== previousError) log.warn(`${b.name}: ${st.error}`);
  }

  /** Opens an interface on a datapath port of its own and attaches it to the bridge. */
  private openInterface(b: BridgeConfig, rb: RunningBridge, st: InterfaceState, iface: InterfaceConfig, vlan: PortVlanConfig): void {
    let dpPort: number;
    try {
      dpPort = st.dpPort = this.openPort(st, iface);
    } catch (e) {
      st.error = openError(iface.name, e as Error);
      return;
    }
    const ofport = iface.name === b.name && st.type === 'internal' ? OFPP.LOCAL : allocateOfport(rb, iface.ofportRequest);
    this.attach(rb, st, ofport, `interface ${iface.name}`, {
      addToBridge: () => rb.xb.addPort({ ofport, dpPort, name: iface.name, vlan }),
      attached: () => this.of.attachPort(rb.xb, dpPort),
    });
  }

  /**
   * Opens a tunnel interface: its options checked as OVS checks them, its vport shared, and
   * its receive configuration registered (a duplicate of another tunnel's is refused).
   */
  private openTunnel(rb: RunningBridge, st: InterfaceState, type: TunnelType, iface: InterfaceConfig, vlan: PortVlanConfig): void {
    let config: TunnelConfig;
    let dpPort: number;
    try {
      config = parseTunnelOptions(iface.name, type, iface.options);
      dpPort = st.dpPort = this.vports.acquire(iface.name, config);
    } catch (e) {
      st.error = openError(iface.name, e as Error);
      return;
    }
    st.tunnel = config;
    st.tunnelOptions = Object.keys(iface.options).sort().map((k) => `${k}=${iface.options[k]!}`).join(', ');
    st.mac = emulatedMac(iface.name);
    const ofport = allocateOfport(rb, iface.ofportRequest);
    this.attach(rb, st, ofport, `${type} tunnel ${iface.name}`, {
      addToBridge: () => {
        this.of.tunnels.add({ name: iface.name, bridge: st.bridge, ofport, dpPort, config });
        rb.xb.addPort({ ofport, dpPort, name: iface.name, vlan, tunnel: config });
      },
      attached: () => this.of.tunnelsChanged(dpPort),
    });
  }

  /**
   * The tail every interface shares once its datapath port is open: the bridge takes it on
   * `ofport` (if that throws, the port is closed again and the interface keeps the error), the
   * ofport is recorded, the datapath side is told, and the log names `what` was added.
   */
  private attach(rb: RunningBridge, st: InterfaceState, ofport: number, what: string, steps: { addToBridge: () => void; attached: () => void }): void {
    try {
      steps.addToBridge();
    } catch (e) {
      st.error = (e as Error).message;
      this.removePort(st);
      return;
    }
    rb.ofports.add(ofport);
    st.ofport = ofport;
    steps.attached();
    log.info(`${st.bridge}: added ${what} on port ${ofport}`);
  }

  /** The kind of datapath port that carries an interface of `type`. */
  private carrierOf(type: string): PortType {
    switch (type) {
      case 'patch':
        return 'patch';
      case 'dummy':
        if (this.dummyMode === 'off') throw new Error('interface type "dummy" needs tvs-vswitchd --enable-dummy');
        return 'dummy';
      case 'system':
      case 'internal':
      case 'tap':
        if (this.dummyMode === 'override') return 'dummy';
        return type === 'system' ? 'system' : 'tap';
      default:
        throw new Error(`unsupported interface type "${type}" (supported: ${ifaceTypes(this.dummyMode).join(', ')})`);
    }
  }

  /** Opens the datapath port that carries `iface`; returns its number. */
  private openPort(st: InterfaceState, iface: InterfaceConfig): number {
    const dp = this.of.datapath;
    const carrier = (st.carrier = this.carrierOf(st.type));
    switch (carrier) {
      case 'system':
        return dp.addPort({ type: 'system', name: iface.name }).port;
      case 'tap':
        return dp.addPort({
          type: 'tap',
          name: iface.name,
          ...(iface.mtuRequest ? { mtu: iface.mtuRequest } : {}),
          ...(iface.mac ? { mac: iface.mac } : {}),
        }).port;
      case 'dummy': {
        const port = this.dummies.openInterface(iface.name, iface.options);
        Object.assign(st, { mac: iface.mac ?? emulatedMac(iface.name), mtu: iface.mtuRequest ?? DUMMY_MTU });
        return port;
      }
      case 'patch': {
        const peer = patchPeer(iface);
        const port = dp.addPort({ type: 'patch', name: iface.name, peer }).port;
        Object.assign(st, { mac: emulatedMac(iface.name), peer });
        return port;
      }
    }
  }

  /** Removes `st`'s datapath port, if it has one. */
  private removePort(st: InterfaceState): void {
    if (st.dpPort === undefined) return;
    if (st.tunnel) {
      this.of.tunnels.remove(st.name);
      this.vports.release(st.name);
      this.of.tunnelsChanged(st.dpPort);
      delete st.dpPort;
      return;
    }
    this.of.detachPort(st.dpPort);
    if (st.carrier === 'dummy') this.dummies.closeInterface(st.name);
    else {
      try {
        this.of.datapath.removePort(st.dpPort);
      } catch {
        // already gone
      }
    }
    delete st.dpPort;
  }

  private closeInterface(st: InterfaceState): void {
    const rb = this.bridges.get(st.bridge);
    if (st.ofport !== undefined && rb) {
      rb.xb.removePort(st.ofport);
      rb.ofports.delete(st.ofport);
    }
    this.removePort(st);
    this.ifaces.delete(st.name);
  }

  /**
   * The status columns of `st`'s Interface row: read from its kernel device,
   * or those of a port with no device (up, no ifindex). Undefined when it
   * is not open or its device is missing.
   */
  deviceStatus(st: InterfaceState): DeviceStatus | undefined {
    if (st.dpPort === undefined) return undefined;
    if (st.carrier === 'dummy' || st.carrier === 'patch' || st.tunnel) {
      return { ifindex: 0, macInUse: st.mac!, ...(st.mtu !== undefined ? { mtu: st.mtu } : {}), adminState: 'up', linkState: 'up' };
    }
    const ifindex = sysfs(st.name, 'ifindex');
    if (ifindex === undefined) return undefined;
    const flags = parseInt(sysfs(st.name, 'flags') ?? '0', 16);
    return {
      ifindex: Number(ifindex),
      macInUse: sysfs(st.name, 'address') ?? '',
      mtu: Number(sysfs(st.name, 'mtu') ?? 0),
      adminState: flags & 1 ? 'up' : 'down',
      linkState: sysfs(st.name, 'carrier') === '1' ? 'up' : 'down',
    };
  }

  /**
   * A tunnel's entries in the Interface status column, as OVS writes them: the host device its
   * remote_ip is routed through and that device's carrier. Undefined for a non-tunnel, and empty
   * for remote_ip=flow or an unroutable remote.
   */
  async tunnelStatus(st: InterfaceState): Promise<Record<string, string> | undefined> {
    const remote = st.tunnel?.remoteIp;
    if (remote === undefined) return undefined;
    const egress = remote === 'flow' ? undefined : await routeLookup(formatUnderlayIp(remote));
    return egress ? { tunnel_egress_iface: egress.dev, tunnel_egress_iface_carrier: carrierOf(egress.dev) } : {};
  }

  /**
   * What Interface.error says of `st`: why it could not be opened, or, for
   * a patch port, why frames sent into it go nowhere (its peer is missing,
   * or is not a patch port naming it back).
   */
  interfaceError(st: InterfaceState): string | undefined {
    if (st.error || st.peer === undefined) return st.error;
    const peer = this.ifaces.get(st.peer);
    const fix = `a patch interface ${st.peer} with options:peer=${st.name}`;
    if (!peer) return `${st.name}: patch peer ${st.peer} does not exist (add ${fix})`;
    if (peer.type !== 'patch') return `${st.name}: patch peer ${st.peer} is not a patch interface but of type ${peer.type} (make it ${fix})`;
    if (peer.peer !== undefined && peer.peer !== st.name) return `${st.name}: patch peer ${st.peer} names ${peer.peer} as its peer, not ${st.name} (set options:peer=${st.name} on ${st.peer})`;
    return undefined;
  }

  private async destroyBridge(name: string): Promise<void> {
    for (const st of [...this.ifaces.values()]) if (st.bridge === name) this.closeInterface(st);
    const rb = this.bridges.get(name);
    if (rb) {
      this.sflows.stop(rb.xb);
      this.netflows.forget(rb.xb);
      this.ipfixes.forget(rb.xb);
    }
    rb?.connmgr.close();
    this.of.removeBridge(name);
    this.bridges.delete(name);
    log.info(`${name}: deleted bridge`);
  }

  /** Close everything (daemon exit). */
  async closeAll(): Promise<void> {
    for (const name of [...this.bridges.keys()]) await this.destroyBridge(name);
    this.ipfixes.close();
  }
}

function allocateOfport(rb: RunningBridge, requested: number | undefined): number {
  if (requested !== undefined && !rb.ofports.has(requested)) return requested;
  let n = 1;
  while (rb.ofports.has(n)) n++;
  return n;
}

/** A patch interface's peer, refused in OVS's words (and with the fix) when its options are wrong. */
function patchPeer(iface: InterfaceConfig): string {
  const peer = iface.options.peer;
  if (!peer) throw new InterfaceConfigError(`${iface.name}: patch type requires valid 'peer' argument (set options:peer to the name of the patch interface at the other end)`);
  if (Object.keys(iface.options).length > 1) throw new InterfaceConfigError(`${iface.name}: patch type takes only a 'peer' argument (remove the other options)`);
  if (peer === iface.name) throw new InterfaceConfigError(`${iface.name}: patch peer must not be self (name the patch interface at the other end)`);
  return peer;
}

/** Interface.error in OVS's words where OVS has them. */
function openError(name: string, e: Error): string {
  if (e instanceof InterfaceConfigError || e instanceof TunnelConfigError) return e.message;
  if (/no such network device/.test(e.message)) return `could not open network device ${name} (No such device)`;
  return `could not open network device ${name} (${e.message})`;
}
