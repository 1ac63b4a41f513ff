// Frames crossing the switch through the kind of multi-table pipeline ovn-controller installs:
// table 0 classifies the input port into a logical datapath (metadata) and inport (reg14), table
// 8 looks the destination MAC up and loads the logical outport (reg15), table 32 maps it to a
// physical port in reg13 (through the 128-bit xxreg0 and the stack, as OVN's wider actions do),
// table 65 outputs to that register. And OVN's ARP responder, whose answer a host really gets.
import { afterEach, describe, expect, it } from 'vitest';
import type { DummyHost } from '../../src/api/dummy-host.js';
import { arpFrame, BROADCAST, frameFields } from '../../src/api/frames.js';
import type { Switch } from '../../src/api/switch.js';
import { dummyLan, sentBeforeMarker, stopDummyLans } from '../helpers/dummy-lan.js';

afterEach(stopDummyLans);

const same = (frame: Buffer) => (f: Buffer) => f.equals(frame);

/** The logical switch of hosts h1..hN (MAC 02:00:00:00:00:0N on port N), replacing br0's NORMAL flow. */
async function installLogicalSwitch(sw: Switch<DummyHost>, hosts: DummyHost[]): Promise<void> {
  await sw.delFlows('br0');
  const flows: string[] = [];
  for (const [i, h] of hosts.entries()) {
    const port = i + 1;
    flows.push(
      `table=0,priority=100,in_port=${port},actions=load:0x1->OXM_OF_METADATA[],load:${port}->NXM_NX_REG14[],resubmit(,8)`,
      `table=8,priority=50,metadata=0x1,dl_dst=${h.mac},actions=load:${port}->NXM_NX_REG15[],resubmit(,32)`,
      // The physical port goes through xxreg0 (bits 96..127 are reg0) and the stack before reg13.
      `table=32,priority=100,metadata=0x1,reg15=${port},actions=load:${port}->NXM_NX_XXREG0[96..111],push:NXM_NX_XXREG0[96..127],pop:NXM_NX_REG13[],resubmit(,65)`,
    );
  }
  // Broadcasts go to every port: one pass through table 65 per logical port, as OVN's multicast groups do.
  const everyPort = hosts.map((_, i) => `load:${i + 1}->NXM_NX_REG13[],resubmit(,65)`).join(',');
  flows.push(`table=8,priority=60,metadata=0x1,dl_dst=${BROADCAST},actions=${everyPort}`, 'table=65,priority=100,actions=output:NXM_NX_REG13[]');
  for (const f of flows) await sw.addFlow('br0', f);
}

