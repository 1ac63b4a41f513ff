import { describe, expect, it } from 'vitest';
import { OfDecodeError, OfReader, OfWriter } from '../../../src/openflow/codec/buffer.js';
import {
  decodeFlowMod, decodeFlowRemoved, decodeFlowStats, decodeFlowStatsRequest, decodeGroupDesc, decodeGroupMod, decodeMeterConfig, decodeMeterMod,
  decodePacketIn, decodePacketOut, encodeFlowMod, encodeFlowRemoved, encodeFlowStats, encodeFlowStatsRequest, encodeGroupDesc, encodeGroupMod,
  encodeMeterConfig, encodeMeterMod, encodePacketIn, encodePacketOut,
} from '../../../src/openflow/codec/flow-messages.js';
import { putEntry } from '../../../src/openflow/codec/match.js';
import { parseFlowMod, parseGroupMod, parseMatch } from '../../../src/openflow/flow-syntax.js';
import { OFP10, OFP13, OFP15, SUPPORTED_VERSIONS, defaultSession, type Session } from '../../../src/openflow/messages.js';
import { OFPG, OFPP, output } from '../../../src/ofproto/actions.js';
import { Match } from '../../../src/ofproto/match.js';
import { FLOW_CORPUS } from './flow-corpus.js';
import { frame, ofpPrint } from './ovs-oracle.js';
import { xorshift32 } from '../../../scripts/fuzz/mutate.js';

const OF13 = defaultSession(OFP13);
const NXM: Session = { ...defaultSession(OFP10), flowFormat: 'nxm' };

/** A 1.3 flow_mod body whose OXM match is exactly `entries` (built by `put`) and actions are `actions`. */
function flowModWithMatch(put: (w: OfWriter) => void, instructions: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = encodeFlowMod(parseFlowMod('actions=drop'), OF13, 'ofp').subarray(0, 40);
  const m = new OfWriter();
  put(m);
  const entries = m.finish();
  const match = new OfWriter().u16(1).u16(4 + entries.length).bytes(entries).finish();
  const padded = Buffer.concat([match, Buffer.alloc((8 - (match.length % 8)) % 8)]);
  return Buffer.concat([head, padded, instructions]);
}

/** An apply_actions instruction holding raw action bytes. */
function applyActions(actions: Uint8Array): Buffer {
  return Buffer.concat([new OfWriter().u16(4).u16(8 + actions.length).zeros(4).finish(), actions]);
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OfDecodeError);
    return (e as OfDecodeError).name;
  }
  throw new Error('decoded without an error');
}

const BASIC = 0x8000;

