// A metrics snapshot in the Prometheus text exposition format, version
// 0.0.4: per family a HELP and a TYPE line, then its samples. Names carry
// the tvs_ prefix, counters end in _total, durations are in seconds.
import type { HistogramSnapshot } from '../lib/histogram.js';
import type { InterfaceMetrics, SwitchMetrics } from './metrics.js';

/** The Content-Type a scraper expects for this format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}\n`;
}

class Exposition {
  text = '';

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  }

  add(name: string, labels: Labels, value: number): void {
    this.text += sample(name, labels, value);
  }

  histogram(name: string, labels: Labels, h: HistogramSnapshot): void {
    for (const b of h.buckets) this.add(`${name}_bucket`, { ...labels, le: formatValue(b.le) }, b.count);
    this.add(`${name}_bucket`, { ...labels, le: '+Inf' }, h.count);
    this.add(`${name}_sum`, labels, h.sum);
    this.add(`${name}_count`, labels, h.count);
  }
}

type InterfaceCounter = Exclude<keyof InterfaceMetrics, 'bridge' | 'port' | 'interface'>;

/** Interface counters: metric name suffix, the field, and what it counts. */
const INTERFACE_COUNTERS: [string, InterfaceCounter, string][] = [
  ['rx_packets', 'rxPackets', 'Packets received on the interface.'],
  ['rx_bytes', 'rxBytes', 'Bytes received on the interface.'],
  ['rx_dropped', 'rxDropped', 'Packets received on the interface and dropped before switching (queue full, port down).'],
  ['rx_errors', 'rxErrors', 'Receive errors on the interface.'],
  ['tx_packets', 'txPackets', 'Packets sent on the interface.'],
  ['tx_bytes', 'txBytes', 'Bytes sent on the interface.'],
  ['tx_dropped', 'txDropped', 'Packets the switch meant to send on the interface but dropped.'],
  ['tx_errors', 'txErrors', 'Transmit errors on the interface.'],
];

/** The Prometheus text of a snapshot. */
export function renderPrometheus(m: SwitchMetrics): string {
  const out = new Exposition();
  for (const [suffix, field, help] of INTERFACE_COUNTERS) {
    const name = `tvs_interface_${suffix}_total`;
    out.family(name, 'counter', help);
    for (const i of m.interfaces) out.add(name, { bridge: i.bridge, port: i.port, interface: i.interface }, i[field]);
  }

  const dp = m.datapath;
  const datapath: [string, 'counter' | 'gauge', string, number][] = [
    ['tvs_datapath_hits_total', 'counter', 'Packets that matched a flow in the datapath.', dp.hits],
    ['tvs_datapath_misses_total', 'counter', 'Packets that matched no datapath flow and went to the slow path.', dp.misses],
    ['tvs_datapath_lost_total', 'counter', 'Missed packets neither passed to the slow path nor held (upcall queue full, or no answer in time).', dp.lost],
    ['tvs_datapath_upcalls_total', 'counter', 'Upcalls queued to the slow path.', dp.upcalls],
    ['tvs_datapath_flows', 'gauge', 'Flows (megaflows) in the datapath.', dp.flows],
    ['tvs_datapath_masks', 'gauge', 'Distinct megaflow masks in the datapath.', dp.masks],
  ];
  for (const [name, type, help, value] of datapath) {
    out.family(name, type, help);
    out.add(name, {}, value);
  }

  out.family('tvs_upcall_batch_duration_seconds', 'histogram', 'Time the slow path took to answer a batch of upcalls.');
  out.histogram('tvs_upcall_batch_duration_seconds', {}, m.upcalls.batchLatency);
  out.family('tvs_flow_setups_total', 'counter', 'Datapath flows installed by the slow path in answer to misses.');
  out.add('tvs_flow_setups_total', {}, m.upcalls.flowSetups);

  out.family('tvs_mac_table_entries', 'gauge', 'Entries in the MAC learning table of the bridge.');
  for (const b of m.bridges) out.add('tvs_mac_table_entries', { bridge: b.bridge }, b.macEntries);
  out.family('tvs_mac_moves_total', 'counter', 'Times a learned MAC address was seen on another port of the bridge.');
  for (const b of m.bridges) out.add('tvs_mac_moves_total', { bridge: b.bridge }, b.macMoves);

  if (m.ovsdb) {
    out.family('tvs_ovsdb_transactions_total', 'counter', 'Transactions on the embedded OVSDB database: committed (changed it and written) or failed (answered with an error).');
    out.add('tvs_ovsdb_transactions_total', { result: 'committed' }, m.ovsdb.committed);
    out.add('tvs_ovsdb_transactions_total', { result: 'failed' }, m.ovsdb.failed);
  }

  out.family('tvs_controller_connected', 'gauge', 'Whether the bridge is connected to the OpenFlow controller target (1) or not (0); role is none while disconnected.');
  for (const c of m.controllers) out.add('tvs_controller_connected', { bridge: c.bridge, target: c.target, role: c.role ?? 'none' }, c.connected ? 1 : 0);
  return out.text;
}
