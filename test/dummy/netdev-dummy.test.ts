// tvs-vswitchd --enable-dummy driven only through its commands, as an OVS
// user drives ovs-vswitchd's dummies: interfaces with no device, frames
// injected with `tvs-appctl netdev-dummy/receive`, what the switch sends
// read from options:tx_pcap with tcpdump. Needs no root and no device.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeFrame } from '../../src/datapath/flow-compose.js';
import { parseMatch } from '../../src/datapath/odp-syntax.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { tcpdumpFrames } from '../helpers/tcpdump.js';

const UDP_FLOW =
  'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=2000)';
/** A broadcast from 50:54:00:00:00:03 of an EtherType no stack answers, in hex. */
const BROADCAST_HEX = 'ffffffffffff50540000000388b5' + '00'.repeat(46);

/** Waits until capture file `path` holds `count` frames, and returns them. */
async function capturedFrames(path: string, count: number): Promise<Buffer[]> {
  await eventually(() => tcpdumpFrames(path).length >= count, 10_000, `${count} frames in ${path}`);
  return tcpdumpFrames(path);
}

describe('tvs-vswitchd --enable-dummy=override', () => {
  let sw: TestDaemon;
  let pcap: (name: string) => string;

  beforeAll(async () => {
    sw = await startDaemon(['--enable-dummy=override']);
    pcap = (name) => join(sw.dir, `${name}.pcap`);
    // Every interface a dummy: the bridge's internal port and p1 (type system) too.
    await sw.vsctl(
      'add-br', 'br0',
      '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1', `options:rxq_pcap=${pcap('p1-rx')}`,
      '--', 'add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'ofport_request=2', 'type=dummy', `options:tx_pcap=${pcap('p2-tx')}`,
      '--', 'add-port', 'br0', 'p3', '--', 'set', 'interface', 'p3', 'ofport_request=3', `options:pcap=${pcap('p3')}`,
    );
  });

  afterAll(async () => {
    await sw?.stop();
  });

  it('opens every interface with no device and reports each as OVS reports a dummy', async () => {
    expect(await sw.vsctl('get', 'open_vswitch', '.', 'iface_types')).toBe('[dummy, geneve, gre, internal, patch, system, tap, vxlan]\n');
    for (const name of ['br0', 'p1', 'p2']) {
      const row = await sw.vsctl('--columns=error,ifindex,admin_state,link_state,mtu,mac_in_use', 'list', 'interface', name);
      expect(row).toMatch(/error\s+: \[\]\nifindex\s+: 0\nadmin_state\s+: up\nlink_state\s+: up\nmtu\s+: 1500\nmac_in_use\s+: "aa:55:[0-9a-f:]{11}"\n/);
    }
    expect(await sw.vsctl('get', 'interface', 'br0', 'ofport')).toBe('65534\n');
    expect(await sw.vsctl('get', 'interface', 'p1', 'ofport')).toBe('1\n');
    // The datapath id comes from the internal port's MAC, as OVS derives it.
    const mac = JSON.parse(await sw.vsctl('get', 'interface', 'br0', 'mac_in_use')) as string;
    expect(await sw.vsctl('get', 'bridge', 'br0', 'datapath_id')).toBe(`"0000${mac.replace(/:/g, '')}"\n`);
    expect(await sw.appctl('dpif/show')).toMatch(/br0 65534\/\d+: \(internal\)\n {4}p1 1\/\d+: \(system\)\n {4}p2 2\/\d+: \(dummy\)/);
  });

  it('injects a frame given in hex and one composed from a datapath flow, as if the wire carried them in', async () => {
    await sw.appctl('netdev-dummy/receive', 'p1', UDP_FLOW, BROADCAST_HEX);
    const composed = composeFrame(parseMatch(UDP_FLOW).key);
    const broadcast = Buffer.from(BROADCAST_HEX, 'hex');
    // Both reach p2 (flooded: neither destination is known), and rxq_pcap recorded them coming in.
    expect(await capturedFrames(pcap('p2-tx'), 2)).toEqual([composed, broadcast]);
    expect(tcpdumpFrames(pcap('p1-rx'))).toEqual([composed, broadcast]);
    expect(await sw.appctl('fdb/show', 'br0')).toMatch(/\n {4}1 {5}0 {2}50:54:00:00:00:01 +\d+\n {4}1 {5}0 {2}50:54:00:00:00:03 +\d+\n/);
    expect(await sw.appctl('dpif/dump-flows', 'br0')).toMatch(/in_port\(\d+\),eth\(src=50:54:00:00:00:01,dst=50:54:00:00:00:02\),eth_type\(0x0800\)/);
  });

  it('records both directions in options:pcap', async () => {
    const flooded = await capturedFrames(pcap('p3'), 2);
    const fromP3 = Buffer.from('5054000000015054000000bb88b5' + '11'.repeat(46), 'hex');
    await sw.appctl('netdev-dummy/receive', 'p3', fromP3.toString('hex'));
    // 50:54:00:00:00:bb is learned on p3 now: p1's frame to it goes to p3 alone.
    const toP3 = 'eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:bb),eth_type(0x88b5)';
    await sw.appctl('netdev-dummy/receive', 'p1', toP3);
    expect(await capturedFrames(pcap('p3'), 4)).toEqual([...flooded, fromP3, composeFrame(parseMatch(toP3).key)]);
  });

  it("counts a dummy interface's frames in its statistics", async () => {
    // A configuration change makes the daemon write status now (not in 5 s), and tvs-vsctl waits for it.
    await sw.vsctl('set', 'interface', 'p2', 'external_ids:note=counted');
    expect(await sw.vsctl('get', 'interface', 'p2', 'statistics')).toMatch(/rx_packets=0, tx_bytes=\d+, tx_dropped=0, tx_errors=0, tx_packets=2\}/);
    expect(await sw.vsctl('get', 'interface', 'p1', 'statistics')).toMatch(/rx_packets=3, tx_bytes=60, tx_dropped=0, tx_errors=0, tx_packets=1\}/);
  });

  it('names the interface and the fix for an unknown dummy interface or a bad packet, injects nothing, and carries on', async () => {
    const unknown = await sw.appctlExit('netdev-dummy/receive', 'p9', BROADCAST_HEX);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('netdev-dummy/receive: no such dummy interface p9 (the dummy interfaces are br0, p1, p2, p3)');
    const bad = await sw.appctlExit('netdev-dummy/receive', 'p1', BROADCAST_HEX, 'eth(src=50:54:00:00:00:01),ipv4(src=10.0.0.300)');
    expect(bad.stderr).toContain('netdev-dummy/receive: bad packet syntax in argument 3: 10.0.0.300: invalid IPv4 address for ipv4(src)');
    expect(bad.stderr).toContain('give a frame in hex, or a flow such as eth(');
    const short = await sw.appctlExit('netdev-dummy/receive', 'p1', 'ffffffffffff');
    expect(short.stderr).toContain('netdev-dummy/receive: argument 2 is a 6-byte frame: a frame starts with a 14-byte Ethernet header');
    // The good frame before the bad one was not injected either: p1 still received 3 (rxq_pcap says so).
    await sw.vsctl('set', 'interface', 'p1', 'external_ids:note=after-errors');
    expect(await sw.vsctl('get', 'interface', 'p1', 'statistics')).toMatch(/rx_packets=3,/);
    expect(await sw.appctl('version')).toMatch(/tvs-vswitchd/);
  });

  it("names an unopenable pcap file in the interface's error, and opens the interface once it can", async () => {
    const missing = join(sw.dir, 'not-yet', 'p4.pcap');
    const add = await sw.vsctlExit('add-port', 'br0', 'p4', '--', 'set', 'interface', 'p4', 'type=dummy', `options:tx_pcap=${missing}`);
    const error = `could not open network device p4 (options:tx_pcap: cannot open pcap file ${missing}: ENOENT: no such file or directory, open '${missing}')`;
    expect(add.stderr).toContain(`tvs-vsctl: Error detected while setting up 'p4': ${error}.`);
    expect(JSON.parse(await sw.vsctl('get', 'interface', 'p4', 'error'))).toBe(error);
    await sw.vsctl('set', 'interface', 'p4', `options:tx_pcap=${pcap('p4')}`);
    expect(await sw.vsctl('get', 'interface', 'p4', 'error')).toBe('[]\n');
    await sw.vsctl('del-port', 'br0', 'p4');
  });
});

