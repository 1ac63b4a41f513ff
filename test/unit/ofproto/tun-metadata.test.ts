// Geneve options as OpenFlow's tun_metadata0..63: the bridge's TLV map with OVS's errors, flows
// that match and set a mapped option, the megaflow they make on the datapath key's one option,
// the option sent out of a Geneve port, and the tunnel a packet-in reports.
import { describe, expect, it } from 'vitest';
import { formatActions } from '../../../src/datapath/odp-syntax.js';
import type { FlowKey } from '../../../src/datapath/flow-key.js';
import { parseIpv4 } from '../../../src/lib/addr.js';
import { fieldSpan } from '../../../src/datapath/flow-key.js';
import { wcToMask } from '../../../src/ofproto/odp-convert.js';
import { OfpError } from '../../../src/ofproto/ofperr.js';
import { ofprotoTrace } from '../../../src/ofproto/trace.js';
import { TlvMap, type TlvMapping } from '../../../src/ofproto/tun-metadata.js';
import { TunnelPortMap, type TunnelConfig } from '../../../src/ofproto/tunnel.js';
import { XBridge } from '../../../src/ofproto/xbridge.js';
import { xlateMiss, xlateResume } from '../../../src/ofproto/xlate.js';
import { Flow, type FieldId } from '../../../src/ofproto/flow.js';
import { Match } from '../../../src/ofproto/match.js';
import { formatMatch } from '../../../src/ofproto/print.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec/index.js';
import { defaultSession, OFP13 } from '../../../src/openflow/messages.js';
import { parseFlowMod, parseMatch } from '../../../src/openflow/flow-syntax.js';

const ip = (s: string) => parseIpv4(s).readUInt32BE(0);
const OVN: TlvMapping = { optClass: 0x102, optType: 0x80, optLen: 4, index: 0 };
const nobody = () => false;

function codeOf(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof OfpError) return e.message;
    throw e;
  }
  return 'accepted';
}

describe('the TLV map, with OVS\'s errors', () => {
  it('adds mappings and lists them by index', () => {
    const map = new TlvMap();
    map.modify('add', [{ ...OVN, index: 3 }, { optClass: 0xffff, optType: 0, optLen: 8, index: 1 }], nobody);
    expect(map.list().map((m) => m.index)).toEqual([1, 3]);
    expect(map.find(0x102, 0x80, 4)?.index).toBe(3);
    // The same class and type with another length is not the mapped option.
    expect(map.find(0x102, 0x80, 8)).toBeUndefined();
  });

  it.each([
    ['an index already mapped', [OVN, { ...OVN, optClass: 1 }], 'NXTTMFC_ALREADY_MAPPED'],
    ['an option already mapped to another index', [OVN, { ...OVN, index: 1 }], 'NXTTMFC_DUP_ENTRY'],
    ['a length not a multiple of 4', [{ ...OVN, optLen: 6 }], 'NXTTMFC_BAD_OPT_LEN'],
    ['an index above 63', [{ ...OVN, index: 64 }], 'NXTTMFC_BAD_FIELD_IDX'],
    ['more than 256 bytes of options', Array.from({ length: 33 }, (_, i) => ({ optClass: 1, optType: i, optLen: 8, index: i })), 'NXTTMFC_TABLE_FULL'],
  ])('refuses %s, changing nothing', (_what, mappings: TlvMapping[], code) => {
    const map = new TlvMap();
    expect(codeOf(() => map.modify('add', mappings, nobody))).toMatch(new RegExp(`^${code}`));
    expect(map.list()).toEqual([]);
  });

  it('refuses an option longer than the 8 bytes TVS\'s datapath carries, saying so', () => {
    expect(codeOf(() => new TlvMap().modify('add', [{ ...OVN, optLen: 12 }], nobody))).toContain("NXTTMFC_BAD_OPT_LEN: {class=0x102,type=0x80,len=12}->tun_metadata0: TVS's datapath carries Geneve options of at most 8 bytes");
  });

  it('makes the bridge translate again after a change: its megaflows read options through the map', () => {
    const br = new XBridge({ name: 'br0', clock: () => 1000 });
    const before = br.changeSeq();
    br.tlvMap.modify('add', [OVN], nobody);
    expect(br.changeSeq()).not.toBe(before);
  });

  it('deletes by index (an unmapped one is no error) and clears, but not a mapping a flow uses', () => {
    const map = new TlvMap();
    map.modify('add', [OVN, { ...OVN, optType: 1, index: 1 }], nobody);
    map.modify('delete', [{ ...OVN, index: 9 }], nobody);
    expect(map.list()).toHaveLength(2);
    expect(codeOf(() => map.modify('delete', [OVN], (i) => i === 0))).toMatch(/^NXTTMFC_INVALID_TLV_DEL: tun_metadata0 is used by a flow/);
    expect(codeOf(() => map.modify('clear', [], (i) => i === 1))).toMatch(/^NXTTMFC_INVALID_TLV_DEL/);
    map.modify('clear', [], nobody);
    expect(map.list()).toEqual([]);
  });
});

