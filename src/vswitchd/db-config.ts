// The switch configuration as the Open_vSwitch database describes it, read
// out of a monitored replica into plain objects the reconciler can compare.
import type { TlsFiles } from '../lib/tls.js';
import type { Datum } from '../ovsdb/datum.js';
import type { Replica, ReplicaRow } from '../ovsdb/replica.js';
import type { VlanMode } from '../ofproto/vlan.js';

export interface InterfaceConfig {
  uuid: string;
  name: string;
  /** "" (system), "internal", "tap", "patch". */
  type: string;
  options: Record<string, string>;
  ofportRequest?: number;
  mtuRequest?: number;
  mac?: string;
}

export interface PortConfig {
  uuid: string;
  name: string;
  tag?: number;
  trunks: number[];
  vlanMode?: VlanMode;
  interfaces: InterfaceConfig[];
}

export interface ControllerConfig {
  uuid: string;
  target: string;
  /** ms; OVS's defaults (8 s, 5 s) apply when absent. */
  maxBackoff?: number;
  inactivityProbe?: number;
  /** Packet-ins per second, and the burst above it (controller_rate_limit, controller_burst_limit). */
  rateLimit?: number;
  burstLimit?: number;
  /** For ssl: and pssl: targets, the SSL table's key, certificate and CA (none without an SSL row). */
  tls?: TlsFiles;
}

/** A Mirror row, its port references read as Port names (references to deleted ports dropped). */
export interface MirrorConfig {
  uuid: string;
  name: string;
  selectAll: boolean;
  selectSrcPorts: string[];
  selectDstPorts: string[];
  selectVlans: number[];
  outputPort?: string;
  outputVlan?: number;
  snaplen?: number;
}

/** An sFlow row, as written (defaults are sflow-config.ts's). */
export interface SflowConfig {
  uuid: string;
  agent?: string;
  targets: string[];
  sampling?: number;
  polling?: number;
  header?: number;
}

/** A NetFlow row (optional columns absent when unset). */
export interface NetflowConfig {
  targets: string[];
  /** Seconds; 0 asks for the default, -1 turns active timeouts off. */
  activeTimeout: number;
  engineType?: number;
  engineId?: number;
  addIdToInterface: boolean;
}

/** An IPFIX row (optional columns absent when unset). */
export interface IpfixConfig {
  targets: string[];
  sampling?: number;
  obsDomainId?: number;
  obsPointId?: number;
  cacheActiveTimeout?: number;
  cacheMaxFlows?: number;
  /** other_config keys set (TVS implements none of them). */
  otherConfigKeys: string[];
}

/** A Flow_Sample_Collector_Set row of a bridge: the exporter OpenFlow sample actions with its id use. */
export interface CollectorSetConfig {
  id: number;
  ipfix?: IpfixConfig;
}

export interface BridgeConfig {
  uuid: string;
  name: string;
  failMode?: string;
  otherConfig: Record<string, string>;
  controllers: ControllerConfig[];
  ports: PortConfig[];
  mirrors: MirrorConfig[];
  sflow?: SflowConfig;
  netflow?: NetflowConfig;
  ipfix?: IpfixConfig;
  collectorSets: CollectorSetConfig[];
}

export interface SwitchConfig {
  uuid: string;
  nextCfg: number;
  otherConfig: Record<string, string>;
  bridges: BridgeConfig[];
  /** The SSL row's files, for ssl:/pssl: controllers and managers. */
  ssl?: TlsFiles;
  /** The Manager rows' targets (manager_options). */
  managers: string[];
}

/** The monitored columns, per table. */
export const MONITORED: Record<string, string[]> = {
  Open_vSwitch: ['bridges', 'next_cfg', 'cur_cfg', 'other_config', 'ssl', 'manager_options'],
  Bridge: ['name', 'ports', 'controller', 'fail_mode', 'other_config', 'datapath_type', 'mirrors', 'sflow', 'netflow', 'ipfix'],
  Port: ['name', 'interfaces', 'tag', 'trunks', 'vlan_mode'],
  Interface: ['name', 'type', 'options', 'ofport_request', 'mtu_request', 'mac', 'ofport'],
  Mirror: ['name', 'select_all', 'select_src_port', 'select_dst_port', 'select_vlan', 'output_port', 'output_vlan', 'snaplen'],
  sFlow: ['agent', 'targets', 'sampling', 'polling', 'header'],
  NetFlow: ['targets', 'active_timeout', 'engine_type', 'engine_id', 'add_id_to_interface'],
  IPFIX: ['targets', 'sampling', 'obs_domain_id', 'obs_point_id', 'cache_active_timeout', 'cache_max_flows', 'other_config'],
  Flow_Sample_Collector_Set: ['id', 'bridge', 'ipfix'],
  Controller: ['target', 'max_backoff', 'inactivity_probe', 'controller_rate_limit', 'controller_burst_limit'],
  SSL: ['private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert'],
  Manager: ['target'],
};

