// tvs-ofctl's printers against what Debian's ovs-ofctl 3.1 printed for the same replies from
// ovs-vswitchd (userspace datapath, dummy ports): the expected texts are its output, verbatim.
import { describe, expect, it } from 'vitest';
import { OFP10, OFP13, OFP15, type FlowStats, type PortDesc, type PortStats, type TableStats } from '../../../src/openflow/messages.js';
import { parseFlowMod, parseGroupMod } from '../../../src/openflow/flow-syntax.js';
import { OFPP } from '../../../src/ofproto/actions.js';
import { formatFeaturesReply, formatGetConfigReply, formatPortDescReply, formatPortStatsReply, formatQueueStatsReply } from '../../../src/ofctl/print-ports.js';
import { formatAggregateReply, formatDescReply, formatFlowStatsLine, formatFlowStatsReply, formatTableStatsReply } from '../../../src/ofctl/print-stats.js';
import { formatGroupDescReply, formatGroupStatsReply, formatMeterConfigReply, formatMeterStatsReply } from '../../../src/ofctl/print-groups.js';

function port(portNo: number, name: string, mac: bigint, over: Partial<PortDesc> = {}): PortDesc {
  return { portNo, hwAddr: mac, name, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0, ...over };
}
const PORTS = [port(OFPP.LOCAL, 'br0', 0xae907113c046n), port(2, 'p2', 0xaa55aa55000en), port(1, 'p1', 0xaa55aa55000fn)];

const UNKNOWN = 0xffff_ffff_ffff_ffffn;
function portStats(portNo: number): PortStats {
  return {
    portNo, rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, rxDropped: UNKNOWN, txDropped: UNKNOWN, rxErrors: UNKNOWN, txErrors: UNKNOWN,
    rxFrameErr: UNKNOWN, rxOverErr: UNKNOWN, rxCrcErr: UNKNOWN, collisions: UNKNOWN, durationMs: 4283,
  };
}

function flowStats(text: string, over: Partial<FlowStats> = {}): FlowStats {
  const fm = parseFlowMod(text);
  return {
    tableId: fm.tableId, durationMs: 0, priority: fm.priority, idleTimeout: fm.idleTimeout, hardTimeout: fm.hardTimeout, flags: fm.flags,
    importance: fm.importance, cookie: fm.cookie, packetCount: 0n, byteCount: 0n, idleAgeMs: 0, hardAgeMs: 0, match: fm.match,
    instructions: fm.instructions, ...over,
  };
}

describe('show', () => {
  it('prints an OpenFlow 1.0 features reply with its actions and the ports sorted by number, LOCAL last', () => {
    const text = formatFeaturesReply(
      { type: 'features_reply', datapathId: 0xae907113c046n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0xc7, actions: 0xfff, ports: PORTS },
      OFP10, 2,
    );
    expect(text).toBe(`OFPT_FEATURES_REPLY (xid=0x2): dpid:0000ae907113c046
n_tables:254, n_buffers:0
capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP
actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst
 1(p1): addr:aa:55:aa:55:00:0f
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
 2(p2): addr:aa:55:aa:55:00:0e
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
 LOCAL(br0): addr:ae:90:71:13:c0:46
     config:     0
     state:      0
     speed: 0 Mbps now, 0 Mbps max
`);
  });

  it('prints an OpenFlow 1.3 features reply without actions, GROUP_STATS for bit 3, then the port descriptions', () => {
    const features = formatFeaturesReply(
      { type: 'features_reply', datapathId: 0xae907113c046n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f, actions: 0, ports: [] },
      OFP13, 2,
    );
    expect(features).toBe('OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:0000ae907113c046\nn_tables:254, n_buffers:0\ncapabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS\n');
    const desc = formatPortDescReply([port(1, 'p1', 0xaa55aa55000fn, { config: 1, state: 1 | 4 })], OFP13, 3);
    expect(desc).toBe('OFPST_PORT_DESC reply (OF1.3) (xid=0x3):\n 1(p1): addr:aa:55:aa:55:00:0f\n     config:     PORT_DOWN\n     state:      LINK_DOWN LIVE\n     speed: 0 Mbps now, 0 Mbps max\n');
  });

  it('names the port features and speeds a port reports', () => {
    const desc = formatPortDescReply([port(3, 'eth0', 0x020000000003n, { curr: 0x820, supported: 0x2820, currSpeed: 1_000_000, maxSpeed: 10_000_000 })], OFP15, 7);
    expect(desc).toBe(`OFPST_PORT_DESC reply (OF1.5) (xid=0x7):
 3(eth0): addr:02:00:00:00:00:03
     config:     0
     state:      0
     current:    1GB-FD COPPER
     supported:  1GB-FD COPPER AUTO_NEG
     speed: 1000 Mbps now, 10000 Mbps max
`);
  });

  it('prints the switch config the way show ends', () => {
    expect(formatGetConfigReply({ flags: 0, missSendLen: 0 }, OFP10, 4)).toBe('OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=0\n');
  });
});

