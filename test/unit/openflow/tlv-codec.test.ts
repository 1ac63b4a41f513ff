// The TLV table messages and tun_metadata matches on the wire, judged by Debian's `ovs-ofctl
// ofp-print`: what TVS encodes OVS reads as it meant, and what ovs-ofctl sends (its own
// encoding, from `ovs-ofctl parse-flow`-style hex) TVS reads back.
import { describe, expect, it } from 'vitest';
import { decodeError, encodeOne, ofpPrint } from '../../helpers/of-wire.js';
import { decodeMessage } from '../../../src/openflow/codec/index.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { defaultSession, OFP10, OFP13, type OfMessage } from '../../../src/openflow/messages.js';
import { formatMatch } from '../../../src/ofproto/print.js';
import { formatTlvTableReply, parseTlvMap } from '../../../src/ofctl/tlv-map.js';



const OVN_MAP = { optClass: 0x102, optType: 0x80, optLen: 4, index: 0 };

describe('NXT_TLV_TABLE_MOD, _REQUEST and _REPLY', () => {
  it.each([OFP10, OFP13])('encodes a mod in version 0x%i as ovs-ofctl reads it, and decodes it back', (version) => {
    const msg: OfMessage = { type: 'nx_tlv_table_mod', command: 'add', mappings: [OVN_MAP, { optClass: 0xffff, optType: 0, optLen: 8, index: 63 }] };
    const buf = encodeOne(msg, version);
    expect(ofpPrint(buf)).toBe(
      `NXT_TLV_TABLE_MOD${version === OFP10 ? '' : ' (OF1.3)'} (xid=0x2a):\n ADD mapping table:\n  class  type  length  match field\n ------  ----  ------  --------------\n  0x102  0x80       4  tun_metadata0\n 0xffff     0       8  tun_metadata63`,
    );
    expect(decodeMessage(buf, defaultSession(version)).msg).toEqual(msg);
  });

  it('encodes delete, clear and the request as ovs-ofctl reads them', () => {
    expect(ofpPrint(encodeOne({ type: 'nx_tlv_table_mod', command: 'delete', mappings: [OVN_MAP] }, OFP10))).toContain(' DEL mapping table:');
    expect(ofpPrint(encodeOne({ type: 'nx_tlv_table_mod', command: 'clear', mappings: [] }, OFP10))).toBe('NXT_TLV_TABLE_MOD (xid=0x2a):\n CLEAR');
    expect(ofpPrint(encodeOne({ type: 'nx_tlv_table_request' }, OFP13))).toBe('NXT_TLV_TABLE_REQUEST (OF1.3) (xid=0x2a):');
  });

  it('encodes the reply as ovs-ofctl prints it, and tvs-ofctl prints it the same way', () => {
    const reply: OfMessage = { type: 'nx_tlv_table_reply', maxOptionSpace: 256, maxFields: 64, mappings: [OVN_MAP, { optClass: 0xffff, optType: 3, optLen: 8, index: 5 }] };
    const buf = encodeOne(reply, OFP13, 4);
    expect(decodeMessage(buf, defaultSession(OFP13)).msg).toEqual(reply);
    expect(formatTlvTableReply(reply, OFP13, 4).trimEnd()).toBe(ofpPrint(buf));
  });

  it.each([
    ['a command other than add, delete or clear', '0404002000000005000023200000001800030000000000000102800400000000', 'NXTTMFC_BAD_COMMAND'],
    ['an option length that is not a multiple of 4', '0404002000000005000023200000001800000000000000000102800300000000', 'NXTTMFC_BAD_OPT_LEN'],
    ['an index above 63', '0404002000000005000023200000001800000000000000000102800400400000', 'NXTTMFC_BAD_FIELD_IDX'],
    ['a mapping cut short', '0404001c000000050000232000000018000000000000000001028004', 'OFPBRC_BAD_LEN'],
  ])('refuses %s with OVS\'s error', (_what, hex, error) => {
    expect(decodeError(Buffer.from(hex, 'hex'), OFP13)).toBe(error);
  });
});

