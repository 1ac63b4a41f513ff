// The integrated switch, driven only through its commands and real traffic:
// tvs-vsctl builds the configuration, tvs-vswitchd applies it, tvs-appctl
// shows what the traffic did.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { buildFrame, markerPayload, sendFrames, startCapture, startTapVm } from '../helpers/frames.js';
import { tcpTransfer } from '../helpers/tcp.js';

let lab: Lab;
let sw: TestDaemon;
let a: Host;
let b: Host;
let aIf: string;
let bIf: string;
// Bridge names are kernel device names (the internal port): unique per run,
// so a machine's own br0 or a concurrent run is never touched.
let br0: string;
let br1: string;
let brp1: string;
let brp2: string;

beforeAll(async () => {
  lab = new Lab();
  br0 = lab.ifname('b0');
  br1 = lab.ifname('b1');
  brp1 = lab.ifname('bp1');
  brp2 = lab.ifname('bp2');
  sw = await startDaemon();
  const ha = await lab.addVethHost('a', '10.60.0.1/24');
  const hb = await lab.addVethHost('b', '10.60.0.2/24');
  [a, b, aIf, bIf] = [ha.host, hb.host, ha.switchIf, hb.switchIf];
  await sw.vsctl('add-br', br0, '--', 'add-port', br0, aIf, '--', 'add-port', br0, bIf);
});

afterAll(async () => {
  await sw?.stop();
  await lab?.cleanup();
});

