// The OpenFlow codec against the real OVS decoder: every message we encode is printed by
// `ovs-ofctl ofp-print` (Debian's Open vSwitch) as what we meant, and decodes back to itself.
import { describe, expect, it } from 'vitest';
import { ofpPrint } from '../../helpers/of-wire.js';
import { OfDecodeError, OfWriter } from '../../../src/openflow/codec/buffer.js';
import { decodeMessage, encodeMessage, OfEncodeError } from '../../../src/openflow/codec/index.js';
import { defaultSession, type AsyncConfig, type AsyncConfigChange, type MultipartReply, type OfMessage, type PortDesc, type PortStats } from '../../../src/openflow/messages.js';
import { xorshift32 } from '../../../scripts/fuzz/mutate.js';


const s = defaultSession;
const port: PortDesc = {
  portNo: 1, hwAddr: 0x020000000001n, name: 'p1', config: 0, state: 4, curr: 0x840, advertised: 0, supported: 0, peer: 0,
  currSpeed: 10_000_000, maxSpeed: 0,
};
const local: PortDesc = { ...port, portNo: 0xfffe, name: 'br0', state: 0, hwAddr: 0x02000000000an };
/** `local` as ovs-ofctl prints it in a port list. */
const localPrinted = [
  ' LOCAL(br0): addr:02:00:00:00:00:0a',
  '     config:     0',
  '     state:      0',
  '     current:    10GB-FD COPPER',
  '     speed: 10000 Mbps now, 0 Mbps max',
];
const portStats: PortStats = {
  portNo: 0xfffe, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 5n, txDropped: 6n, rxErrors: 7n, txErrors: 8n,
  rxFrameErr: 9n, rxOverErr: 10n, rxCrcErr: 11n, collisions: 12n, durationMs: 1500,
};
const asyncConfig: AsyncConfig = { packetIn: [7, 0], portStatus: [7, 7], flowRemoved: [15, 0], roleStatus: [0, 0], tableStatus: [0, 0], requestForward: [0, 0] };
/** One master mask changed, the rest untouched: only properties can say that, so before 1.4 it is NXT_SET_ASYNC_CONFIG2. */
const oneMask: AsyncConfigChange = { flowRemoved: [0b1] };
const oneMaskPrinted = [
  ' primary:',
  '       PACKET_IN: (off)',
  '     PORT_STATUS: (off)',
  '    FLOW_REMOVED: idle',
  '     ROLE_STATUS: (off)',
  '    TABLE_STATUS: (off)',
  '  REQUESTFORWARD: (off)',
  '',
  ' secondary:',
  '       PACKET_IN: (off)',
  '     PORT_STATUS: (off)',
  '    FLOW_REMOVED: (off)',
  '     ROLE_STATUS: (off)',
  '    TABLE_STATUS: (off)',
  '  REQUESTFORWARD: (off)',
];
/** asyncConfig as ovs-ofctl prints it, whichever message carries it. */
const asyncConfigPrinted = [
  ' primary:',
  '       PACKET_IN: no_match action invalid_ttl',
  '     PORT_STATUS: add delete modify',
  '    FLOW_REMOVED: idle hard delete group_delete',
  '     ROLE_STATUS: (off)',
  '    TABLE_STATUS: (off)',
  '  REQUESTFORWARD: (off)',
  '',
  ' secondary:',
  '       PACKET_IN: (off)',
  '     PORT_STATUS: add delete modify',
  '    FLOW_REMOVED: (off)',
  '     ROLE_STATUS: (off)',
  '    TABLE_STATUS: (off)',
  '  REQUESTFORWARD: (off)',
];

interface Case {
  what: string;
  version: number;
  msg: OfMessage;
  /** What `ovs-ofctl ofp-print` prints for it (the xid is 0x2a). */
  printed: string;
  /** What it decodes back to, when the version cannot carry every field. */
  decoded?: OfMessage;
}