describe('dump-ports and queue-stats', () => {
  it('prints counters the switch does not keep as ? and ports in the order of the reply', () => {
    const ports = [portStats(OFPP.LOCAL), portStats(1), portStats(2)];
    expect(formatPortStatsReply(ports, OFP10, 2)).toBe(`OFPST_PORT reply (xid=0x2): 3 ports
  port LOCAL: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
  port  1: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
  port  2: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
`);
  });

  it('adds the duration from OpenFlow 1.3 on', () => {
    expect(formatPortStatsReply([portStats(1)], OFP13, 2)).toBe(`OFPST_PORT reply (OF1.3) (xid=0x2): 1 ports
  port  1: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=0, bytes=0, drop=?, errs=?, coll=?
           duration=4.283s
`);
  });

  it('prints queues with unknown counters and no duration in OpenFlow 1.0', () => {
    const q = (portNo: number) => ({ portNo, queueId: 0, txBytes: UNKNOWN, txPackets: UNKNOWN, txErrors: UNKNOWN, durationMs: 0 });
    expect(formatQueueStatsReply([q(OFPP.LOCAL), q(1)], OFP10, 2)).toBe(`OFPST_QUEUE reply (xid=0x2): 2 queues
  port LOCAL queue 0: bytes=?, pkts=?, errors=?, duration=?
  port 1 queue 0: bytes=?, pkts=?, errors=?, duration=?
`);
  });
});

describe('dump-desc, dump-tables, dump-aggregate', () => {
  it('prints the five description strings', () => {
    expect(formatDescReply({ mfr: 'Nicira, Inc.', hw: 'Open vSwitch', sw: '3.1.0', serial: 'None', dp: 'None' }, OFP10, 2)).toBe(
      'OFPST_DESC reply (xid=0x2):\nManufacturer: Nicira, Inc.\nHardware: Open vSwitch\nSoftware: 3.1.0\nSerial Num: None\nDP Description: None\n',
    );
  });

  const tables = (n: number, active: (id: number) => number): TableStats[] =>
    Array.from({ length: n }, (_, tableId) => ({ tableId, name: '', activeCount: active(tableId), lookupCount: 0n, matchedCount: 0n, maxEntries: 1_000_000 }));

  it('folds tables whose counters repeat into one ditto line (OpenFlow 1.3)', () => {
    expect(formatTableStatsReply(tables(254, (id) => [2, 1][id] ?? 0), OFP13, 2)).toBe(`OFPST_TABLE reply (OF1.3) (xid=0x2):
  table 0:
    active=2, lookup=0, matched=0

  table 1:
    active=1, lookup=0, matched=0

  table 2:
    active=0, lookup=0, matched=0

  tables 3...253: ditto
`);
  });

  it('prints the OpenFlow 1.0 table features once and then "(same features)"', () => {
    expect(formatTableStatsReply(tables(254, (id) => [2, 1][id] ?? 0), OFP10, 2)).toBe(`OFPST_TABLE reply (xid=0x2):
  table 0:
    active=2, lookup=0, matched=0
    max_entries=1000000
    matching:
      exact match or wildcard: in_port eth_{src,dst,type} vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}

  table 1:
    active=1, lookup=0, matched=0
    (same features)

  table 2:
    active=0, lookup=0, matched=0
    (same features)

  tables 3...253: ditto
`);
  });

  it('titles the aggregate Nicira or OpenFlow as the connection asked for it', () => {
    const agg = { packetCount: 0n, byteCount: 0n, flowCount: 3 };
    expect(formatAggregateReply(agg, OFP10, 4, true)).toBe('NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=3\n');
    expect(formatAggregateReply(agg, OFP13, 2, false)).toBe('OFPST_AGGREGATE reply (OF1.3) (xid=0x2): packet_count=0 byte_count=0 flow_count=3\n');
  });
});

