import { describe, expect, it } from 'vitest';
import { OFPM } from '../../../src/ofproto/meters.js';
import { formatFlow } from '../../../src/ofproto/print.js';
import { parseFlowMod } from '../../../src/openflow/flow-syntax.js';
import { parseMeterId, parseMeterMod } from '../../../src/openflow/meter-syntax.js';

describe("ovs-ofctl's meter syntax", () => {
  it('reads flags and bands, each band from its type=', () => {
    expect(parseMeterMod('meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100', 'add')).toEqual({
      command: 'add',
      meterId: 1,
      flags: { kbps: true, burst: true, stats: true },
      bands: [{ type: 'drop', rate: 1000, burstSize: 100 }],
    });
    expect(parseMeterMod('meter=2 pktps band=type=dscp_remark,rate=50,prec_level=2 type=drop rate=100', 'modify').bands).toEqual([
      { type: 'dscp_remark', rate: 50, burstSize: 0, precLevel: 2 },
      { type: 'drop', rate: 100, burstSize: 0 },
    ]);
  });

  it('reads the meter of del-meters, dump-meters and meter-stats, every meter when none is named', () => {
    expect(parseMeterMod('meter=5', 'delete').meterId).toBe(5);
    expect(parseMeterMod('', 'delete').meterId).toBe(OFPM.ALL);
    expect(parseMeterId('meter=all')).toBe(OFPM.ALL);
    expect(parseMeterId('meter=controller')).toBe(OFPM.CONTROLLER);
  });

  it.each([
    ['meter=1,kbps', 'must specify bands'],
    ['kbps,bands=type=drop,rate=1', "must specify 'meter'"],
    ['meter=1,bands=type=drop,rate=1', "meter must specify either 'kbps' or 'pktps'"],
    ['meter=0,kbps,bands=type=drop,rate=1', 'invalid value for meter: 0'],
    ['meter=1,kbps,bands=rate=1', "band must start with the 'type' keyword"],
    ['meter=1,kbps,bands=type=police,rate=1', 'field type unknown value police'],
    ['meter=1,kbps,bands=type=drop', "band must have 'rate'"],
    ['meter=1,kbps,bands=type=dscp_remark,rate=1', "'dscp_remark' band must have 'prec_level'"],
    ['meter=1,kbps,bands=type=drop,rate=1,prec_level=1', "Only 'dscp_remark' band may have 'prec_level'"],
    ['meter=1,kbps,burst,bands=type=drop,rate=1', "band must have 'burst_size' when 'burst' flag is set"],
    ['meter=1,kbps,bands=type=drop,rate=1,burst_size=5', "band may have 'burst_size' only when 'burst' flag is set"],
    ['meter=1,kbps,fast,bands=type=drop,rate=1', 'unknown keyword fast'],
    ['meter=1,kbps,bands=type=drop,rate=x', 'invalid rate "x"'],
  ])('refuses %s with the words ovs-ofctl uses', (text, message) => {
    expect(() => parseMeterMod(text, 'add')).toThrow(message);
  });

  it('puts meter:N in a flow before its actions, and reads it back', () => {
    const fm = parseFlowMod('priority=5,udp,actions=meter:3,output:2');
    expect(fm.instructions.meter).toBe(3);
    expect(formatFlow(fm)).toBe('priority=5,udp actions=meter:3,output:2');
    expect(() => parseFlowMod('udp,actions=output:2,meter:3')).toThrow('instruction meter may not follow instruction apply_actions');
    expect(() => parseFlowMod('udp,actions=meter:4294967295')).toThrow('invalid meter id');
  });
});
