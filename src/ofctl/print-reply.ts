/**
 * A whole multipart reply as ovs-ofctl prints it, whatever its kind: one place that knows which
 * printer each kind of reply goes to.
 */
import type { MultipartReply } from '../openflow/messages.js';
import { formatGroupDescReply, formatGroupStatsReply, formatMeterConfigReply, formatMeterStatsReply } from './print-groups.js';
import { formatPortDescReply, formatPortStatsReply, formatQueueConfigReply, formatQueueStatsReply } from './print-ports.js';
import { formatAggregateReply, formatDescReply, formatFlowStatsReply, formatTableStatsReply } from './print-stats.js';
import { title } from './print-common.js';
import { formatFlowMonitorReply } from './print-monitor.js';
import { formatGroupFeaturesReply, formatTableDescReply, formatTableFeatures } from './print-tables.js';

/** `nicira`: the reply answers a Nicira request (NXST_FLOW, NXST_AGGREGATE on OpenFlow 1.0 with NXM). */
export function formatMultipartReply(r: MultipartReply, version: number, xid: number, nicira = false): string {
  switch (r.kind) {
    case 'desc':
      return formatDescReply(r.desc, version, xid);
    case 'flow':
      return formatFlowStatsReply(r.flows, version, xid, nicira);
    case 'aggregate':
      return formatAggregateReply(r, version, xid, nicira);
    case 'table':
      return formatTableStatsReply(r.tables, version, xid);
    case 'port':
      return formatPortStatsReply(r.ports, version, xid);
    case 'port_desc':
      return formatPortDescReply(r.ports, version, xid);
    case 'queue':
      return formatQueueStatsReply(r.queues, version, xid);
    case 'queue_desc':
      return formatQueueConfigReply('OFPST_QUEUE_DESC reply', r.queues, version, xid);
    case 'group':
      return formatGroupStatsReply(r.groups, version, xid);
    case 'group_desc':
      return formatGroupDescReply(r.groups, version, xid);
    case 'meter':
      return formatMeterStatsReply(r.meters, version, xid);
    case 'meter_config':
      return formatMeterConfigReply(r.meters, version, xid);
    case 'flow_monitor':
      return formatFlowMonitorReply(r.updates, version, xid);
    case 'table_features':
      return `${title('OFPST_TABLE_FEATURES reply', version, xid)}${formatTableFeatures(r.tables)}`;
    case 'table_desc':
      return formatTableDescReply(r.tables, version, xid);
    case 'group_features':
      return formatGroupFeaturesReply(r, version, xid);
    case 'meter_features':
      // Not printed in detail yet: the title says what came back.
      return `${title(`OFPST_${r.kind.toUpperCase()} reply`, version, xid)}\n`;
  }
}