describe('an OVN-shaped pipeline on dummy hosts', () => {
  it('delivers a unicast frame through four tables to the port its destination MAC names, and to no other', async () => {
    const { sw, hosts } = await dummyLan(3);
    const [h1, h2, h3] = hosts;
    await installLogicalSwitch(sw, hosts);
    const toH2 = h1.udpTo(h2, { sport: 1000, dport: 2000 });
    const toH3 = h2.udpTo(h3, { sport: 3000, dport: 4000 });
    h1.send(toH2);
    h2.send(toH3);
    expect(await h2.receive({ match: same(toH2) })).toEqual([toH2]);
    expect(await h3.receive({ match: same(toH3) })).toEqual([toH3]);
    // Each host got only its own frame: the copies would have come with these.
    expect([h1.drain(), h2.drain(same(toH3)), h3.drain(same(toH2))]).toEqual([[], [], []]);
  });

  it('shows every table, the register output and the port it held in ofproto/trace', async () => {
    const { sw, hosts } = await dummyLan(2);
    await installLogicalSwitch(sw, hosts);
    const trace = await sw.appctl('ofproto/trace', 'br0', `in_port=1,dl_dst=${hosts[1].mac}`);
    expect(trace).toMatch(/^ 0\. in_port=1, priority 100\n {4}load:0x1->OXM_OF_METADATA\[\]\n {4}load:0x1->NXM_NX_REG14\[\]\n {4}resubmit\(,8\)$/m);
    expect(trace).toMatch(/^ 8\. metadata=0x1,dl_dst=02:00:00:00:00:02, priority 50\n/m);
    expect(trace).toMatch(/^32\. reg15=0x2,metadata=0x1, priority 100\n {4}load:0x2->NXM_NX_XXREG0\[96\.\.111\]\n {4}push:NXM_NX_XXREG0\[96\.\.127\]\n {4}pop:NXM_NX_REG13\[\]\n/m);
    expect(trace).toMatch(/^65\. priority 100\n {4}output:NXM_NX_REG13\[\]\n {5}-> NXM_NX_REG13\[\] holds port 2\n/m);
    expect(trace).toMatch(/^Datapath actions: 3$/m);
  });

  it('keeps the frames of the cached megaflow going the same way as the first one', async () => {
    const { sw, hosts } = await dummyLan(3);
    const [h1, h2, h3] = hosts;
    await installLogicalSwitch(sw, hosts);
    const frames = [1, 2, 3, 4, 5].map((n) => h1.udpTo(h2, { sport: 1000 + n, dport: 2000 }));
    expect(await sentBeforeMarker(h1, frames, h2)).toEqual(frames);
    expect(h3.drain(() => true).filter((f) => frames.some((s) => s.equals(f)))).toEqual([]);
  });

  it('floods a broadcast through table 65 once per port, skipping the one it came in on', async () => {
    const { sw, hosts } = await dummyLan(3);
    const [h1, h2, h3] = hosts;
    await installLogicalSwitch(sw, hosts);
    const bcast = h2.udpTo({ ip: '10.0.0.255', mac: BROADCAST }, { sport: 7, dport: 7 });
    h2.send(bcast);
    expect(await h1.receive({ match: same(bcast) })).toEqual([bcast]);
    expect(await h3.receive({ match: same(bcast) })).toEqual([bcast]);
    expect(h2.drain(same(bcast))).toEqual([]);
  });

  it('lets hosts ping each other once ARP is answered by the pipeline too', async () => {
    const { sw, hosts } = await dummyLan(2);
    const [h1, h2] = hosts;
    await installLogicalSwitch(sw, hosts);
    expect(await h1.ping(h2.ip, { count: 2 })).toBe(2);
  });
});

/** OVN's ARP responder for 10.0.0.254 at 02:00:00:00:00:fe (ls_in_arp_rsp), answering out of the input port. */
const ROUTER = { ip: '10.0.0.254', mac: '02:00:00:00:00:fe' };
const ARP_RESPONDER =
  `table=0,priority=100,arp,arp_tpa=${ROUTER.ip},arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:${ROUTER.mac}->eth_src,load:0x2->NXM_OF_ARP_OP[],` +
  `move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:${ROUTER.mac}->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:${ROUTER.ip}->arp_spa,IN_PORT`;

describe("OVN's ARP responder on dummy hosts", () => {
  it('answers a host that resolves the router address, with the router MAC', async () => {
    const { sw, hosts: [h1] } = await dummyLan(2);
    await sw.addFlow('br0', ARP_RESPONDER);
    expect(await h1.resolve(ROUTER.ip)).toBe(ROUTER.mac);
  });

  it('rewrites every field of the request into a well-formed reply, for the first frame and the cached flow alike', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addFlow('br0', ARP_RESPONDER);
    const isReply = (f: Buffer) => frameFields(f)['arp.op'] === 2;
    for (const [i, h] of [h1, h2, h1].entries()) {
      h.send(arpFrame({ op: 'request', src: h.mac, dst: BROADCAST, senderMac: h.mac, senderIp: h.ip, targetIp: ROUTER.ip }));
      const [reply] = await h.receive({ match: isReply });
      expect(frameFields(reply!), `reply ${i + 1}`).toMatchObject({
        'eth.src': ROUTER.mac,
        'eth.dst': h.mac,
        'arp.op': 2,
        'arp.sha': ROUTER.mac,
        'arp.sip': ROUTER.ip,
        'arp.tha': h.mac,
        'arp.tip': h.ip,
      });
    }
  });

  it('leaves requests for other addresses to the rest of the tables', async () => {
    const { sw, hosts: [h1, h2] } = await dummyLan(2);
    await sw.addFlow('br0', ARP_RESPONDER);
    // br0's priority-0 NORMAL rule is still there: h2 answers for itself.
    expect(await h1.resolve(h2.ip)).toBe(h2.mac);
  });
});