const CASES: Case[] = [
  {
    what: 'a hello offering 1.0 and 1.3 in a version bitmap', version: 0x04, msg: { type: 'hello', versions: [0x01, 0x04] },
    printed: 'OFPT_HELLO (OF1.3) (xid=0x2a):\n version bitmap: 0x01, 0x04',
  },
  {
    what: 'an error with the offending message', version: 0x01,
    msg: { type: 'error', name: 'OFPBRC_BAD_TYPE', data: Buffer.from('0105000800000001', 'hex') },
    printed: 'OFPT_ERROR (xid=0x2a): OFPBRC_BAD_TYPE\nOFPT_FEATURES_REQUEST (xid=0x1):',
  },
  {
    what: 'a Nicira error on 1.0 (inside NXET_VENDOR)', version: 0x01, msg: { type: 'error', name: 'OFPBRC_BAD_PORT', data: Buffer.alloc(0) },
    printed: 'OFPT_ERROR (xid=0x2a): OFPBRC_BAD_PORT\nOpenFlow message is empty',
  },
  {
    what: 'a Nicira error on 1.3 (an experimenter error)', version: 0x04, msg: { type: 'error', name: 'NXBRC_NXM_INVALID', data: Buffer.alloc(0) },
    printed: 'OFPT_ERROR (OF1.3) (xid=0x2a): NXBRC_NXM_INVALID\nOpenFlow message is empty',
  },
  {
    what: 'an echo request with its payload', version: 0x04, msg: { type: 'echo_request', data: Buffer.from('abc') },
    printed: 'OFPT_ECHO_REQUEST (OF1.3) (xid=0x2a): 3 bytes of payload\n00000000  61 62 63                                        |abc             |',
  },
  {
    what: 'a 1.0 features reply with its ports', version: 0x01,
    msg: { type: 'features_reply', datapathId: 0x1234n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0xc7, actions: 0xfff, ports: [port, local] },
    decoded: {
      type: 'features_reply', datapathId: 0x1234n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0xc7, actions: 0xfff,
      ports: [{ ...port, currSpeed: 0 }, { ...local, currSpeed: 0 }],
    },
    printed: [
      'OFPT_FEATURES_REPLY (xid=0x2a): dpid:0000000000001234',
      'n_tables:254, n_buffers:0',
      'capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP',
      'actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst',
      ' 1(p1): addr:02:00:00:00:00:01',
      '     config:     0',
      '     state:      0',
      '     current:    10GB-FD COPPER',
      '     speed: 10000 Mbps now, 0 Mbps max',
      ...localPrinted,
    ].join('\n'),
  },
  {
    what: 'a 1.3 features reply (ports go in port_desc)', version: 0x04,
    msg: { type: 'features_reply', datapathId: 0xabn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f, actions: 0, ports: [] },
    printed: 'OFPT_FEATURES_REPLY (OF1.3) (xid=0x2a): dpid:00000000000000ab\nn_tables:254, n_buffers:0\ncapabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS',
  },
  {
    what: 'a get_config reply', version: 0x04, msg: { type: 'get_config_reply', flags: 0, missSendLen: 128 },
    printed: 'OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x2a): frags=normal miss_send_len=128',
  },
  {
    what: 'a 1.4 port status with the Ethernet property', version: 0x05, msg: { type: 'port_status', reason: 'add', desc: port },
    printed: [
      'OFPT_PORT_STATUS (OF1.4) (xid=0x2a): ADD: 1(p1): addr:02:00:00:00:00:01',
      '     config:     0',
      '     state:      LIVE',
      '     current:    10GB-FD COPPER',
      '     speed: 10000 Mbps now, 0 Mbps max',
    ].join('\n'),
  },
  {
    what: 'a 1.0 port_mod', version: 0x01, msg: { type: 'port_mod', portNo: 1, hwAddr: 0x020000000001n, config: 1, mask: 1, advertise: 0 },
    printed: 'OFPT_PORT_MOD (xid=0x2a): port: 1: addr:02:00:00:00:00:01\n     config: PORT_DOWN\n     mask:   PORT_DOWN\n     advertise: UNCHANGED',
  },
  {
    what: 'a 1.4 port_mod advertising through its property', version: 0x05,
    msg: { type: 'port_mod', portNo: 1, hwAddr: 0x020000000001n, config: 1, mask: 1, advertise: 0x20 },
    printed: 'OFPT_PORT_MOD (OF1.4) (xid=0x2a): port: 1: addr:02:00:00:00:00:01\n     config: PORT_DOWN\n     mask:   PORT_DOWN\n     advertise: 1GB-FD',
  },
  { what: 'a table_mod', version: 0x04, msg: { type: 'table_mod', tableId: 3, config: 0 }, printed: 'OFPT_TABLE_MOD (OF1.3) (xid=0x2a): table_id=3' },
  { what: 'a 1.0 barrier request (type 18)', version: 0x01, msg: { type: 'barrier_request' }, printed: 'OFPT_BARRIER_REQUEST (xid=0x2a):' },
  { what: 'a 1.3 barrier reply (type 21)', version: 0x04, msg: { type: 'barrier_reply' }, printed: 'OFPT_BARRIER_REPLY (OF1.3) (xid=0x2a):' },
  {
    what: 'a 1.3 role request with its generation id', version: 0x04, msg: { type: 'role_request', role: 'master', generationId: 7n },
    printed: 'OFPT_ROLE_REQUEST (OF1.3) (xid=0x2a): role=primary generation_id=7',
  },
  {
    what: 'a role reply on 1.0 (NXT_ROLE_REPLY)', version: 0x01, msg: { type: 'role_reply', role: 'slave', generationId: 0n },
    printed: 'NXT_ROLE_REPLY (xid=0x2a): role=secondary',
  },
  {
    what: 'set_async on 1.0 (NXT_SET_ASYNC_CONFIG)', version: 0x01, msg: { type: 'set_async', config: asyncConfig },
    printed: ['NXT_SET_ASYNC_CONFIG (xid=0x2a):', ...asyncConfigPrinted].join('\n'),
  },
  {
    what: 'set_async of one mask on 1.3 (NXT_SET_ASYNC_CONFIG2)', version: 0x04, msg: { type: 'set_async', config: oneMask },
    printed: ['NXT_SET_ASYNC_CONFIG2 (OF1.3) (xid=0x2a):', ...oneMaskPrinted].join('\n'),
  },
  {
    what: 'set_async of one mask on 1.4 (a single property)', version: 0x05, msg: { type: 'set_async', config: oneMask },
    printed: ['OFPT_SET_ASYNC (OF1.4) (xid=0x2a):', ...oneMaskPrinted].join('\n'),
  },
  {
    what: 'a 1.4 get_async reply in properties', version: 0x05, msg: { type: 'get_async_reply', config: asyncConfig },
    printed: ['OFPT_GET_ASYNC_REPLY (OF1.4) (xid=0x2a):', ...asyncConfigPrinted].join('\n'),
  },
  { what: 'NXT_SET_FLOW_FORMAT', version: 0x01, msg: { type: 'nx_set_flow_format', format: 'nxm' }, printed: 'NXT_SET_FLOW_FORMAT (xid=0x2a): format=nxm' },
  { what: 'NXT_FLOW_MOD_TABLE_ID', version: 0x01, msg: { type: 'nx_flow_mod_table_id', enable: true }, printed: 'NXT_FLOW_MOD_TABLE_ID (xid=0x2a): enable' },
  {
    what: 'NXT_SET_PACKET_IN_FORMAT', version: 0x01, msg: { type: 'nx_set_packet_in_format', format: 'nxt_packet_in2' },
    printed: 'NXT_SET_PACKET_IN_FORMAT (xid=0x2a): format=nxt_packet_in2',
  },
  { what: 'NXT_SET_CONTROLLER_ID', version: 0x01, msg: { type: 'nx_set_controller_id', controllerId: 9 }, printed: 'NXT_SET_CONTROLLER_ID (xid=0x2a): id=9' },
  { what: 'a desc request', version: 0x01, msg: { type: 'multipart_request', request: { kind: 'desc' } }, printed: 'OFPST_DESC request (xid=0x2a):' },
  {
    what: 'a 1.3 port stats request for every port', version: 0x04, msg: { type: 'multipart_request', request: { kind: 'port', portNo: 0xffff } },
    printed: 'OFPST_PORT request (OF1.3) (xid=0x2a): port_no=ANY',
  },
  {
    what: 'a 1.5 port_desc request (it names a port)', version: 0x06, msg: { type: 'multipart_request', request: { kind: 'port_desc' } },
    printed: 'OFPST_PORT_DESC request (OF1.5) (xid=0x2a): port=ANY',
  },
  {
    what: 'a 1.0 queue stats request', version: 0x01, msg: { type: 'multipart_request', request: { kind: 'queue', portNo: 1, queueId: 0xffffffff } },
    printed: 'OFPST_QUEUE request (xid=0x2a): port=1 queue=ALL',
  },
  {
    what: 'group stats on 1.0 (NXST_GROUP)', version: 0x01, msg: { type: 'multipart_request', request: { kind: 'group', groupId: 0xfffffffc } },
    printed: 'NXST_GROUP request (xid=0x2a): group_id=ALL',
  },
  {
    what: 'group features on 1.0 (NXST_GROUP_FEATURES)', version: 0x01, msg: { type: 'multipart_request', request: { kind: 'group_features' } },
    printed: 'NXST_GROUP_FEATURES request (xid=0x2a):',
  },
  {
    what: 'a meter stats request', version: 0x04, msg: { type: 'multipart_request', request: { kind: 'meter', meterId: 0xffffffff } },
    printed: 'OFPST_METER request (OF1.3) (xid=0x2a): meter=all',
  },
  {
    what: 'a table features request', version: 0x04, msg: { type: 'multipart_request', request: { kind: 'table_features' } },
    printed: 'OFPST_TABLE_FEATURES request (OF1.3) (xid=0x2a):',
  },
  {
    what: 'a desc reply', version: 0x01,
    msg: { type: 'multipart_reply', reply: { kind: 'desc', desc: { mfr: 'TVS', hw: 'tvs', sw: '0.1', serial: 'None', dp: 'br0' } } },
    printed: 'OFPST_DESC reply (xid=0x2a):\nManufacturer: TVS\nHardware: tvs\nSoftware: 0.1\nSerial Num: None\nDP Description: br0',
  },
  {
    what: 'an aggregate reply', version: 0x04, msg: { type: 'multipart_reply', reply: { kind: 'aggregate', packetCount: 5n, byteCount: 500n, flowCount: 2 } },
    printed: 'OFPST_AGGREGATE reply (OF1.3) (xid=0x2a): packet_count=5 byte_count=500 flow_count=2',
  },
  {
    what: 'a 1.5 aggregate reply in OXS statistics', version: 0x06,
    msg: { type: 'multipart_reply', reply: { kind: 'aggregate', packetCount: 5n, byteCount: 500n, flowCount: 2 } },
    printed: 'OFPST_AGGREGATE reply (OF1.5) (xid=0x2a): packet_count=5 byte_count=500 flow_count=2',
  },
  {
    what: 'a 1.0 table stats reply', version: 0x01,
    msg: { type: 'multipart_reply', reply: { kind: 'table', tables: [{ tableId: 0, name: 'classifier', activeCount: 2, lookupCount: 10n, matchedCount: 8n, maxEntries: 1000000 }] } },
    printed: [
      'OFPST_TABLE reply (xid=0x2a):',
      '  table 0 ("classifier"):',
      '    active=2, lookup=10, matched=8',
      '    max_entries=1000000',
      '    matching:',
      '      exact match or wildcard: in_port eth_{src,dst,type} vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}',
    ].join('\n'),
  },
  ...([[0x02, '1.1'], [0x03, '1.2']] as const).map(([version, name]): Case => ({
    what: `a ${name} table stats reply`, version,
    msg: { type: 'multipart_reply', reply: { kind: 'table', tables: [{ tableId: 0, name: 'classifier', activeCount: 2, lookupCount: 10n, matchedCount: 8n, maxEntries: 1000000 }] } },
    printed: `OFPST_TABLE reply (OF${name}) (xid=0x2a):\n  table 0 ("classifier"):\n    active=2, lookup=10, matched=8\n    config=controller\n    max_entries=1000000`,
  })),
  {
    what: 'a 1.3 table stats reply (no name or size in 1.3)', version: 0x04,
    msg: { type: 'multipart_reply', reply: { kind: 'table', tables: [{ tableId: 0, name: 'classifier', activeCount: 2, lookupCount: 10n, matchedCount: 8n, maxEntries: 1000000 }] } },
    decoded: { type: 'multipart_reply', reply: { kind: 'table', tables: [{ tableId: 0, name: '', activeCount: 2, lookupCount: 10n, matchedCount: 8n, maxEntries: 0 }] } },
    printed: 'OFPST_TABLE reply (OF1.3) (xid=0x2a):\n  table 0:\n    active=2, lookup=10, matched=8',
  },
  {
    what: 'a 1.0 port stats reply', version: 0x01, msg: { type: 'multipart_reply', reply: { kind: 'port', ports: [{ ...portStats, portNo: 1 }] } },
    decoded: { type: 'multipart_reply', reply: { kind: 'port', ports: [{ ...portStats, portNo: 1, durationMs: 0 }] } },
    printed: 'OFPST_PORT reply (xid=0x2a): 1 ports\n  port  1: rx pkts=1, bytes=3, drop=5, errs=7, frame=9, over=10, crc=11\n           tx pkts=2, bytes=4, drop=6, errs=8, coll=12',
  },
  {
    what: 'a 1.3 port stats reply with its duration', version: 0x04, msg: { type: 'multipart_reply', reply: { kind: 'port', ports: [portStats] } },
    printed: 'OFPST_PORT reply (OF1.3) (xid=0x2a): 1 ports\n  port LOCAL: rx pkts=1, bytes=3, drop=5, errs=7, frame=9, over=10, crc=11\n           tx pkts=2, bytes=4, drop=6, errs=8, coll=12\n           duration=1.500s',
  },
  {
    what: 'a 1.4 port stats reply with the Ethernet property', version: 0x05, msg: { type: 'multipart_reply', reply: { kind: 'port', ports: [portStats] } },
    printed: 'OFPST_PORT reply (OF1.4) (xid=0x2a): 1 ports\n  port LOCAL: rx pkts=1, bytes=3, drop=5, errs=7, frame=9, over=10, crc=11\n           tx pkts=2, bytes=4, drop=6, errs=8, coll=12\n           duration=1.500s',
  },
  {
    what: 'a 1.3 port_desc reply', version: 0x04, msg: { type: 'multipart_reply', reply: { kind: 'port_desc', ports: [port, local] } },
    printed: [
      'OFPST_PORT_DESC reply (OF1.3) (xid=0x2a):',
      ' 1(p1): addr:02:00:00:00:00:01',
      '     config:     0',
      '     state:      LIVE',
      '     current:    10GB-FD COPPER',
      '     speed: 10000 Mbps now, 0 Mbps max',
      ...localPrinted,
    ].join('\n'),
  },
  {
    what: 'a 1.4 queue stats reply', version: 0x05,
    msg: { type: 'multipart_reply', reply: { kind: 'queue', queues: [{ portNo: 1, queueId: 2, txBytes: 3n, txPackets: 4n, txErrors: 5n, durationMs: 2000 }] } },
    printed: 'OFPST_QUEUE reply (OF1.4) (xid=0x2a): 1 queues\n  port 1 queue 2: bytes=3, pkts=4, errors=5, duration=2s',
  },
  {
    what: 'group stats on 1.0 (NXST_GROUP reply)', version: 0x01,
    msg: { type: 'multipart_reply', reply: { kind: 'group', groups: [{ groupId: 1, refCount: 2, packetCount: 3n, byteCount: 4n, durationMs: 5000, buckets: [{ packetCount: 1n, byteCount: 2n }] }] } },
    printed: 'NXST_GROUP reply (xid=0x2a):\n group_id=1,duration=5s,ref_count=2,packet_count=3,byte_count=4,bucket0:packet_count=1,byte_count=2',
  },
  {
    what: 'a 1.3 group features reply', version: 0x04,
    msg: {
      type: 'multipart_reply',
      reply: { kind: 'group_features', types: ['all', 'select', 'indirect', 'ff'], capabilities: 0x7, maxGroups: { all: 10, select: 10, indirect: 10, ff: 10 }, actions: { all: 1, select: 1, indirect: 1, ff: 1 } },
    },
    printed: [
      'OFPST_GROUP_FEATURES reply (OF1.3) (xid=0x2a):',
      ' Group table:',
      '    Types:  0xf',
      '    Capabilities:  0x7',
      ...['all', 'select', 'indirect', 'fast failover'].flatMap((t) => [`    ${t} group:`, '       max_groups=0xa', '       actions: output']),
    ].join('\n'),
  },
  {
    what: 'a meter stats reply', version: 0x04,
    msg: { type: 'multipart_reply', reply: { kind: 'meter', meters: [{ meterId: 1, flowCount: 2, packetInCount: 3n, byteInCount: 4n, durationMs: 5000, bands: [{ packetCount: 1n, byteCount: 2n }] }] } },
    printed: 'OFPST_METER reply (OF1.3) (xid=0x2a):\nmeter:1 flow_count:2 packet_in_count:3 byte_in_count:4 duration:5s bands:\n0: packet_count:1 byte_count:2',
  },
  {
    what: 'a meter features reply', version: 0x04,
    msg: { type: 'multipart_reply', reply: { kind: 'meter_features', maxMeters: 1000, bandTypes: ['drop', 'dscp_remark'], capabilities: 0xf, maxBands: 8, maxColor: 0 } },
    printed: 'OFPST_METER_FEATURES reply (OF1.3) (xid=0x2a):\nmax_meter:1000 max_bands:8 max_color:0\nband_types: drop dscp_remark\ncapabilities: kbps pktps burst stats',
  },
];

