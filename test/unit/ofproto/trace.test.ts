import { describe, expect, it } from 'vitest';
import { CommandRegistry } from '../../../src/lib/command-registry.js';
import { registerOfprotoCommands } from '../../../src/ofproto/commands.js';
import { ofprotoTrace, TraceArgError } from '../../../src/ofproto/trace.js';
import type { XBridge } from '../../../src/ofproto/xbridge.js';
import { parseMatch } from '../../../src/openflow/flow-syntax.js';
import { makeBridge } from './bridge-builder.js';

const FLOW = 'in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,dl_type=0x0800,nw_dst=10.0.0.2,nw_ttl=64';

describe('ofproto/trace', () => {
  it('prints the flow, each table with its rule, cookie and priority, the actions, final flow, megaflow and datapath actions', () => {
    const b = makeBridge([1, 2, 3], { defaultRule: false });
    b.add('table=0,priority=100,cookie=0x5,in_port=1,ip,actions=dec_ttl,goto_table:1', 'table=1,priority=7,actions=output:2');
    expect(ofprotoTrace(b.br, [FLOW], parseMatch)).toBe(
      [
        'Flow: ip,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,nw_src=0.0.0.0,nw_dst=10.0.0.2,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=64',
        '',
        'bridge("br0")',
        '-------------',
        ' 0. ip,in_port=1, priority 100, cookie 0x5',
        '    dec_ttl',
        '    goto_table:1',
        ' 1. priority 7',
        '    output:2',
        '',
        'Final flow: ip,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,nw_src=0.0.0.0,nw_dst=10.0.0.2,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=63',
        'Megaflow: recirc_id=0,eth,ip,in_port=1,nw_ttl=64,nw_frag=no',
        'Datapath actions: set(ipv4(ttl=63)),12',
        '',
      ].join('\n'),
    );
  });

  it('explains NORMAL decisions and shows the megaflow NORMAL needs', () => {
    const b = makeBridge([1, 2, 3]);
    const out = ofprotoTrace(b.br, [FLOW], parseMatch);
    expect(out).toContain(' 0. priority 0\n    NORMAL\n     -> no learned MAC for destination, flooding\n');
    expect(out).toContain('Megaflow: recirc_id=0,eth,ip,in_port=1,vlan_tci=0x0000/0x1fff,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,nw_frag=no\n');
    expect(out).toContain('Datapath actions: 12,13\n');
    // Tracing a flow does not learn.
    expect(b.br.mac.size).toBe(0);
  });

  it('says "No match." and drops on a miss', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    expect(ofprotoTrace(b.br, ['in_port=1'], parseMatch)).toContain(' 0. No match.\n    drop\n');
  });

  it('reports a resubmit loop as a failed translation', () => {
    const b = makeBridge([1, 2], { defaultRule: false });
    b.add('actions=resubmit(,0)');
    const out = ofprotoTrace(b.br, ['in_port=1'], parseMatch);
    expect(out).toContain('>>>> over max translation depth 64 <<<<');
    expect(out).toContain('Datapath actions: drop\n');
    expect(out).toContain('Translation failed (Recursion too deep), packet is dropped.');
  });

  it('traces a hex frame with in_port from the flow (by name too), learning like a real packet', () => {
    const b = makeBridge([1, 2, 3]);
    const frame = 'ffffffffffff' + '000000000001' + '0800' + '450000200000000040110000' + '0a000001' + '0a000002' + '0035003500080000';
    const out = ofprotoTrace(b.br, ['in_port=p1', frame], parseMatch);
    expect(out).toContain('Flow: udp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,tp_src=53,tp_dst=53\n');
    expect(out).toContain('learned that 00:00:00:00:00:01 is on port p1 in VLAN 0');
    expect(b.br.mac.lookup(1n, 0)).toBe(1);
  });

  it('rejects bad input with a sentence that says what to type', () => {
    const b = makeBridge([1, 2]);
    expect(() => ofprotoTrace(b.br, ['in_port=1,nw_dst=10.0.0.1'], parseMatch)).toThrow(TraceArgError);
    expect(() => ofprotoTrace(b.br, ['ffffffffffff0000000000010800aabbccdd'], parseMatch)).toThrow(/in_port/);
    expect(() => ofprotoTrace(b.br, ['in_port=9', 'ffffffffffff0000000000010800aabb'], parseMatch)).toThrow(/not a port/);
  });
});

describe('appctl commands', () => {
  function setup() {
    const b = makeBridge([1, 2, 3]);
    const reg = new CommandRegistry();
    registerOfprotoCommands(reg, new Map<string, XBridge>([['br0', b.br]]), parseMatch);
    return { b, reg };
  }

  it('fdb/show prints the MAC table as OVS does, with ages', async () => {
    const { b, reg } = setup();
    b.send({ in_port: 1, src: '50:54:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' });
    b.advance(2500);
    b.send({ in_port: 2, src: '50:54:00:00:00:02', dst: 'ff:ff:ff:ff:ff:ff', vlan: 10 });
    b.advance(1000);
    expect(await reg.run('fdb/show', ['br0'])).toEqual({
      ok: true,
      output: ' port  VLAN  MAC                Age\n    1     0  50:54:00:00:00:01    3\n    2    10  50:54:00:00:00:02    1\n',
    });
  });

  it('fdb/flush empties one bridge or all', async () => {
    const { b, reg } = setup();
    b.send({ in_port: 1, src: '50:54:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' });
    expect(await reg.run('fdb/flush', ['br0'])).toEqual({ ok: true, output: 'table successfully flushed\n' });
    expect(b.br.mac.size).toBe(0);
    b.send({ in_port: 1, src: '50:54:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' });
    await reg.run('fdb/flush');
    expect(b.br.mac.size).toBe(0);
  });

  it('ofproto/trace runs through the registry; errors come back as ok=false', async () => {
    const { reg } = setup();
    const r = await reg.run('ofproto/trace', ['br0', 'in_port=1']);
    expect(r.ok).toBe(true);
    expect(r.output).toContain('bridge("br0")');
    expect(await reg.run('ofproto/trace', ['br9', 'in_port=1'])).toEqual({ ok: false, output: 'br9: unknown bridge' });
    expect((await reg.run('fdb/show', ['nope'])).ok).toBe(false);
  });

  it('checks command names and argument counts', async () => {
    const { reg } = setup();
    expect(await reg.run('fdb/showw', ['br0'])).toMatchObject({ ok: false, output: expect.stringContaining('is not a valid command') });
    expect(await reg.run('fdb/show', [])).toMatchObject({ ok: false, output: expect.stringContaining('requires at least 1 arguments') });
    expect(await reg.run('fdb/show', ['a', 'b'])).toMatchObject({ ok: false, output: expect.stringContaining('at most 1 arguments') });
    expect((await reg.run('list-commands')).output).toContain('  ofproto/trace bridge br_flow [packet]\n');
    expect(() => reg.register('fdb/show', '', 0, 0, () => '')).toThrow(/already registered/);
  });
});
