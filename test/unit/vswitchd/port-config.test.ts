// OpenFlow port config on traffic: a port_mod's no-receive or down stops the
// port's ingress (the datapath caches a drop flow, which counts the frames),
// down stops its egress too, and clearing the bits brings traffic back.
import { describe, expect, it } from 'vitest';
import { output } from '../../../src/ofproto/actions.js';
import { flowMod } from '../../../src/ofproto/flow-table.js';
import { Match } from '../../../src/ofproto/match.js';
import { OFP13, type OfMessage } from '../../../src/openflow/messages.js';
import { eventually } from '../../helpers/eventually.js';
import { h1, h2, rig, udp, type Rig } from '../../helpers/ofconn-rig.js';

const NO_RECV = 4;
const PORT_DOWN = 1;

const portMod = (portNo: number, config: number, mask: number): OfMessage => ({ type: 'port_mod', portNo, hwAddr: BigInt(`0x02000000000${portNo}`), config, mask, advertise: 0 });
const forward = (inPort: number, outPort: number): OfMessage => ({
  type: 'flow_mod',
  mod: flowMod({ command: 'add', priority: 10, match: Match.of({ in_port: inPort }), instructions: { apply: [output(outPort)], clearActions: false } }),
});

/** The datapath's flows for frames from datapath port `dpPort`. */
function flowsFrom(r: Rig, dpPort: number) {
  return r.of.datapath.dumpFlows().filter((f) => f.key.readUInt32LE(0) === dpPort);
}

describe('port config from a port_mod', () => {
  it('no-receive drops what the port receives, counted on a drop flow, until it is cleared', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP13);
    await ch.ask(r.mgr, forward(1, 3));
    expect(await ch.ask(r.mgr, portMod(1, NO_RECV, NO_RECV))).toEqual([]);
    await ch.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2)]);
    await eventually(() => flowsFrom(r, r.dp[0]!).length === 1, 5000, 'a datapath flow for port 1');
    const [drop] = flowsFrom(r, r.dp[0]!);
    expect(drop!.actions.length).toBe(0);
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2), udp(h1, h2)]);
    await eventually(() => (flowsFrom(r, r.dp[0]!)[0]?.packets ?? 0) >= 2, 5000, 'the drop flow to count the frames');
    expect(r.of.datapath.takeTransmitted(r.dp[2]!)).toEqual([]);

    await ch.ask(r.mgr, portMod(1, 0, NO_RECV));
    await ch.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2, 7)]);
    expect(await r.of.datapath.nextTransmitted(r.dp[2]!)).toEqual([udp(h1, h2, 7)]);
  });

  it('down stops ingress and egress and is reported in port_status; up restores both', async () => {
    const r = rig({ defaultRule: false });
    const ch = r.connect(OFP13);
    await ch.ask(r.mgr, forward(1, 3));
    await ch.ask(r.mgr, forward(3, 1));
    await ch.ask(r.mgr, portMod(3, PORT_DOWN, PORT_DOWN));
    expect(ch.of('port_status')).toMatchObject([{ reason: 'modify', desc: { portNo: 3, config: PORT_DOWN } }]);
    expect(r.xb.port(3)).toMatchObject({ adminUp: false, noRecv: true });
    await ch.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[2]!, [udp(h2, h1)]);
    await eventually(() => flowsFrom(r, r.dp[2]!).length === 1, 5000, 'a datapath flow for port 3');
    expect(flowsFrom(r, r.dp[2]!)[0]!.actions.length).toBe(0);
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2)]);
    await eventually(() => flowsFrom(r, r.dp[0]!).length === 1, 5000, 'a datapath flow for port 1');
    expect(flowsFrom(r, r.dp[0]!)[0]!.actions.length).toBe(0);

    await ch.ask(r.mgr, portMod(3, 0, PORT_DOWN));
    await ch.ask(r.mgr, { type: 'barrier_request' });
    r.of.datapath.injectFrames(r.dp[0]!, [udp(h1, h2, 8)]);
    expect(await r.of.datapath.nextTransmitted(r.dp[2]!)).toEqual([udp(h1, h2, 8)]);
    r.of.datapath.injectFrames(r.dp[2]!, [udp(h2, h1, 9)]);
    expect(await r.of.datapath.nextTransmitted(r.dp[0]!)).toEqual([udp(h2, h1, 9)]);
  });
});