describe('OpenFlow codec: what ovs-ofctl ofp-print reads in our messages', () => {
  for (const c of CASES) {
    it(`encodes ${c.what} as OVS prints it`, () => {
      const [buf, ...more] = encodeMessage(c.msg, s(c.version), 0x2a);
      expect(more).toEqual([]);
      expect(ofpPrint(buf ?? Buffer.alloc(0))).toBe(c.printed);
    });
  }
});

describe('OpenFlow codec: decoding what it encodes', () => {
  for (const c of CASES) {
    it(`decodes ${c.what} back to the same value`, () => {
      const [buf] = encodeMessage(c.msg, s(c.version), 0x2a);
      expect(decodeMessage(buf ?? Buffer.alloc(0), s(c.version))).toEqual({ xid: 0x2a, msg: c.decoded ?? c.msg, more: false });
    });
  }

  it('reads a hello without a bitmap as every version up to its header version', () => {
    const hello = Buffer.from('0400000800000007', 'hex');
    expect(decodeMessage(hello, s(0x01)).msg).toEqual({ type: 'hello', versions: [1, 2, 3, 4] });
  });

  it('reads a hello from a future version with a bitmap beyond ours', () => {
    const [buf] = encodeMessage({ type: 'hello', versions: [0x04, 0x09] }, s(0x04), 1);
    expect(decodeMessage(buf ?? Buffer.alloc(0), s(0x01)).msg).toEqual({ type: 'hello', versions: [0x04, 0x09] });
  });

  it('reads only versions 1 to 255 from a bitmap (found by the fuzzer: a bit beyond them crashed the encoder)', () => {
    // A version bitmap of nine words: bits 0, 1 and 4 in the first, every bit of the ninth (versions 256 and up).
    const element = Buffer.alloc(4 + 9 * 4);
    element.writeUInt16BE(1, 0);
    element.writeUInt16BE(element.length, 2);
    element.writeUInt32BE(0x13, 4);
    element.writeUInt32BE(0xffffffff, 4 + 8 * 4);
    const hello = Buffer.concat([Buffer.from([0x06, 0x00, 0x00, 8 + element.length, 0, 0, 0, 1]), element]);
    const { msg } = decodeMessage(hello, s(0x06));
    expect(msg).toEqual({ type: 'hello', versions: [1, 4] });
    expect(() => encodeMessage(msg, s(0x06), 1)).not.toThrow();
  });

  it('keeps the numbers of an error it has no name for, and sends them back unchanged', () => {
    const raw = Buffer.from('0401000c000000050123000a', 'hex');
    const { msg } = decodeMessage(raw, s(0x04));
    expect(msg).toEqual({ type: 'error', name: 'OFPET_291_10', data: Buffer.alloc(0) });
    expect(encodeMessage(msg, s(0x04), 5)).toEqual([raw]);
  });

  it('names an error by the numbers of the version it came in (OFPBRC_BAD_TABLE_ID is Nicira (1,512) on 1.0, (1,9) on 1.1+)', () => {
    const [of13] = encodeMessage({ type: 'error', name: 'OFPBRC_BAD_TABLE_ID', data: Buffer.alloc(0) }, s(0x04), 1);
    expect(of13?.subarray(8).toString('hex')).toBe('00010009');
    const [of10] = encodeMessage({ type: 'error', name: 'OFPBRC_BAD_TABLE_ID', data: Buffer.alloc(0) }, s(0x01), 1);
    expect(decodeMessage(of10 ?? Buffer.alloc(0), s(0x01)).msg).toMatchObject({ name: 'OFPBRC_BAD_TABLE_ID' });
  });

  it('splits a long multipart reply into REPLY_MORE parts under 64 KiB that join to the whole', () => {
    const ports = Array.from({ length: 2500 }, (_, i) => ({ ...port, portNo: i + 1, name: `p${i + 1}` }));
    const reply: MultipartReply = { kind: 'port_desc', ports };
    const parts = encodeMessage({ type: 'multipart_reply', reply }, s(0x04), 9);
    expect(parts.length).toBe(3);
    const decoded = parts.map((p) => {
      expect(p.length).toBeLessThanOrEqual(0xffff);
      return decodeMessage(p, s(0x04));
    });
    expect(decoded.map((d) => d.more)).toEqual([true, true, false]);
    expect(decoded.flatMap((d) => (d.msg.type === 'multipart_reply' && d.msg.reply.kind === 'port_desc' ? d.msg.reply.ports : []))).toEqual(ports);
  });

  it('refuses to send what the version cannot carry, naming the message and the version', () => {
    expect(() => encodeMessage({ type: 'table_mod', tableId: 1, config: 0 }, s(0x01), 1)).toThrow(new OfEncodeError('table_mod cannot be sent in OpenFlow 1.0'));
    expect(() => encodeMessage({ type: 'multipart_request', request: { kind: 'meter_features' } }, s(0x01), 1)).toThrow(OfEncodeError);
  });

  it('writes structures longer than its first buffer without losing bytes', () => {
    const w = new OfWriter();
    for (let i = 0; i < 1000; i++) w.u32(i);
    const b = w.finish();
    expect(b.length).toBe(4000);
    expect(b.readUInt32BE(4 * 999)).toBe(999);
  });
});