describe('tvs-ofctl add-tlv-map syntax, as ovs-ofctl reads it', () => {
  it('reads several mappings, numbers in hex, octal or decimal', () => {
    expect(parseTlvMap('{class=0xffff,type=0,len=4}->tun_metadata0,{class=258,type=0x80,len=010}->tun_metadata1')).toEqual([
      { optClass: 0xffff, optType: 0, optLen: 4, index: 0 },
      { optClass: 258, optType: 0x80, optLen: 8, index: 1 },
    ]);
  });

  it.each([
    ['{class=0xffff,type=0,len=4}->tun_metadata', 'invalid tlv mapping'],
    ['{class=0xffff,type=0}->tun_metadata0', 'invalid tlv mapping'],
    ['{class=0x10000,type=0,len=4}->tun_metadata0', 'class=65536 does not fit in 16 bits'],
    ['{class=1,type=256,len=4}->tun_metadata0', 'type=256 does not fit in 8 bits'],
  ])('refuses %s', (text, message) => {
    expect(() => parseTlvMap(text)).toThrow(message);
  });
});

describe('tun_metadata in matches', () => {
  it.each([
    ['tun_metadata0=0x1234', 'tun_metadata0=0x1234'],
    ['tun_metadata7=0x100/0xff00', 'tun_metadata7=0x100/0xff00'],
    ['tun_metadata63=0x1122334455667788', 'tun_metadata63=0x1122334455667788'],
  ])('encodes %s in an NXM flow_mod that ovs-ofctl reads as the same match', (text, printed) => {
    const buf = encodeOne({ type: 'flow_mod', mod: parseFlowMod(`${text},actions=drop`, 'add') }, OFP13);
    expect(ofpPrint(buf)).toContain(` ${printed} actions=drop`);
    const back = decodeMessage(buf, defaultSession(OFP13)).msg;
    expect(back.type === 'flow_mod' && formatMatch(back.mod.match)).toBe(printed);
  });

  it('reads the short entry ovs-ofctl sends (tun_metadata0=0x1234 in 2 bytes) as the exact match it is', () => {
    // OXM flow_mod (OF1.3) whose match is NXM_NX_TUN_METADATA0 with 2 bytes of value, as ovs-ofctl encodes it.
    const mod = parseFlowMod('tun_metadata0=0x1234,actions=drop', 'add');
    const buf = encodeOne({ type: 'flow_mod', mod }, OFP13);
    const entry = buf.indexOf(Buffer.from('00015004', 'hex'));
    expect(entry).toBeGreaterThan(0);
    const short = Buffer.concat([buf.subarray(0, entry), Buffer.from('000150021234', 'hex'), buf.subarray(entry + 8)]);
    // Keep the match padded to 8 bytes: 2 bytes fewer in the entry, 2 more of padding.
    const padded = Buffer.concat([short.subarray(0, entry + 6), Buffer.alloc(2), short.subarray(entry + 6)]);
    padded.writeUInt16BE(padded.length, 2);
    padded.writeUInt16BE(padded.readUInt16BE(50) - 2, 50);
    const back = decodeMessage(padded, defaultSession(OFP13)).msg;
    expect(back.type === 'flow_mod' && formatMatch(back.mod.match)).toBe('tun_metadata0=0x1234');
  });

  it('refuses two tun_metadata fields in one match: the datapath sees one Geneve option per frame', () => {
    expect(() => parseFlowMod('tun_metadata0=1,tun_metadata1=2,actions=drop', 'add')).toThrow('tun_metadata0 and tun_metadata1 together need 2 Geneve options in one frame');
  });

  it('prints set_field to tun_metadataN by its name, and OVS reads the action', () => {
    const mod = parseFlowMod('actions=set_field:0x5->tun_metadata3,output:1', 'add');
    const buf = encodeOne({ type: 'flow_mod', mod }, OFP13);
    const back = decodeMessage(buf, defaultSession(OFP13)).msg;
    expect(back.type === 'flow_mod' && back.mod.instructions.apply).toEqual(mod.instructions.apply);
    expect(ofpPrint(buf)).toContain('set_field:0x5->tun_metadata3');
  });
});