// A column's atoms have the type its schema gives it; an optional column (at most one value) reads as that type or undefined.
const oneString = (d: Datum): string | undefined => d.keys[0] as string | undefined;
const oneNumber = (d: Datum): number | undefined => d.keys[0] as number | undefined;
const all = <T>(d: Datum): T[] => d.keys as T[];
const map = (d: Datum): Record<string, string> => Object.fromEntries(d.keys.map((k, i) => [String(k), String(d.values![i])]));

function rowsOf(replica: Replica, table: string, uuids: string[]): ReplicaRow[] {
  return uuids.map((u) => replica.row(table, u)).filter((r): r is ReplicaRow => r !== undefined);
}

function readInterface(r: ReplicaRow): InterfaceConfig {
  const cfg: InterfaceConfig = {
    uuid: r.uuid,
    name: oneString(r.get('name')) ?? '',
    type: oneString(r.get('type')) ?? '',
    options: map(r.get('options')),
  };
  const ofportRequest = oneNumber(r.get('ofport_request'));
  if (ofportRequest !== undefined) cfg.ofportRequest = ofportRequest;
  const mtu = oneNumber(r.get('mtu_request'));
  if (mtu !== undefined) cfg.mtuRequest = mtu;
  const mac = oneString(r.get('mac'));
  if (mac !== undefined) cfg.mac = mac;
  return cfg;
}

function readPort(replica: Replica, r: ReplicaRow): PortConfig {
  const cfg: PortConfig = {
    uuid: r.uuid,
    name: oneString(r.get('name')) ?? '',
    trunks: [...all<number>(r.get('trunks'))].sort((a, b) => a - b),
    interfaces: rowsOf(replica, 'Interface', all<string>(r.get('interfaces'))).map(readInterface),
  };
  const tag = oneNumber(r.get('tag'));
  if (tag !== undefined) cfg.tag = tag;
  const mode = oneString(r.get('vlan_mode')) as VlanMode | undefined;
  if (mode !== undefined) cfg.vlanMode = mode;
  return cfg;
}

function readController(r: ReplicaRow, ssl: TlsFiles | undefined): ControllerConfig {
  const cfg: ControllerConfig = { uuid: r.uuid, target: oneString(r.get('target')) ?? '' };
  if (ssl && /^p?ssl:/.test(cfg.target)) cfg.tls = ssl;
  const maxBackoff = oneNumber(r.get('max_backoff'));
  if (maxBackoff !== undefined) cfg.maxBackoff = maxBackoff;
  const probe = oneNumber(r.get('inactivity_probe'));
  if (probe !== undefined) cfg.inactivityProbe = probe;
  const rate = oneNumber(r.get('controller_rate_limit'));
  if (rate !== undefined) cfg.rateLimit = rate;
  const burst = oneNumber(r.get('controller_burst_limit'));
  if (burst !== undefined) cfg.burstLimit = burst;
  return cfg;
}

function readMirror(replica: Replica, r: ReplicaRow): MirrorConfig {
  const portNames = (column: string) => rowsOf(replica, 'Port', all<string>(r.get(column))).map((p) => oneString(p.get('name')) ?? '');
  const cfg: MirrorConfig = {
    uuid: r.uuid,
    name: oneString(r.get('name')) ?? '',
    selectAll: r.get('select_all').keys[0] === true,
    selectSrcPorts: portNames('select_src_port'),
    selectDstPorts: portNames('select_dst_port'),
    selectVlans: [...all<number>(r.get('select_vlan'))].sort((a, b) => a - b),
  };
  const [outputPort] = portNames('output_port');
  if (outputPort !== undefined) cfg.outputPort = outputPort;
  const outputVlan = oneNumber(r.get('output_vlan'));
  if (outputVlan !== undefined) cfg.outputVlan = outputVlan;
  const snaplen = oneNumber(r.get('snaplen'));
  if (snaplen !== undefined) cfg.snaplen = snaplen;
  return cfg;
}

function readSflow(r: ReplicaRow): SflowConfig {
  const cfg: SflowConfig = { uuid: r.uuid, targets: [...all<string>(r.get('targets'))].sort() };
  const agent = oneString(r.get('agent'));
  if (agent !== undefined) cfg.agent = agent;
  for (const k of ['sampling', 'polling', 'header'] as const) {
    const v = oneNumber(r.get(k));
    if (v !== undefined) cfg[k] = v;
  }
  return cfg;
}

