// Geneve tun_metadata between TVS and software we did not write: Debian's OVS (userspace
// datapath) on host B and TVS on host A, each with OVN's option (class 0x102, type 0x80, 4 bytes)
// mapped to tun_metadata0 by add-tlv-map. Each side sets tun_metadata0 on what its VM sends into
// the tunnel and delivers to its VM only what carries the value the other side sets: ping works
// both ways, and stops when either side expects another value.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ping } from '../../src/lib/netns.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';
import { Overlay, OVERLAY_PREFIX, type OvsSwitch, type TvsSwitch, type VmHost } from '../helpers/overlay.js';
import { runForExit } from '../helpers/run-exit.js';

const OVN_OPTION = '{class=0x102,type=0x80,len=4}->tun_metadata0';

describe.skipIf(!ovsReferenceAvailable())('Geneve tun_metadata0 between TVS and Open vSwitch', () => {
  let overlay: Overlay;
  let tvs: TvsSwitch;
  let ovs: OvsSwitch;
  let vmA: VmHost;
  let vmB: VmHost;

  const ovsOfctl = async (...args: string[]): Promise<string> => {
    const r = await runForExit('ovs-ofctl', [args[0]!, `unix:${join(ovs.dir, 'br-int.mgmt')}`, ...args.slice(1)]);
    if (r.code !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ofport = async (sw: { vsctl(...a: string[]): Promise<string> }, name: string) => (await sw.vsctl('get', 'interface', name, 'ofport')).trim();

  /** TVS delivers from the tunnel only frames with tun_metadata0=`tvsExpects`, OVS only those with `ovsExpects`. */
  async function expectValues(tvsExpects: number, ovsExpects: number): Promise<void> {
    const tvsTun = await ofport(tvs, 'tun0');
    const ovsTun = await ofport(ovs, 'tun0');
    await tvs.ofctl('del-flows', 'br0', `in_port=${tvsTun}`);
    await ovsOfctl('del-flows', `in_port=${ovsTun}`);
    await tvs.ofctl('add-flow', 'br0', `priority=10,in_port=${tvsTun},actions=drop`);
    await tvs.ofctl('add-flow', 'br0', `priority=20,in_port=${tvsTun},tun_metadata0=${tvsExpects},actions=NORMAL`);
    await ovsOfctl('add-flow', `priority=10,in_port=${ovsTun},actions=drop`);
    await ovsOfctl('add-flow', `priority=20,in_port=${ovsTun},tun_metadata0=${ovsExpects},actions=NORMAL`);
  }

  beforeAll(async () => {
    overlay = await Overlay.create();
    tvs = await overlay.tvs(overlay.a);
    ovs = await overlay.ovs(overlay.b);
    vmA = await tvs.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
    vmB = await ovs.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
    await tvs.addTunnel('tun0', { type: 'geneve', key: 5000 });
    await ovs.addTunnel('tun0', { type: 'geneve', key: 5000 });
    await tvs.ofctl('add-tlv-map', 'br0', OVN_OPTION);
    await ovsOfctl('add-tlv-map', OVN_OPTION);
    // What each VM sends into the tunnel carries its side's value: 0x11 from TVS, 0x22 from OVS.
    await tvs.ofctl('add-flow', 'br0', `priority=20,in_port=${await ofport(tvs, vmA.port)},actions=set_field:0x11->tun_metadata0,NORMAL`);
    await ovsOfctl('add-flow', `priority=20,in_port=${await ofport(ovs, vmB.port)},actions=set_field:0x22->tun_metadata0,NORMAL`);
  }, 120_000);

  afterAll(async () => {
    await overlay.cleanup();
  });

  it('shows the map in dump-tlv-map on TVS as ovs-ofctl shows OVS\'s', async () => {
    const line = ' 0x102  0x80       4  tun_metadata0';
    expect(await tvs.ofctl('dump-tlv-map', 'br0')).toContain(line);
    expect(await ovsOfctl('dump-tlv-map')).toContain(line);
  });

  it('pings across when each side expects the value the other sets', async () => {
    await expectValues(0x22, 0x11);
    expect(await ping(vmA, vmB.ip, 3)).toBe(3);
    // TVS matched the option OVS sent: its megaflow carries it.
    expect(await tvs.dpctl('dump-flows')).toContain('geneve({class=0x102,type=0x80,len=4,0x22})');
  }, 60_000);

  it('drops what OVS sends when TVS expects another value', async () => {
    await expectValues(0x23, 0x11);
    expect(await ping(vmA, vmB.ip, 2)).toBe(0);
  }, 60_000);

  it('and OVS drops what TVS sends when OVS expects another value', async () => {
    await expectValues(0x22, 0x12);
    expect(await ping(vmA, vmB.ip, 2)).toBe(0);
    await expectValues(0x22, 0x11);
    expect(await ping(vmA, vmB.ip, 3)).toBe(3);
  }, 60_000);
});