describe('malformed matches get the error OVS answers', () => {
  const decode = (body: Buffer) => () => decodeFlowMod(new OfReader(body), OF13, 'ofp');

  it('an unknown field is OFPBMC_BAD_FIELD', () => {
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: BASIC, field: 39 }, 2, 0n))))).toBe('OFPBMC_BAD_FIELD');
  });

  it('a field of the wrong length is OFPBMC_BAD_LEN', () => {
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: BASIC, field: 5 }, 4, 0x800n))))).toBe('OFPBMC_BAD_LEN');
  });

  it('a field given twice is OFPBMC_DUP_FIELD', () => {
    expect(errorOf(decode(flowModWithMatch((w) => {
      putEntry(w, { cls: BASIC, field: 5 }, 2, 0x800n);
      putEntry(w, { cls: BASIC, field: 5 }, 2, 0x806n);
    })))).toBe('OFPBMC_DUP_FIELD');
  });

  it('a field before its prerequisite is OFPBMC_BAD_PREREQ', () => {
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: BASIC, field: 12 }, 4, 0x0a000001n))))).toBe('OFPBMC_BAD_PREREQ');
  });

  it('a value with bits outside its mask is OFPBMC_BAD_WILDCARDS', () => {
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: BASIC, field: 4 }, 6, 0xffn, 0xf0n))))).toBe('OFPBMC_BAD_WILDCARDS');
  });

  it('a mask on a field that takes none is OFPBMC_BAD_MASK', () => {
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: BASIC, field: 5 }, 2, 0x800n, 0xff00n))))).toBe('OFPBMC_BAD_MASK');
  });

  it('a vlan_pcp above 7 is OFPBMC_BAD_VALUE', () => {
    expect(errorOf(decode(flowModWithMatch((w) => {
      putEntry(w, { cls: BASIC, field: 6 }, 2, 0x1005n);
      putEntry(w, { cls: BASIC, field: 7 }, 1, 9n);
    })))).toBe('OFPBMC_BAD_VALUE');
  });

  it('reads xreg1 and xxreg1 into the 32-bit registers they are made of', () => {
    const body = flowModWithMatch((w) => {
      putEntry(w, { cls: 0x8001, field: 1 }, 8, 0x1234n);
      putEntry(w, { cls: 1, field: 112 }, 16, 0x5n, 0xffn);
    });
    expect(ofpPrint(frame(OFP13, 14, body))).toBe('ADD reg2=0,reg3=0x1234,reg7=0x5/0xff actions=drop');
    expect(decode(body)().match.equals(parseMatch('reg2=0,reg3=0x1234,reg7=0x5/0xff'))).toBe(true);
  });

  it('a wide register over a register already matched is OFPBMC_DUP_FIELD', () => {
    expect(errorOf(decode(flowModWithMatch((w) => {
      putEntry(w, { cls: 1, field: 2 }, 4, 1n);
      putEntry(w, { cls: 0x8001, field: 1 }, 8, 0x1234n);
    })))).toBe('OFPBMC_DUP_FIELD');
  });

  it('fields TVS has no storage for (xreg8, ct_state, ct_zone) stay OFPBMC_BAD_FIELD', () => {
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: 0x8001, field: 8 }, 8, 1n))))).toBe('OFPBMC_BAD_FIELD');
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: 1, field: 105 }, 4, 0x20n))))).toBe('OFPBMC_BAD_FIELD');
    expect(errorOf(decode(flowModWithMatch((w) => putEntry(w, { cls: 1, field: 106 }, 2, 1n))))).toBe('OFPBMC_BAD_FIELD');
  });

  it('a match length beyond the message is OFPBMC_BAD_LEN', () => {
    const body = flowModWithMatch((w) => putEntry(w, { cls: BASIC, field: 5 }, 2, 0x800n));
    body.writeUInt16BE(200, 42);
    expect(errorOf(decode(body))).toBe('OFPBMC_BAD_LEN');
  });
});