const VPORT = 7;
const geneve = (c: Partial<TunnelConfig>): TunnelConfig => ({ type: 'geneve', dstPort: 6081, remoteIp: ip('192.0.2.2'), inKey: 0n, outKey: 0n, tos: 0, ttl: 64, df: true, csum: false, ...c });

/** br0: port 1 a VM (dp 11), port 2 a Geneve tunnel to 192.0.2.2 (vport 7), OVN's option mapped to tun_metadata0. */
function geneveBridge(): XBridge {
  const tunnels = new TunnelPortMap();
  const br = new XBridge({ name: 'br0', clock: () => 1000 });
  br.tunnels = tunnels;
  br.addPort({ ofport: 1, dpPort: 11, name: 'vm1' });
  const g = geneve({});
  br.addPort({ ofport: 2, dpPort: VPORT, name: 'gnv0', tunnel: g });
  tunnels.add({ name: 'gnv0', bridge: 'br0', ofport: 2, dpPort: VPORT, config: g });
  br.tlvMap.modify('add', [OVN], nobody);
  return br;
}

/** A frame from the Geneve tunnel as the datapath keys it, with one option (class, type, data) or none. */
function fromGeneve(option?: { optClass: number; type: number; len: number; data: bigint }): FlowKey {
  const key: FlowKey = { in_port: VPORT, 'tunnel.src': '192.0.2.2', 'tunnel.dst': '192.0.2.1', 'tunnel.ttl': 64, eth_type: 0x88b5, 'eth.src': '00:00:00:00:00:09', 'eth.dst': '00:00:00:00:00:01' };
  if (option) Object.assign(key, { 'tunnel.geneve.class': option.optClass, 'tunnel.geneve.type': option.type, 'tunnel.geneve.len': option.len, 'tunnel.geneve.data': option.data });
  return key;
}

const [CLASS_AT] = fieldSpan('tunnel.geneve.class');
const [DATA_AT] = fieldSpan('tunnel.geneve.data');