describe('dump-flows', () => {
  it('prints Nicira flow stats with idle_age before the match', () => {
    const flows = [
      flowStats('priority=100,ip,nw_dst=10.0.0.1,actions=output:2', { durationMs: 112 }),
      flowStats('priority=0,actions=NORMAL', { durationMs: 4178, idleAgeMs: 4178, hardAgeMs: 4178 }),
      flowStats('table=1,reg0=5,actions=drop', { durationMs: 94 }),
    ];
    expect(formatFlowStatsReply(flows, OFP10, 4, true)).toBe(`NXST_FLOW reply (xid=0x4):
 cookie=0x0, duration=0.112s, table=0, n_packets=0, n_bytes=0, idle_age=0, priority=100,ip,nw_dst=10.0.0.1 actions=output:2
 cookie=0x0, duration=4.178s, table=0, n_packets=0, n_bytes=0, idle_age=4, priority=0 actions=NORMAL
 cookie=0x0, duration=0.094s, table=1, n_packets=0, n_bytes=0, idle_age=0, reg0=0x5 actions=drop
`);
  });

  it('puts the ages after timeouts and flags, and hard_age only when it differs from the duration', () => {
    const f = flowStats('idle_timeout=60,send_flow_rem,priority=1,in_port=2,actions=output:1', { durationMs: 9000, idleAgeMs: 2500, hardAgeMs: 3000, packetCount: 1n, byteCount: 98n });
    expect(formatFlowStatsLine(f, { stats: true, ages: 'idle+hard' })).toBe(
      ' cookie=0x0, duration=9s, table=0, n_packets=1, n_bytes=98, idle_timeout=60, send_flow_rem idle_age=2, hard_age=3, priority=1,in_port=2 actions=output:1',
    );
  });

  it('prints OpenFlow 1.3 flow stats with flags and no ages', () => {
    const f = flowStats('priority=100,ip,nw_dst=10.0.0.1,actions=output:2', { durationMs: 480, flags: { resetCounts: true } });
    expect(formatFlowStatsReply([f], OFP13, 2, false)).toBe(
      'OFPST_FLOW reply (OF1.3) (xid=0x2):\n cookie=0x0, duration=0.480s, table=0, n_packets=0, n_bytes=0, reset_counts priority=100,ip,nw_dst=10.0.0.1 actions=output:2\n',
    );
  });

  it('prints --no-stats lines with the table only when it is not 0', () => {
    expect(formatFlowStatsLine(flowStats('table=1,reg0=5,actions=drop'), { stats: false, ages: false })).toBe('table=1, reg0=0x5 actions=drop');
    expect(formatFlowStatsLine(flowStats('priority=0,actions=NORMAL'), { stats: false, ages: false })).toBe('priority=0 actions=NORMAL');
  });
});

describe('groups and meters', () => {
  const group = { ...parseGroupMod('group_id=1,type=all,bucket=output:1,bucket=output:2') };

  it('prints OpenFlow 1.3 group descriptions without bucket ids', () => {
    expect(formatGroupDescReply([group], OFP13, 2)).toBe('OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):\n group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2\n');
  });

  it('numbers the buckets in Nicira (OpenFlow 1.0) group descriptions', () => {
    expect(formatGroupDescReply([group], OFP10, 2)).toBe(
      'NXST_GROUP_DESC reply (xid=0x2):\n group_id=1,type=all,bucket=bucket_id:0,actions=output:1,bucket=bucket_id:1,actions=output:2\n',
    );
  });

  it('prints group stats with a counter pair per bucket', () => {
    const stats = { groupId: 1, refCount: 0, packetCount: 0n, byteCount: 0n, durationMs: 253, buckets: [{ packetCount: 0n, byteCount: 0n }, { packetCount: 0n, byteCount: 0n }] };
    expect(formatGroupStatsReply([stats], OFP13, 6)).toBe(
      'OFPST_GROUP reply (OF1.3) (xid=0x6):\n group_id=1,duration=0.253s,ref_count=0,packet_count=0,byte_count=0,bucket0:packet_count=0,byte_count=0,bucket1:packet_count=0,byte_count=0\n',
    );
  });

  it('prints a meter config with one line per band', () => {
    const m = { meterId: 1, flags: { kbps: true, burst: true, stats: true }, bands: [{ type: 'drop' as const, rate: 1000, burstSize: 100 }] };
    expect(formatMeterConfigReply([m], OFP13, 2)).toBe('OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\nmeter=1 kbps burst stats bands=\ntype=drop rate=1000 burst_size=100\n');
  });

  it('prints meter stats with one line per band', () => {
    const m = { meterId: 1, flowCount: 0, packetInCount: 0n, byteInCount: 0n, durationMs: 270, bands: [{ packetCount: 0n, byteCount: 0n }] };
    expect(formatMeterStatsReply([m], OFP13, 2)).toBe(
      'OFPST_METER reply (OF1.3) (xid=0x2):\nmeter:1 flow_count:0 packet_in_count:0 byte_in_count:0 duration:0.270s bands:\n0: packet_count:0 byte_count:0\n',
    );
  });
});