describe('tvs-vswitchd with tvs-vsctl', () => {
  it('carries ping and TCP between namespace hosts on veth', async () => {
    expect(await ping(a, '10.60.0.2', 3)).toBe(3);
    const t = await tcpTransfer(b, a, 8 << 20);
    expect(t.received).toEqual(t.sent);
  });

  it('reports ofport, link state and statistics in the database', async () => {
    expect(await sw.vsctl('get', 'interface', aIf, 'link_state')).toBe('up\n');
    expect(Number(await sw.vsctl('get', 'interface', aIf, 'ofport'))).toBeGreaterThan(0);
    expect(await sw.vsctl('get', 'interface', br0, 'ofport')).toBe('65534\n');
    // Written every 5 s.
    await eventually(async () => /rx_packets=[1-9]/.test(await sw.vsctl('get', 'interface', aIf, 'statistics')), 15_000, 'statistics');
  });

  it('shows what the traffic did in fdb/show and dpif/dump-flows', async () => {
    expect(await ping(a, '10.60.0.2', 1)).toBe(1);
    const fdb = await sw.appctl('fdb/show', br0);
    expect(fdb).toContain(' port  VLAN  MAC                Age');
    expect(fdb).toContain(a.mac);
    expect(fdb).toContain(b.mac);
    expect(await sw.appctl('dpif/dump-flows', br0)).toMatch(new RegExp(`eth\\(src=${a.mac},dst=${b.mac}\\)`));
  });

  it('credits the traffic before it to the OpenFlow rules once revalidator/wait returns', async () => {
    const normalPackets = async () => Number(/n_packets=(\d+),.*actions=NORMAL/.exec(await sw.appctl('bridge/dump-flows', br0))![1]);
    expect(await sw.appctl('revalidator/wait')).toBe('');
    const before = await normalPackets();
    // Cached flows carry most of these frames: only a revalidation round credits them.
    expect(await ping(a, '10.60.0.2', 3)).toBe(3);
    await sw.appctl('revalidator/wait');
    expect(await normalPackets()).toBeGreaterThanOrEqual(before + 6);
  });

  it('installs exact-match flows while megaflows are disabled, as upcall/disable-megaflows asks', async () => {
    expect(await sw.appctl('upcall/disable-megaflows')).toBe('megaflows disabled\n');
    try {
      expect(await ping(a, '10.60.0.2', 1)).toBe(1);
      // Exact match: the ICMP type and code are in the flow, where the
      // bridge's NORMAL rule alone would leave L3 and L4 wildcarded.
      const flows = await sw.appctl('dpif/dump-flows', br0);
      expect(flows).toMatch(/icmp\(type=8,code=0\)/);
    } finally {
      expect(await sw.appctl('upcall/enable-megaflows')).toBe('megaflows enabled\n');
    }
    expect(await ping(a, '10.60.0.2', 1)).toBe(1);
    expect(await sw.appctl('dpif/dump-flows', br0)).not.toMatch(/icmp\(/);
  });

  it('applies the datapath settings of Open_vSwitch other_config, and their defaults once removed', async () => {
    await sw.vsctl('set', 'Open_vSwitch', '.', 'other_config:flow-limit=5000', 'other_config:max-idle=2500', 'other_config:emc-insert-inv-prob=0');
    const set = await sw.appctl('upcall/show');
    expect(set).toContain('(limit 5000)');
    expect(set).toContain('max idle      : 2500 ms');
    expect(set).toContain('emc insert    : off');
    await sw.vsctl('remove', 'Open_vSwitch', '.', 'other_config', 'flow-limit', 'max-idle', 'emc-insert-inv-prob');
    const unset = await sw.appctl('upcall/show');
    expect(unset).toContain('(limit 200000)');
    expect(unset).toContain('max idle      : 10000 ms');
    expect(unset).toContain('emc insert    : 1/100');
  });

  it('serves tvs-dpctl: show, dump-flows, and flows added from a file', async () => {
    expect(await ping(a, '10.60.0.2', 1)).toBe(1);
    const show = await sw.dpctl('show');
    expect(show).toMatch(/^netdev@ovs-netdev:\n {2}lookups: hit:\d+ missed:\d+ lost:\d+\n {2}flows: \d+/);
    expect(show).toContain(`: ${aIf}\n`);
    expect(await sw.dpctl('dump-flows')).toMatch(/^recirc_id\(0\),in_port\(\d+\),eth\(src=/m);
    const file = join(sw.dir, 'flows.txt');
    writeFileSync(file, '# a flow no frame will hit\nadd in_port(999),eth(),eth_type(0x88b5) drop\n');
    await sw.dpctl('add-flows', file);
    expect(await sw.dpctl('get-flow', 'in_port(999),eth(),eth_type(0x88b5)')).toMatch(/in_port\(999\),eth\(\),eth_type\(0x88b5\), packets:0, bytes:0, used:never, actions:drop/);
    await sw.dpctl('del-flow', 'in_port(999),eth(),eth_type(0x88b5)');
    await expect(sw.dpctl('del-flow', 'in_port(999),eth(),eth_type(0x88b5)')).rejects.toThrow(/flow not found/);
  });

  it('refuses a datapath flow with a field out of range: tvs-dpctl exits 1 naming the field, and the daemon carries on', async () => {
    const r = await sw.dpctlExit('add-flow', 'in_port(1),eth(),eth_type(0x8100),vlan(vid=5000,pcp=9),encap()', '1');
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tvs-dpctl: parsing flow key: 5000: value too large for 12-bit field vlan(vid) (0 to 4095) (at column 40)\n',
    });
    const actions = await sw.dpctlExit('add-flow', 'in_port(1),eth()', 'push_vlan(vid=70000,pcp=8)');
    expect([actions.code, actions.stderr]).toEqual([1, expect.stringContaining('parsing actions: 70000: value too large for 12-bit field push_vlan(vid) (0 to 4095)')]);
    // Nothing truncated was installed, and the daemon still answers.
    expect(await sw.dpctl('dump-flows')).not.toMatch(/vid=(904|368)/);
  });

  it('attaches a switch-owned tap moved into a namespace (a container NIC)', async () => {
    const tap = lab.ifname('c');
    await sw.vsctl('add-port', br0, tap, '--', 'set', 'interface', tap, 'type=tap');
    await eventually(async () => (await run('ip', ['link', 'show', tap]).catch(() => '')).includes(tap), 5000, 'the tap');
    const c = await lab.adoptIntoHost('c', tap, '10.60.0.3/24');
    expect(await ping(a, '10.60.0.3', 3)).toBe(3);
    expect(await ping(c, '10.60.0.2', 2)).toBe(2);
  });

  it("attaches a VM's tap, held open by another process, as an ordinary port", async () => {
    const vmTap = lab.ifname('vm');
    await run('ip', ['tuntap', 'add', 'mode', 'tap', 'name', vmTap]);
    lab.trackLink(vmTap);
    await sw.vsctl('add-port', br0, vmTap);
    const vm = await startTapVm(vmTap);
    try {
      const fromVm = buildFrame({ dst: a.mac, src: '02:00:00:00:99:07' });
      const cap = await startCapture(a);
      vm.send(fromVm);
      expect((await cap.until((fs) => fs.some((f) => f.equals(fromVm)))).filter((f) => f.equals(fromVm))).toHaveLength(1);
      // The switch has learned the VM's MAC: a frame to it goes to the VM.
      const toVm = buildFrame({ dst: '02:00:00:00:99:07', src: a.mac, payload: Buffer.alloc(46, 7) });
      await sendFrames(a, toVm);
      await eventually(() => vm.received.some((f) => f.equals(toVm)), 5000, 'the frame at the VM');
    } finally {
      await vm.stop();
    }
  });

  it('applies VLAN access and trunk settings to traffic', async () => {
    await sw.vsctl('set', 'port', aIf, 'tag=10');
    await sw.vsctl('set', 'port', bIf, 'tag=20');
    expect(await ping(a, '10.60.0.2', 2)).toBe(0);
    await sw.vsctl('set', 'port', bIf, 'tag=10');
    expect(await ping(a, '10.60.0.2', 2)).toBe(2);
    // b becomes a trunk for VLAN 10: a's frames reach it tagged 10.
    await sw.vsctl('clear', 'port', bIf, 'tag', '--', 'set', 'port', bIf, 'trunks=10');
    const atB = await startCapture(b, 0x0806);
    const arp = (payload: Buffer) => buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: a.mac, ethertype: 0x0806, payload });
    await sendFrames(a, [arp(Buffer.alloc(46, 1)), arp(markerPayload())]);
    const tags = (await atB.untilMarker()).map((f) => (f.readUInt16BE(12) === 0x8100 ? f.readUInt16BE(14) & 0xfff : -1));
    expect(tags).toEqual([10]);
    await sw.vsctl('clear', 'port', aIf, 'tag', '--', 'clear', 'port', bIf, 'trunks');
    expect(await ping(a, '10.60.0.2', 2)).toBe(2);
  });

  it("lets the host reach a namespace host through the bridge's internal port", async () => {
    await run('ip', ['addr', 'add', '10.60.0.254/24', 'dev', br0]);
    await run('ip', ['link', 'set', br0, 'up']);
    const out = await run('ping', ['-c', '2', '-W', '2', '-I', br0, '10.60.0.2']).catch((e: unknown) => (e as Error).message);
    expect(out).toMatch(/2 received/);
  });

  it('shows an interface that does not exist with its error, and keeps the rest working', async () => {
    await sw.vsctl('--no-wait', 'add-port', br0, 'nosuchdev0');
    await eventually(async () => (await sw.vsctl('get', 'interface', 'nosuchdev0', 'error')).includes('No such device'), 5000, 'the error');
    expect(await sw.vsctl('list', 'interface', 'nosuchdev0')).toContain('error               : "could not open network device nosuchdev0 (No such device)"');
    expect(await ping(a, '10.60.0.2', 2)).toBe(2);
    await sw.vsctl('del-port', br0, 'nosuchdev0');
  });

  it('joins two bridges with a pair of patch ports', async () => {
    const h = await lab.addVethHost('p1', '10.62.0.1/24');
    const g = await lab.addVethHost('p2', '10.62.0.2/24');
    await sw.vsctl(
      'add-br', brp1, '--', 'add-br', brp2,
      '--', 'add-port', brp1, h.switchIf, '--', 'add-port', brp2, g.switchIf,
      '--', 'add-port', brp1, 'patch-a', '--', 'set', 'interface', 'patch-a', 'type=patch', 'options:peer=patch-b',
      '--', 'add-port', brp2, 'patch-b', '--', 'set', 'interface', 'patch-b', 'type=patch', 'options:peer=patch-a',
    );
    expect(await ping(h.host, '10.62.0.2', 2)).toBe(2);
    expect(await sw.vsctl('get', 'interface', 'patch-a', 'error')).toBe('[]\n');
    // The datapath joins the pair itself: no kernel device stands for either end.
    expect(await run('ip', ['-o', 'link', 'show'])).not.toMatch(/patch-[ab]|tvp[0-9a-f]{8}[ab]/);
    await sw.vsctl('del-br', brp1, '--', 'del-br', brp2);
  });

  it('starts a bridge in secure fail mode with no flows, so nothing crosses it', async () => {
    const h = await lab.addVethHost('s1', '10.61.0.1/24');
    const g = await lab.addVethHost('s2', '10.61.0.2/24');
    await sw.vsctl('add-br', br1, '--', 'set-fail-mode', br1, 'secure', '--', 'add-port', br1, h.switchIf, '--', 'add-port', br1, g.switchIf);
    expect(await sw.appctl('bridge/dump-flows', br1)).toBe('');
    expect(await ping(h.host, '10.61.0.2', 1)).toBe(0);
    await sw.vsctl('del-br', br1);
  });

  it('resumes traffic after kill -9 and a restart, with no manual step', async () => {
    await sw.crash();
    expect(await ping(a, '10.60.0.2', 1)).toBe(0);
    await sw.start();
    await eventually(async () => (await ping(a, '10.60.0.2', 1)) === 1, 10_000, 'traffic after the restart');
    expect(await sw.vsctl('list-ports', br0)).toContain(aIf);
  });
});