describe('flows on tun_metadata', () => {
  it('delivers only frames whose mapped option carries the matched value, and the megaflow matches that option', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('priority=10,in_port=2,tun_metadata0=0x5,actions=output:1'));
    br.flowMod(parseFlowMod('priority=0,actions=drop'));
    const hit = fromGeneve({ optClass: 0x102, type: 0x80, len: 4, data: 5n });
    const r = xlateMiss(br, hit, { sideEffects: false })!;
    expect(formatActions(r.actions)).toBe('11');
    const mask = wcToMask(r.wc, hit);
    expect(mask.subarray(CLASS_AT, CLASS_AT + 4).toString('hex')).toBe('ffffffff');
    expect(mask.readBigUInt64BE(DATA_AT)).toBe(0xffffffffffffffffn);
    for (const miss of [fromGeneve({ optClass: 0x102, type: 0x80, len: 4, data: 6n }), fromGeneve({ optClass: 0x103, type: 0x80, len: 4, data: 5n }), fromGeneve()]) {
      expect(formatActions(xlateMiss(br, miss, { sideEffects: false })!.actions)).toBe('drop');
    }
  });

  it('leaves the Geneve option out of megaflows when no rule looks at tun_metadata', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('in_port=2,actions=output:1'));
    const key = fromGeneve({ optClass: 0x102, type: 0x80, len: 4, data: 5n });
    const mask = wcToMask(xlateMiss(br, key, { sideEffects: false })!.wc, key);
    expect(mask.subarray(CLASS_AT, DATA_AT + 8).every((b) => b === 0)).toBe(true);
  });

  it('sends set_field to tun_metadata0 out of a Geneve port as the mapped option', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('in_port=1,actions=set_field:0xa->tun_metadata0,output:2'));
    const r = xlateMiss(br, { in_port: 11, eth_type: 0x88b5 }, { sideEffects: false })!;
    expect(formatActions(r.actions)).toBe('set(tunnel(tun_id=0x0,dst=192.0.2.2,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0xa}),flags(df|key))),7');
  });

  it('forwards a received option into another Geneve tunnel, and a move reads it', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('in_port=2,actions=move:NXM_NX_TUN_METADATA0[0..15]->NXM_NX_REG0[0..15],load:0x1->NXM_NX_TUN_METADATA0[16..23],IN_PORT'));
    const r = xlateMiss(br, fromGeneve({ optClass: 0x102, type: 0x80, len: 4, data: 0x1234n }), { sideEffects: false })!;
    expect(r.finalFlow.get('reg0')).toBe(0x1234n);
    expect(formatActions(r.actions)).toContain('geneve({class=0x102,type=0x80,len=4,0x11234})');
  });

  it('refuses a flow on an unmapped tun_metadata, naming the fix, and a del-tlv-map of one a flow uses', () => {
    const br = geneveBridge();
    expect(codeOf(() => br.flowMod(parseFlowMod('tun_metadata1=0x5,actions=drop')))).toContain('OFPBMC_BAD_FIELD: tun_metadata1 is not mapped to a Geneve option: map it first, e.g. add-tlv-map');
    expect(codeOf(() => br.flowMod(parseFlowMod('actions=set_field:1->tun_metadata2')))).toMatch(/^OFPBAC_BAD_SET_ARGUMENT: the actions use tun_metadata2/);
    expect(codeOf(() => br.flowMod(parseFlowMod('tun_metadata0=0x100000000,actions=drop')))).toContain('does not fit in the 4 bytes of {class=0x102,type=0x80,len=4}->tun_metadata0');
    br.flowMod(parseFlowMod('tun_metadata0=0x5,actions=drop'));
    expect(codeOf(() => br.tlvMap.modify('clear', [], (i) => br.usesTunMetadata(i)))).toMatch(/^NXTTMFC_INVALID_TLV_DEL/);
  });

  it('keeps one form of an exact match: a mask over the whole mapped length is the exact match', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('tun_metadata0=0x5/0xffffffff,actions=drop'));
    br.flowMod(parseFlowMod('tun_metadata0=0x5,actions=output:1'));
    const onOption = br.tables.dump().filter((r) => r.match.wc.has('tun_metadata_present'));
    expect(onOption.map((r) => r.instructions.apply)).toEqual([[{ type: 'output', port: 1, maxLen: 0 }]]);
  });

  it('reports in a packet-in the tunnel the frame came from: tun_src, tun_dst and its option', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('in_port=2,actions=controller:64'));
    const r = xlateMiss(br, fromGeneve({ optClass: 0x102, type: 0x80, len: 4, data: 5n }))!;
    expect(r.sideEffects.packetIns[0]?.metadata).toEqual({ tun_src: BigInt(ip('192.0.2.2')), tun_dst: BigInt(ip('192.0.2.1')), tun_metadata_present: 1n, tun_metadata_value: 5n });
  });

  it('keeps the tunnel through a pause: the packet-in\'s match, sent back in NXT_RESUME, resumes with it', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('in_port=2,actions=controller(pause),IN_PORT'));
    const paused = xlateMiss(br, fromGeneve({ optClass: 0x102, type: 0x80, len: 4, data: 5n }))!;
    const pin = paused.sideEffects.packetIns[0]!;
    // The match a packet-in carries (as ofconn builds it), through the wire and back as the controller returns it.
    const match = Match.catchAll().set('in_port', 2);
    for (const [f, v] of Object.entries(pin.metadata) as [FieldId, bigint][]) match.set(f, v, f === 'tun_metadata_present' ? v : undefined);
    const packetIn = { type: 'packet_in' as const, bufferId: 0xffffffff, totalLen: 14, reason: 'action' as const, tableId: 0, cookie: 0n, match, data: Buffer.alloc(14), continuation: Buffer.from('c') };
    const session = { ...defaultSession(OFP13), packetInFormat: 'nxt_packet_in2' as const };
    const [wire] = encodeMessage({ type: 'nx_resume', packetIn }, session, 1);
    const back = decodeMessage(wire!, session).msg;
    expect(back.type === 'nx_resume' && formatMatch(back.packetIn.match)).toBe('tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_metadata0=0x5,in_port=2');
    const pipeline = back.type === 'nx_resume' ? back.packetIn.match.flow : match.flow;
    const r = xlateResume(br, Flow.of({ in_port: 2, dl_type: 0x88b5 }), pipeline, pin.continuation!);
    expect(formatActions(r.actions)).toBe('set(tunnel(tun_id=0x0,dst=192.0.2.2,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0x5}),flags(df|key))),7');
  });

  it('traces a flow with tun_metadata and shows it in the flow', () => {
    const br = geneveBridge();
    br.flowMod(parseFlowMod('priority=10,in_port=2,tun_metadata0=0x5,actions=output:1'));
    const out = ofprotoTrace(br, ['in_port=2,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_metadata0=0x5'], parseMatch);
    expect(out).toContain('Flow: tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_metadata0=0x5,in_port=2,');
    expect(out).toContain(' 0. tun_metadata0=0x5,in_port=2, priority 10\n    output:1\n');
  });
});
