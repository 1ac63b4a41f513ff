// Brings the running switch in line with the database: bridges, their
// ports and interfaces opened in the datapath, VLAN settings, and the
// settings OVS users put in other_config. Idempotent: running it again with
// the same configuration changes nothing, and an interface that failed to
// open (its device missing) is retried on every pass.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import { OFPP } from '../ofproto/actions.js';
import { XBridge } from '../ofproto/xbridge.js';
import type { PortVlanConfig } from '../ofproto/vlan.js';
import { getLogger } from '../lib/log.js';
import { run } from '../lib/netns.js';
import { Controllers, type ControllerStatus } from './controllers.js';
import type { BridgeConfig, InterfaceConfig, PortConfig, SwitchConfig } from './db-config.js';

const log = getLogger('bridge');

/** The interface types this switch implements, as Open_vSwitch.iface_types lists them. */
export const IFACE_TYPES = ['internal', 'patch', 'system', 'tap'];

/** What the switch made of one Interface row. */
export interface InterfaceState {
  uuid: string;
  name: string;
  bridge: string;
  port: string;
  type: string;
  /** The kernel device carrying it, in this namespace (a patch port's veth end). */
  device: string;
  dpPort?: number;
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
  controllers: Controllers;
  /** other_config:datapath-id as given, if valid (16 hex digits). */
  datapathId?: string;
}

export interface BridgeStatus {
  uuid: string;
  /** 16 hex digits: other_config:datapath-id, or derived from the internal port's MAC as OVS does. */
  datapathId: string;
  controllers: ControllerStatus[];
}