function decodeError(hex: string, version = 0x04): string {
  try {
    decodeMessage(Buffer.from(hex, 'hex'), s(version));
  } catch (e) {
    if (e instanceof OfDecodeError) return e.name;
    throw e;
  }
  return 'decoded';
}

describe('OpenFlow codec: what it refuses, with the error OVS answers', () => {
  it('refuses an unknown message type with OFPBRC_BAD_TYPE', () => {
    expect(decodeError('04fe000800000001')).toBe('OFPBRC_BAD_TYPE');
    // OFPT_METER_MOD does not exist before 1.3.
    expect(decodeError('011d000800000001', 0x01)).toBe('OFPBRC_BAD_TYPE');
  });
  it('refuses a version it does not speak, or another than the negotiated one, with OFPBRC_BAD_VERSION', () => {
    expect(decodeError('0705000800000001')).toBe('OFPBRC_BAD_VERSION');
    expect(decodeError('0105000800000001', 0x04)).toBe('OFPBRC_BAD_VERSION');
  });
  it('refuses a length that is not the message length with OFPBRC_BAD_LEN', () => {
    expect(decodeError('0405000900000001')).toBe('OFPBRC_BAD_LEN');
    expect(decodeError('04050008000000')).toBe('OFPBRC_BAD_LEN');
    // A features request has no body.
    expect(decodeError('040500090000000100')).toBe('OFPBRC_BAD_LEN');
    // A get_config reply cut short.
    expect(decodeError('0408000a000000010000')).toBe('OFPBRC_BAD_LEN');
  });
  it('refuses a vendor other than Nicira with OFPBRC_BAD_VENDOR, and an unknown Nicira subtype with OFPBRC_BAD_SUBTYPE', () => {
    expect(decodeError('04040010000000010000abcd00000001')).toBe('OFPBRC_BAD_VENDOR');
    expect(decodeError('0404001000000001000023200000ffff')).toBe('OFPBRC_BAD_SUBTYPE');
  });
  it('refuses an unknown multipart type with OFPBRC_BAD_STAT, and vendor stats it does not know with BAD_VENDOR / BAD_SUBTYPE', () => {
    expect(decodeError('04120010' + '00000001' + '0077' + '0000' + '00000000')).toBe('OFPBRC_BAD_STAT');
    // Meters do not exist in 1.0 (OFPST 9).
    expect(decodeError('0110000c' + '00000001' + '0009' + '0000', 0x01)).toBe('OFPBRC_BAD_STAT');
    expect(decodeError('04120018' + '00000001' + 'ffff' + '0000' + '00000000' + '00001234' + '00000000')).toBe('OFPBRC_BAD_VENDOR');
    expect(decodeError('04120018' + '00000001' + 'ffff' + '0000' + '00000000' + '00002320' + '00000063')).toBe('OFPBRC_BAD_SUBTYPE');
  });
});