function readNetflow(r: ReplicaRow): NetflowConfig {
  const cfg: NetflowConfig = {
    targets: [...all<string>(r.get('targets'))].sort(),
    activeTimeout: oneNumber(r.get('active_timeout')) ?? 0,
    addIdToInterface: r.get('add_id_to_interface').keys[0] === true,
  };
  const engineType = oneNumber(r.get('engine_type'));
  if (engineType !== undefined) cfg.engineType = engineType;
  const engineId = oneNumber(r.get('engine_id'));
  if (engineId !== undefined) cfg.engineId = engineId;
  return cfg;
}

function readIpfix(r: ReplicaRow): IpfixConfig {
  const cfg: IpfixConfig = { targets: [...all<string>(r.get('targets'))].sort(), otherConfigKeys: Object.keys(map(r.get('other_config'))).sort() };
  const optional = { sampling: 'sampling', obsDomainId: 'obs_domain_id', obsPointId: 'obs_point_id', cacheActiveTimeout: 'cache_active_timeout', cacheMaxFlows: 'cache_max_flows' } as const;
  for (const [key, column] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const v = oneNumber(r.get(column));
    if (v !== undefined) cfg[key] = v;
  }
  return cfg;
}

function readCollectorSets(replica: Replica, bridge: string): CollectorSetConfig[] {
  return replica
    .rows('Flow_Sample_Collector_Set')
    .filter((r) => oneString(r.get('bridge')) === bridge)
    .map((r) => {
      const [ipfix] = rowsOf(replica, 'IPFIX', all<string>(r.get('ipfix')));
      return { id: oneNumber(r.get('id')) ?? 0, ...(ipfix ? { ipfix: readIpfix(ipfix) } : {}) };
    })
    .sort((a, b) => a.id - b.id);
}

function readBridge(replica: Replica, r: ReplicaRow, ssl: TlsFiles | undefined): BridgeConfig {
  const cfg: BridgeConfig = {
    uuid: r.uuid,
    name: oneString(r.get('name')) ?? '',
    otherConfig: map(r.get('other_config')),
    controllers: rowsOf(replica, 'Controller', all<string>(r.get('controller'))).map((c) => readController(c, ssl)),
    ports: rowsOf(replica, 'Port', all<string>(r.get('ports'))).map((p) => readPort(replica, p)),
    mirrors: rowsOf(replica, 'Mirror', all<string>(r.get('mirrors'))).map((m) => readMirror(replica, m)),
    collectorSets: readCollectorSets(replica, r.uuid),
  };
  const failMode = oneString(r.get('fail_mode'));
  if (failMode !== undefined) cfg.failMode = failMode;
  const [sflow] = rowsOf(replica, 'sFlow', all<string>(r.get('sflow')));
  if (sflow) cfg.sflow = readSflow(sflow);
  const [netflow] = rowsOf(replica, 'NetFlow', all<string>(r.get('netflow')));
  if (netflow) cfg.netflow = readNetflow(netflow);
  const [ipfix] = rowsOf(replica, 'IPFIX', all<string>(r.get('ipfix')));
  if (ipfix) cfg.ipfix = readIpfix(ipfix);
  return cfg;
}

/** The configuration, or undefined while the database has no Open_vSwitch row yet. */
export function readConfig(replica: Replica): SwitchConfig | undefined {
  const root = replica.rows('Open_vSwitch')[0];
  if (!root) return undefined;
  const [sslRow] = rowsOf(replica, 'SSL', all<string>(root.get('ssl')));
  const ssl = sslRow && readSsl(sslRow);
  const cfg: SwitchConfig = {
    uuid: root.uuid,
    nextCfg: oneNumber(root.get('next_cfg')) ?? 0,
    otherConfig: map(root.get('other_config')),
    bridges: rowsOf(replica, 'Bridge', all<string>(root.get('bridges'))).map((b) => readBridge(replica, b, ssl)),
    managers: rowsOf(replica, 'Manager', all<string>(root.get('manager_options'))).map((m) => oneString(m.get('target')) ?? ''),
  };
  if (ssl) cfg.ssl = ssl;
  return cfg;
}

/** The SSL row as TLS files: bootstrap_ca_cert=true makes ca_cert a file to learn on first connection. */
function readSsl(r: ReplicaRow): TlsFiles {
  return {
    privateKey: oneString(r.get('private_key')) ?? '',
    certificate: oneString(r.get('certificate')) ?? '',
    caCert: oneString(r.get('ca_cert')) ?? '',
    bootstrap: r.get('bootstrap_ca_cert').keys[0] === true,
  };
}

/** An RFC 7047 string map, for writing. */
export function wireMap(m: Record<string, string | number>): unknown {
  return ['map', Object.entries(m).map(([k, v]) => [k, v])];
}

/** An optional scalar column (a set of 0 or 1), for writing. */
export function wireOptional(v: string | number | undefined): unknown {
  return v === undefined ? ['set', []] : v;
}
