import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Datapath } from '../../../src/datapath/dpif.js';
import { DatapathMeters } from '../../../src/ofproto/dpif-meters.js';
import { MeterTable, OFPM, type MeterConfig, type MeterMod, type MeterStats } from '../../../src/ofproto/meters.js';
import { formatMeter, formatMeterStats } from '../../../src/ofproto/print.js';
import { XBridge } from '../../../src/ofproto/xbridge.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { parseMeterMod } from '../../../src/openflow/meter-syntax.js';

const table = () => new MeterTable(() => 0);
const add = (t: MeterTable, s: string) => t.apply(parseMeterMod(s, 'add'));

let dp: Datapath | undefined;
afterEach(() => {
  dp?.close();
  dp = undefined;
});

describe('meter table', () => {
  it('adds, modifies and deletes meters, and deletes every meter for OFPM_ALL', () => {
    const t = table();
    add(t, 'meter=1,kbps,bands=type=drop,rate=1000');
    add(t, 'meter=2,pktps,bands=type=drop,rate=10');
    t.apply(parseMeterMod('meter=1,kbps,burst,bands=type=drop,rate=500,burst_size=50', 'modify'));
    expect(t.get(1)?.bands).toEqual([{ type: 'drop', rate: 500, burstSize: 50 }]);
    expect(t.apply(parseMeterMod('meter=7', 'delete'))).toEqual([]);
    expect(t.apply(parseMeterMod('', 'delete'))).toEqual([1, 2]);
    expect(t.dump()).toEqual([]);
  });

  it('refuses what OVS refuses, by the OpenFlow error name, and keeps the table as it was', () => {
    const t = table();
    add(t, 'meter=1,kbps,bands=type=drop,rate=1000');
    const mod = (m: Partial<MeterMod>) => (): number[] => t.apply({ command: 'add', meterId: 3, flags: { kbps: true }, bands: [{ type: 'drop', rate: 1, burstSize: 0 }], ...m });
    expect(() => add(t, 'meter=1,kbps,bands=type=drop,rate=1')).toThrow('OFPMMFC_METER_EXISTS: meter 1 already exists: use mod-meter to change it');
    expect(() => t.apply(parseMeterMod('meter=9,kbps,bands=type=drop,rate=1', 'modify'))).toThrow('OFPMMFC_UNKNOWN_METER: meter 9 does not exist: use add-meter first');
    expect(mod({ meterId: 0 })).toThrow('OFPMMFC_INVALID_METER');
    expect(mod({ meterId: OFPM.CONTROLLER })).toThrow('OFPMMFC_INVALID_METER');
    expect(mod({ flags: { kbps: true, pktps: true } })).toThrow('OFPMMFC_BAD_FLAGS: meter 3: kbps and pktps exclude each other');
    expect(mod({ bands: [] })).toThrow('OFPMMFC_BAD_BAND: meter 3 has no band');
    expect(mod({ bands: [{ type: 'drop', rate: 0, burstSize: 0 }] })).toThrow('OFPMMFC_BAD_RATE: meter 3 band 1: rate=0 must be 1-4294967295');
    expect(mod({ bands: [{ type: 'dscp_remark', rate: 5, burstSize: 0, precLevel: 4 }] })).toThrow('OFPMMFC_BAD_BAND_VALUE: meter 3 band 1: prec_level=4 must be 1, 2 or 3');
    expect(mod({ bands: Array.from({ length: 9 }, () => ({ type: 'drop' as const, rate: 1, burstSize: 0 })) })).toThrow('OFPMMFC_OUT_OF_BANDS');
    expect(t.dump().map((m) => m.meterId)).toEqual([1]);
  });

  it('enforces its meters in a datapath once attached, each with a datapath meter of its own, and forgets them when detached', () => {
    dp = Datapath.open({});
    const provider = new DatapathMeters(dp);
    const [a, b] = [table(), table()];
    add(a, 'meter=1,pktps,bands=type=drop,rate=10');
    a.attach(provider);
    b.attach(provider);
    add(b, 'meter=1,pktps,bands=type=drop,rate=20');
    const ids = [a.get(1)!.providerId!, b.get(1)!.providerId!];
    expect(new Set(ids).size).toBe(2);
    expect(ids.map((id) => dp!.meterStats(id))).toEqual([
      { packets: 0, bytes: 0, bands: [{ packets: 0, bytes: 0 }] },
      { packets: 0, bytes: 0, bands: [{ packets: 0, bytes: 0 }] },
    ]);
    a.detach();
    expect(dp.meterStats(ids[0]!)).toBeNull();
    expect(a.get(1)?.providerId).toBeUndefined();
    b.apply(parseMeterMod('meter=1', 'delete'));
    expect(dp.meterStats(ids[1]!)).toBeNull();
  });
});