describe('malformed actions and instructions get the error OVS answers', () => {
  const decode = (ins: Uint8Array) => () => decodeFlowMod(new OfReader(flowModWithMatch(() => undefined, ins)), OF13, 'ofp');
  const action = (type: number, body: string) => {
    const b = Buffer.from(body, 'hex');
    return new OfWriter().u16(type).u16(4 + b.length).bytes(b).finish();
  };

  it('an unknown action type is OFPBAC_BAD_TYPE', () => {
    expect(errorOf(decode(applyActions(action(99, '00000000'))))).toBe('OFPBAC_BAD_TYPE');
  });

  it('an action whose length is not a multiple of 8 is OFPBAC_BAD_LEN', () => {
    expect(errorOf(decode(applyActions(action(0, '000000010000000000000000')).subarray(0, 20)))).toBe('OFPBIC_BAD_LEN');
    const bad = action(0, '00000001ffff000000000000');
    bad.writeUInt16BE(12, 2);
    expect(errorOf(decode(applyActions(bad)))).toBe('OFPBAC_BAD_LEN');
  });

  it('output to OFPP_ANY is OFPBAC_BAD_OUT_PORT', () => {
    expect(errorOf(decode(applyActions(action(0, 'ffffffff0000000000000000'))))).toBe('OFPBAC_BAD_OUT_PORT');
  });

  it('set_field of an unknown field is OFPBAC_BAD_SET_TYPE, and a masked one before 1.5 OFPBAC_BAD_SET_MASK', () => {
    expect(errorOf(decode(applyActions(action(25, '80004e02' + '0000' + '000000000000'))))).toBe('OFPBAC_BAD_SET_TYPE');
    expect(errorOf(decode(applyActions(action(25, '8000090c' + '001122334455' + 'ffffff000000' + '00000000'))))).toBe('OFPBAC_BAD_SET_MASK');
  });

  it('an unknown Nicira action is OFPBAC_BAD_VENDOR_TYPE, another vendor OFPBAC_BAD_VENDOR', () => {
    expect(errorOf(decode(applyActions(action(0xffff, '00002320' + '00fe' + '000000000000'))))).toBe('OFPBAC_BAD_VENDOR_TYPE');
    expect(errorOf(decode(applyActions(action(0xffff, '00001234' + '0001' + '000000000000'))))).toBe('OFPBAC_BAD_VENDOR');
  });

  it('a load whose value does not fit its bits is OFPBAC_BAD_ARGUMENT', () => {
    // NXAST_REG_LOAD of 0x100 into NXM_NX_REG0[0..7].
    expect(errorOf(decode(applyActions(action(0xffff, '00002320' + '0007' + '0007' + '00010004' + '0000000000000100'))))).toBe('OFPBAC_BAD_ARGUMENT');
  });

  it('NXAST_CONTROLLER2 with only a max_len is an output to CONTROLLER; with userdata it is controller(userdata=...)', () => {
    // NXAST_CONTROLLER2 with NXAC2PT_MAX_LEN 128 (a 2-byte value, as older OVS wrote it).
    const maxLen = action(0xffff, '00002320' + '0025' + '000000000000' + '0000000600800000');
    const body = flowModWithMatch(() => undefined, applyActions(maxLen));
    expect(ofpPrint(frame(OFP13, 14, body))).toBe('ADD actions=CONTROLLER:128');
    expect(decodeFlowMod(new OfReader(body), OF13, 'ofp').instructions.apply).toEqual([output(OFPP.CONTROLLER, 128)]);
    // ... with NXAC2PT_USERDATA 01.02 instead.
    const userdata = flowModWithMatch(() => undefined, applyActions(action(0xffff, '00002320' + '0025' + '000000000000' + '0003000601020000')));
    expect(ofpPrint(frame(OFP13, 14, userdata))).toBe('ADD actions=controller(userdata=01.02)');
    expect(decodeFlowMod(new OfReader(userdata), OF13, 'ofp').instructions.apply).toEqual([
      { type: 'controller', maxLen: 0xffff, reason: 'action', controllerId: 0, pause: false, userdata: Buffer.from([1, 2]) },
    ]);
  });

  it('output_reg of more than 32 bits is OFPBAC_BAD_ARGUMENT: a port number is at most 32 bits', () => {
    // NXAST_OUTPUT_REG of OXM_OF_PKT_REG0[0..63].
    const wide = decode(applyActions(action(0xffff, '00002320' + '000f' + '003f' + '80010008' + '0000' + '000000000000')));
    expect(errorOf(wide)).toBe('OFPBAC_BAD_ARGUMENT');
    expect(wide).toThrow(/a port number is at most 32 bits/);
  });

  it('a controller action with a packet-in reason TVS does not know is OFPBAC_BAD_ARGUMENT, a short property OFPBPC_BAD_LEN', () => {
    // NXAST_CONTROLLER with reason 9.
    expect(errorOf(decode(applyActions(action(0xffff, '00002320' + '0014' + 'ffff' + '0000' + '0900'))))).toBe('OFPBAC_BAD_ARGUMENT');
    // NXAST_CONTROLLER2 whose NXAC2PT_METER_ID has 2 bytes, not 4.
    expect(errorOf(decode(applyActions(action(0xffff, '00002320' + '0025' + '000000000000' + '0005000600050000'))))).toBe('OFPBPC_BAD_LEN');
  });

  it('an unknown instruction is OFPBIC_UNKNOWN_INST, a repeated one OFPBIC_DUP_INST', () => {
    expect(errorOf(decode(new OfWriter().u16(77).u16(8).zeros(4).finish()))).toBe('OFPBIC_UNKNOWN_INST');
    const gotoTable = new OfWriter().u16(1).u16(8).u8(3).zeros(3).finish();
    expect(errorOf(decode(Buffer.concat([gotoTable, gotoTable])))).toBe('OFPBIC_DUP_INST');
  });

  it('the meter instruction is the rule\'s meter; a second one is OFPBIC_DUP_INST', () => {
    const meter = new OfWriter().u16(6).u16(8).u32(7).finish();
    expect(decode(meter)().instructions.meter).toBe(7);
    expect(errorOf(decode(Buffer.concat([meter, meter])))).toBe('OFPBIC_DUP_INST');
  });

  it('OpenFlow 1.5\'s meter action is the rule\'s meter only first among apply-actions (OFPBAC_UNSUPPORTED_ORDER elsewhere)', () => {
    const OF15 = defaultSession(OFP15);
    // A 1.5 flow_mod with no instructions, then `ins`.
    const body = (ins: Buffer) => Buffer.concat([encodeFlowMod(parseFlowMod('actions=drop'), OF15, 'ofp'), ins]);
    const meter = action(29, '00000005');
    const out = action(0, '00000001ffff000000000000');
    expect(decodeFlowMod(new OfReader(body(applyActions(Buffer.concat([meter, out])))), OF15, 'ofp').instructions).toMatchObject({ meter: 5, apply: [output(1, 0xffff)] });
    expect(errorOf(() => decodeFlowMod(new OfReader(body(applyActions(Buffer.concat([out, meter])))), OF15, 'ofp'))).toBe('OFPBAC_UNSUPPORTED_ORDER');
    expect(errorOf(() => decodeFlowMod(new OfReader(body(Buffer.concat([new OfWriter().u16(3).u16(16).zeros(4).finish(), meter]))), OF15, 'ofp'))).toBe('OFPBAC_UNSUPPORTED_ORDER');
    // OpenFlow 1.3 has no action 29.
    expect(errorOf(decode(applyActions(meter)))).toBe('OFPBAC_BAD_TYPE');
  });

  it('an unknown flow_mod command is OFPFMFC_BAD_COMMAND', () => {
    const body = encodeFlowMod(parseFlowMod('actions=drop'), OF13, 'ofp');
    body.writeUInt8(9, 17);
    expect(errorOf(() => decodeFlowMod(new OfReader(body), OF13, 'ofp'))).toBe('OFPFMFC_BAD_COMMAND');
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: whatever the bytes, a decoder returns a value or throws OfDecodeError.

const SESSIONS: Session[] = SUPPORTED_VERSIONS.map((v) => ({ ...defaultSession(v), flowModTableId: v === OFP10 }));
const NX_SESSIONS: Session[] = [{ ...NXM, flowModTableId: true }];

type Decoder = { name: string; s: Session; decode: (r: OfReader) => unknown; seeds: Buffer[] };

/** Every decoder in every session, with valid bodies to mutate. */
function decoders(): Decoder[] {
  const out: Decoder[] = [];
  const flows = FLOW_CORPUS.map((f) => parseFlowMod(f));
  const tryEncode = (f: () => Buffer): Buffer[] => {
    try {
      return [f()];
    } catch {
      return [];
    }
  };
  for (const s of [...SESSIONS, ...NX_SESSIONS]) {
    const wire = NX_SESSIONS.includes(s) ? 'nx' : 'ofp';
    const removed = { type: 'flow_removed' as const, cookie: 1n, priority: 1, reason: 'delete' as const, tableId: 1, durationMs: 5, idleTimeout: 1, hardTimeout: 2, packetCount: 1n, byteCount: 2n, match: parseMatch('tcp,tp_dst=80') };
    const pin = { type: 'packet_in' as const, bufferId: 0xffffffff, totalLen: 4, reason: 'action' as const, tableId: 1, cookie: 2n, match: Match.of({ in_port: 1, reg0: 2 }), data: Buffer.from('abcd'), userdata: Buffer.from('x') };
    const stats = flows.map((fm) => ({ tableId: 1, durationMs: 5, priority: fm.priority, idleTimeout: 0, hardTimeout: 0, flags: fm.flags, importance: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, idleAgeMs: 0, hardAgeMs: 0, match: fm.match, instructions: fm.instructions }));
    const req = { kind: 'flow' as const, tableId: 255, match: parseMatch('ip,reg1=3'), outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n };
    const group = parseGroupMod('group_id=5,type=select,bucket=weight:3,actions=output:2,load:0x1->NXM_NX_REG0[]');
    const meter = { command: 'add' as const, meterId: 1, flags: { kbps: true }, bands: [{ type: 'drop' as const, rate: 5, burstSize: 0 }] };
    out.push(
      { name: 'flow_mod', s, decode: (r) => decodeFlowMod(r, s, wire), seeds: flows.flatMap((fm) => tryEncode(() => encodeFlowMod(fm, s, wire))) },
      { name: 'flow_removed', s, decode: (r) => decodeFlowRemoved(r, s, wire), seeds: tryEncode(() => encodeFlowRemoved(removed, s, wire)) },
      { name: 'packet_in', s, decode: (r) => decodePacketIn(r, s, wire), seeds: tryEncode(() => encodePacketIn(pin, s, wire)) },
      { name: 'packet_in2', s, decode: (r) => decodePacketIn(r, s, 'nx2'), seeds: tryEncode(() => encodePacketIn(pin, s, 'nx2')) },
      { name: 'packet_out', s, decode: (r) => decodePacketOut(r, s), seeds: tryEncode(() => encodePacketOut({ type: 'packet_out', bufferId: 0xffffffff, inPort: 1, actions: [output(2)], data: Buffer.from('ab') }, s)) },
      { name: 'flow_stats', s, decode: (r) => decodeFlowStats(r, s, wire), seeds: stats.flatMap((f) => tryEncode(() => encodeFlowStats(f, s, wire))) },
      { name: 'flow_stats_request', s, decode: (r) => decodeFlowStatsRequest(r, s, wire, 'flow'), seeds: tryEncode(() => encodeFlowStatsRequest(req, s, wire)) },
      { name: 'group_mod', s, decode: (r) => decodeGroupMod(r, s), seeds: tryEncode(() => encodeGroupMod(group, s)) },
      { name: 'group_desc', s, decode: (r) => decodeGroupDesc(r, s), seeds: tryEncode(() => encodeGroupDesc(group, s)) },
      { name: 'meter_mod', s, decode: (r) => decodeMeterMod(r, s), seeds: tryEncode(() => encodeMeterMod(meter, s)) },
      { name: 'meter_config', s, decode: (r) => decodeMeterConfig(r, s), seeds: tryEncode(() => encodeMeterConfig(meter, s)) },
    );
  }
  return out;
}

function mutate(seed: Buffer, next: () => number): Buffer {
  const b = Buffer.from(seed);
  const n = 1 + Math.floor(next() * 4);
  for (let i = 0; i < n; i++) {
    const kind = next();
    if (b.length === 0) break;
    const at = Math.floor(next() * b.length);
    if (kind < 0.5) b[at] = Math.floor(next() * 256);
    else if (kind < 0.7) b[at] = b[at]! ^ (1 << Math.floor(next() * 8));
    else if (kind < 0.85 && at + 1 < b.length) b.writeUInt16BE(Math.floor(next() * 0x10000), at);
    else return b.subarray(0, at);
  }
  return b;
}

describe('fuzzing the decoders', () => {
  it('answers random and mutated bodies with OfDecodeError and nothing else (thousands per decoder)', () => {
    const next = xorshift32(0x7e57);
    let decoded = 0;
    let refused = 0;
    for (const d of decoders()) {
      const tries = d.seeds.length ? 1500 : 300;
      for (let i = 0; i < tries; i++) {
        const body = d.seeds.length && i % 5 ? mutate(d.seeds[i % d.seeds.length]!, next) : Buffer.from(Array.from({ length: Math.floor(next() * 120) }, () => Math.floor(next() * 256)));
        try {
          d.decode(new OfReader(body));
          decoded++;
        } catch (e) {
          if (!(e instanceof OfDecodeError)) throw new Error(`${d.name} (OpenFlow 0x0${d.s.version}, ${d.s.flowFormat}) threw ${String(e)} on ${body.toString('hex')}`, { cause: e });
          refused++;
        }
      }
    }
    // Both outcomes happen: mutations are neither all fatal nor all harmless.
    expect(decoded).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(10_000);
  });
});