describe('patch ports through the datapath', () => {
  let sw: TestDaemon;

  beforeAll(async () => {
    sw = await startDaemon(['--enable-dummy=override']);
  });

  afterAll(async () => {
    await sw?.stop();
  });

  const error = async (name: string) => JSON.parse((await sw.vsctl('get', 'interface', name, 'error')).replace(/^\[\]\n$/, 'null')) as string | null;

  it("says in Interface error why a patch port's frames go nowhere, until its peer names it back", async () => {
    await sw.vsctl('add-br', 'bra', '--', 'add-br', 'brb', '--', 'add-port', 'bra', 'pa', '--', 'set', 'interface', 'pa', 'type=patch', 'options:peer=pb');
    expect(await error('pa')).toBe('pa: patch peer pb does not exist (add a patch interface pb with options:peer=pa)');
    await sw.vsctl('add-port', 'brb', 'pb', '--', 'set', 'interface', 'pb', 'type=dummy');
    expect(await error('pa')).toBe('pa: patch peer pb is not a patch interface but of type dummy (make it a patch interface pb with options:peer=pa)');
    await sw.vsctl('set', 'interface', 'pb', 'type=patch', 'options:peer=px');
    expect(await error('pa')).toBe('pa: patch peer pb names px as its peer, not pa (set options:peer=pa on pb)');
    expect(await error('pb')).toBe('pb: patch peer px does not exist (add a patch interface px with options:peer=pb)');
    await sw.vsctl('set', 'interface', 'pb', 'options:peer=pa');
    expect([await error('pa'), await error('pb')]).toEqual([null, null]);
    expect(await sw.appctl('dpif/show')).toMatch(/pa 1\/\d+: \(patch: peer=pb\)/);
  });

  it("refuses a patch port's options in OVS's words, with the fix", async () => {
    const added = await sw.vsctlExit('add-port', 'bra', 'pc', '--', 'set', 'interface', 'pc', 'type=patch');
    expect(added.stderr).toContain("tvs-vsctl: Error detected while setting up 'pc': pc: patch type requires valid 'peer' argument (set options:peer to the name of the patch interface at the other end).");
    await sw.vsctlExit('set', 'interface', 'pc', 'options:peer=pc');
    expect(await error('pc')).toBe('pc: patch peer must not be self (name the patch interface at the other end)');
    await sw.vsctlExit('set', 'interface', 'pc', 'options:peer=pd', 'options:colour=blue');
    expect(await error('pc')).toBe("pc: patch type takes only a 'peer' argument (remove the other options)");
    expect(await sw.vsctl('get', 'interface', 'pc', 'ofport')).toBe('-1\n');
    await sw.vsctl('del-port', 'bra', 'pc');
  });
});

describe('tvs-vswitchd without --enable-dummy', () => {
  let sw: TestDaemon;

  beforeAll(async () => {
    sw = await startDaemon();
  });

  afterAll(async () => {
    await sw?.stop();
  });

  it('refuses type=dummy, naming the option that allows it, and has no netdev-dummy commands', async () => {
    // A bridge's internal port is a kernel device here (a tap, if the test runs as root): a name of the test's own.
    const br = `tvdm${process.pid % 100000}`;
    const added = await sw.vsctlExit('add-br', br, '--', 'add-port', br, 'p1', '--', 'set', 'interface', 'p1', 'type=dummy');
    expect(added.stderr).toContain(`tvs-vsctl: Error detected while setting up 'p1': could not open network device p1 (interface type "dummy" needs tvs-vswitchd --enable-dummy).`);
    expect(await sw.vsctl('get', 'open_vswitch', '.', 'iface_types')).toBe('[geneve, gre, internal, patch, system, tap, vxlan]\n');
    const receive = await sw.appctlExit('netdev-dummy/receive', 'p1', BROADCAST_HEX);
    expect(receive.stderr).toContain('"netdev-dummy/receive" is not a valid command');
  });
});