const sysfs = (dev: string, attr: string): string | undefined => {
  try {
    return readFileSync(`/sys/class/net/${dev}/${attr}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Names of the veth pair that implements a patch port pair (IFNAMSIZ-safe, stable). */
function patchVeth(a: string, b: string): [mine: string, peer: string] {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const h = createHash('sha1').update(`${lo}\0${hi}`).digest('hex').slice(0, 8);
  const names: [string, string] = [`tvp${h}a`, `tvp${h}b`];
  return a === lo ? names : [names[1], names[0]];
}

export class Reconciler {
  private readonly bridges = new Map<string, RunningBridge>();
  private readonly ifaces = new Map<string, InterfaceState>();

  constructor(private readonly of: OfprotoDpif) {}

  interfaces(): InterfaceState[] {
    return [...this.ifaces.values()];
  }

  bridgeNames(): string[] {
    return [...this.bridges.keys()];
  }

  bridgeStatus(): BridgeStatus[] {
    return [...this.bridges].map(([name, rb]) => {
      const mac = (sysfs(name, 'address') ?? '00:00:00:00:00:00').replace(/:/g, '');
      return { uuid: rb.uuid, datapathId: rb.datapathId ?? `0000${mac}`, controllers: rb.controllers.status() };
    });
  }

  async apply(config: SwitchConfig): Promise<void> {
    // OVS's keys and defaults; a key removed (or invalid) means its default.
    const setting = (key: string, valid: (n: number) => boolean, fallback: number) => {
      const n = Number(config.otherConfig[key] ?? NaN);
      return Number.isInteger(n) && valid(n) ? n : fallback;
    };
    this.of.datapath.configure({
      flowLimit: setting('flow-limit', (n) => n > 0, 200_000),
      maxIdleMs: setting('max-idle', (n) => n > 0, 10_000),
      // 0 turns insertion into the exact-match cache off; N inserts 1 hit in N.
      emcInsertInvProb: setting('emc-insert-inv-prob', (n) => n >= 0 && n <= 0xffffffff, 100),
    });
    const wanted = new Map(config.bridges.map((b) => [b.name, b]));
    for (const name of [...this.bridges.keys()]) if (!wanted.has(name)) await this.destroyBridge(name);
    for (const b of config.bridges) await this.applyBridge(b);
  }

  private bridge(cfg: BridgeConfig): RunningBridge {
    let rb = this.bridges.get(cfg.name);
    if (!rb) {
      // In secure fail mode a bridge starts with an empty flow table, as in
      // OVS: only a controller (or ovs-ofctl) puts flows there.
      const xb = new XBridge({ name: cfg.name, defaultRule: cfg.failMode !== 'secure' });
      rb = { uuid: cfg.uuid, xb, ofports: new Set(), controllers: new Controllers() };
      this.bridges.set(cfg.name, rb);
      this.of.addBridge(rb.xb);
      log.info(`${cfg.name}: added bridge`);
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
    const rb = this.bridge(cfg);
    await rb.controllers.apply(cfg.controllers);
    const wanted = new Set<string>();
    for (const port of cfg.ports) {
      const [first, ...extra] = port.interfaces;
      if (!first) continue;
      wanted.add(first.name);
      await this.applyInterface(cfg, rb, port, first);
      for (const iface of extra) {
        wanted.add(iface.name);
        this.ifaces.set(iface.name, {
          uuid: iface.uuid, name: iface.name, bridge: cfg.name, port: port.name, type: iface.type || 'system', device: iface.name,
          error: `port ${port.name} has more than one interface: bonds are not supported`, applied: '', vlan: '',
        });
      }
    }
    for (const st of [...this.ifaces.values()]) {
      if (st.bridge === cfg.name && !wanted.has(st.name)) await this.closeInterface(st);
    }
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
    if (old) await this.closeInterface(old);
    const type = iface.type || 'system';
    const st: InterfaceState = { uuid: iface.uuid, name: iface.name, bridge: b.name, port: port.name, type, device: iface.name, applied, vlan: vlanText };
    this.ifaces.set(iface.name, st);
    try {
      st.dpPort = await this.openDevice(st, iface);
    } catch (e) {
      st.error = openError(iface.name, e as Error);
      if (st.error !== previousError) log.warn(`${b.name}: ${st.error}`);
      return;
    }
    const ofport = iface.name === b.name && type === 'internal' ? OFPP.LOCAL : allocateOfport(rb, iface.ofportRequest);
    try {
      rb.xb.addPort({ ofport, dpPort: st.dpPort, name: iface.name, vlan });
    } catch (e) {
      st.error = (e as Error).message;
      this.of.datapath.removePort(st.dpPort);
      delete st.dpPort;
      return;
    }
    rb.ofports.add(ofport);
    st.ofport = ofport;
    this.of.attachPort(rb.xb, st.dpPort);
    log.info(`${b.name}: added interface ${iface.name} on port ${ofport}`);
  }

  private async openDevice(st: InterfaceState, iface: InterfaceConfig): Promise<number> {
    const dp = this.of.datapath;
    switch (st.type) {
      case 'system':
        return dp.addPort({ type: 'system', name: iface.name }).port;
      case 'internal':
      case 'tap':
        return dp.addPort({
          type: 'tap',
          name: iface.name,
          ...(iface.mtuRequest ? { mtu: iface.mtuRequest } : {}),
          ...(iface.mac ? { mac: iface.mac } : {}),
        }).port;
      case 'patch': {
        const peer = iface.options.peer;
        if (!peer) throw new Error('patch interface needs options:peer (the name of the peer patch interface)');
        const [mine, other] = patchVeth(iface.name, peer);
        if (!sysfs(mine, 'ifindex')) {
          await run('ip', ['link', 'add', mine, 'type', 'veth', 'peer', 'name', other]);
          await run('ip', ['link', 'set', other, 'up']);
        }
        st.device = mine;
        return dp.addPort({ type: 'system', name: mine }).port;
      }
      default:
        throw new Error(`unsupported interface type "${st.type}" (supported: ${IFACE_TYPES.join(', ')})`);
    }
  }

  private async closeInterface(st: InterfaceState): Promise<void> {
    const rb = this.bridges.get(st.bridge);
    if (st.ofport !== undefined && rb) {
      rb.xb.removePort(st.ofport);
      rb.ofports.delete(st.ofport);
    }
    if (st.dpPort !== undefined) {
      this.of.detachPort(st.dpPort);
      try {
        this.of.datapath.removePort(st.dpPort);
      } catch {
        // already gone
      }
    }
    if (st.type === 'patch' && st.device.startsWith('tvp')) {
      // The pair goes when neither end is in use.
      const other = st.device.slice(0, -1) + (st.device.endsWith('a') ? 'b' : 'a');
      if (![...this.ifaces.values()].some((o) => o !== st && o.device === other && o.dpPort !== undefined)) {
        await run('ip', ['link', 'del', st.device]).catch(() => undefined);
      }
    }
    this.ifaces.delete(st.name);
  }

  private async destroyBridge(name: string): Promise<void> {
    for (const st of [...this.ifaces.values()]) if (st.bridge === name) await this.closeInterface(st);
    this.bridges.get(name)?.controllers.closeAll();
    this.of.removeBridge(name);
    this.bridges.delete(name);
    log.info(`${name}: deleted bridge`);
  }

  /** Close everything (daemon exit). */
  async closeAll(): Promise<void> {
    for (const name of [...this.bridges.keys()]) await this.destroyBridge(name);
  }
}

function allocateOfport(rb: RunningBridge, requested: number | undefined): number {
  if (requested !== undefined && !rb.ofports.has(requested)) return requested;
  let n = 1;
  while (rb.ofports.has(n)) n++;
  return n;
}

/** Interface.error in OVS's words where OVS has them. */
function openError(name: string, e: Error): string {
  if (/no such network device/.test(e.message)) return `could not open network device ${name} (No such device)`;
  return `could not open network device ${name} (${e.message})`;
}

export { sysfs };