describe('OpenFlow codec: hostile input', () => {
  const seeds = CASES.flatMap((c) => encodeMessage(c.msg, s(c.version), 1).map((buf) => ({ buf, version: c.version })));

  function mustDecodeOrRefuse(buf: Buffer, version: number): void {
    try {
      decodeMessage(buf, s(version));
    } catch (e) {
      if (!(e instanceof OfDecodeError)) throw new Error(`input ${buf.toString('hex')} threw ${String(e)}`, { cause: e });
    }
  }

  it('either decodes or throws OfDecodeError for 5000 random messages', () => {
    const rand = xorshift32(13);
    for (let i = 0; i < 5000; i++) {
      const version = 1 + Math.floor(rand() * 6);
      const len = 8 + Math.floor(rand() * 120);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      // Mostly well-framed, so the body decoders are reached rather than the length check.
      buf[0] = rand() < 0.9 ? version : buf[0] ?? 0;
      buf[1] = Math.floor(rand() * 32);
      buf.writeUInt16BE(rand() < 0.9 ? len : Math.floor(rand() * 0x10000), 2);
      mustDecodeOrRefuse(buf, version);
    }
  });

  it('either decodes or throws OfDecodeError for 10000 mutations of valid messages', () => {
    const rand = xorshift32(2026);
    for (let i = 0; i < 10000; i++) {
      const seed = seeds[i % seeds.length];
      if (!seed) continue;
      let buf = Buffer.from(seed.buf);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = 8 + Math.floor(rand() * Math.max(1, buf.length - 8));
        const r = rand();
        if (r < 0.6 && at < buf.length) buf[at] = Math.floor(rand() * 256);
        else if (r < 0.8) buf = buf.subarray(0, Math.max(8, at));
        else buf = Buffer.concat([buf, Buffer.alloc(Math.floor(rand() * 16), Math.floor(rand() * 256))]);
      }
      buf.writeUInt16BE(Math.min(buf.length, 0xffff), 2);
      mustDecodeOrRefuse(buf, seed.version);
    }
  });
});