describe('meters on a bridge', () => {
  const bridge = () => new XBridge({ name: 'br0', clock: () => 0 });

  it('deletes the rules that use a deleted meter, and counts the rules that use each', () => {
    const br = bridge();
    br.meterMod(parseMeterMod('meter=1,kbps,bands=type=drop,rate=1000', 'add'));
    br.meterMod(parseMeterMod('meter=2,kbps,bands=type=drop,rate=1000', 'add'));
    br.flowMod(parseFlowMod('priority=10,udp,actions=meter:1,output:2'));
    br.flowMod(parseFlowMod('priority=10,tcp,actions=meter:1,output:2'));
    br.flowMod(parseFlowMod('priority=10,icmp,actions=meter:2,output:2'));
    expect(br.meterStats(OFPM.ALL).map((s) => [s.meterId, s.flowCount])).toEqual([
      [1, 2],
      [2, 1],
    ]);
    const removed = br.meterMod(parseMeterMod('meter=1', 'delete'));
    expect(removed.map((r) => r.reason)).toEqual(['meter_delete', 'meter_delete']);
    expect(br.tables.dump().filter((r) => r.instructions.meter !== undefined).map((r) => r.instructions.meter)).toEqual([2]);
  });

  it('refuses a rule naming a meter it does not have, and a change of rules to one', () => {
    const br = bridge();
    expect(() => br.flowMod(parseFlowMod('udp,actions=meter:4,output:2'))).toThrow('OFPMMFC_INVALID_METER: meter:4 names a meter bridge br0 does not have: add-meter it first');
    expect(() => br.flowMod(parseFlowMod('udp,actions=meter:4,output:2', 'modify'))).toThrow('OFPMMFC_INVALID_METER');
    expect(br.tables.dump().some((r) => r.instructions.meter !== undefined)).toBe(false);
  });
});

/** A meter_mod (OpenFlow 1.3) for `m`, encoded here by hand so that ovs-ofctl can print it. */
function meterModHex(m: MeterConfig): string {
  const bands = m.bands.map((b) => {
    const x = Buffer.alloc(16);
    x.writeUInt16BE(b.type === 'drop' ? 1 : 2, 0);
    x.writeUInt16BE(16, 2);
    x.writeUInt32BE(b.rate, 4);
    x.writeUInt32BE(b.burstSize, 8);
    if (b.type === 'dscp_remark') x.writeUInt8(b.precLevel, 12);
    return x;
  });
  const body = Buffer.alloc(8);
  const f = m.flags;
  body.writeUInt16BE(0, 0);
  body.writeUInt16BE((f.kbps ? 1 : 0) | (f.pktps ? 2 : 0) | (f.burst ? 4 : 0) | (f.stats ? 8 : 0), 2);
  body.writeUInt32BE(m.meterId, 4);
  const header = Buffer.from([4, 29, 0, 0, 0, 0, 0, 0]);
  const msg = Buffer.concat([header, body, ...bands]);
  msg.writeUInt16BE(msg.length, 2);
  return msg.toString('hex');
}

/** An OpenFlow 1.3 OFPMP_METER reply holding `st`, encoded by hand for ovs-ofctl. */
function meterStatsReplyHex(st: MeterStats): string {
  const entry = Buffer.alloc(40 + 16 * st.bands.length);
  entry.writeUInt32BE(st.meterId, 0);
  entry.writeUInt16BE(entry.length, 4);
  entry.writeUInt32BE(st.flowCount, 12);
  entry.writeBigUInt64BE(st.packetInCount, 16);
  entry.writeBigUInt64BE(st.byteInCount, 24);
  entry.writeUInt32BE(Math.floor(st.durationMs / 1000), 32);
  entry.writeUInt32BE((st.durationMs % 1000) * 1e6, 36);
  st.bands.forEach((b, i) => {
    entry.writeBigUInt64BE(b.packetCount, 40 + 16 * i);
    entry.writeBigUInt64BE(b.byteCount, 48 + 16 * i);
  });
  const header = Buffer.from([4, 19, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0]);
  const msg = Buffer.concat([header, entry]);
  msg.writeUInt16BE(msg.length, 2);
  return msg.toString('hex');
}

describe('printing meters', () => {
  it.each([
    'meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100',
    'meter=2,pktps,bands=type=dscp_remark,rate=50,prec_level=1,type=drop,rate=100',
    'meter=4294901760,stats,bands=type=drop,rate=1',
  ])('prints %s as ovs-ofctl prints it', (text) => {
    const m = parseMeterMod(text, 'add');
    const ovs = execFileSync('ovs-ofctl', ['ofp-print', meterModHex(m)], { encoding: 'utf8' });
    expect(ovs).toBe(`OFPT_METER_MOD (OF1.3) (xid=0x0): ADD ${formatMeter(m)}\n`);
  });

  it('prints meter stats as ovs-ofctl prints a meter stats reply', () => {
    const st: MeterStats = { meterId: 1, flowCount: 2, packetInCount: 10n, byteInCount: 600n, durationMs: 1500, bands: [{ packetCount: 4n, byteCount: 240n }] };
    const ovs = execFileSync('ovs-ofctl', ['ofp-print', meterStatsReplyHex(st)], { encoding: 'utf8' });
    expect(ovs).toBe(`OFPST_METER reply (OF1.3) (xid=0x0):\n${formatMeterStats(st)}\n`);
    expect(formatMeterStats(st)).toBe('meter:1 flow_count:2 packet_in_count:10 byte_in_count:600 duration:1.500s bands:\n0: packet_count:4 byte_count:240');
  });
});
