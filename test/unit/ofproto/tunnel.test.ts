// Tunnel ports in the slow path: their options as OVS validates them, which port a frame from a
// shared tunnel vport belongs to, and the datapath actions of an output into a tunnel, as the
// ODP text ovs-dpctl prints.
import { describe, expect, it } from 'vitest';
import { formatActions } from '../../../src/datapath/odp-syntax.js';
import { bytesToBigint, parseIpv4, parseIpv6 } from '../../../src/lib/addr.js';
import { Flow, FlowWildcards } from '../../../src/ofproto/flow.js';
import { keyToFlow, wcToMask } from '../../../src/ofproto/odp-convert.js';
import { formatMatch } from '../../../src/ofproto/print.js';
import { Match } from '../../../src/ofproto/match.js';
import { TunnelPortMap, describeTunnel, parseTunnelOptions, vportName, type TunnelConfig } from '../../../src/ofproto/tunnel.js';
import { XBridge } from '../../../src/ofproto/xbridge.js';
import { xlate, xlateMiss } from '../../../src/ofproto/xlate.js';
import { parseFlowMod, parseMatch } from '../../../src/openflow/flow-syntax.js';
import { ofprotoTrace } from '../../../src/ofproto/trace.js';
import { flowOf } from './bridge-builder.js';

const ip = (s: string) => parseIpv4(s).readUInt32BE(0);
const ip6 = (s: string) => bytesToBigint(parseIpv6(s));

describe('tunnel options, validated as OVS validates them', () => {
  it('takes OVS defaults: VXLAN port 4789, TTL 64, DF set, no checksum, key 0', () => {
    expect(parseTunnelOptions('vx0', 'vxlan', { remote_ip: '192.0.2.2' })).toEqual({
      type: 'vxlan', dstPort: 4789, remoteIp: ip('192.0.2.2'), inKey: 0n, tos: 0, ttl: 64, df: true, csum: false,
    });
    expect(parseTunnelOptions('g0', 'geneve', { remote_ip: 'flow', key: 'flow' })).toMatchObject({ dstPort: 6081, remoteIp: 'flow', inKey: 'flow', outKey: 'flow' });
    expect(parseTunnelOptions('gre0', 'gre', { remote_ip: '192.0.2.2', in_key: '5', out_key: '0x7', csum: 'true', ttl: 'inherit', tos: 'inherit', df_default: 'false' })).toMatchObject({
      dstPort: 0, inKey: 5n, outKey: 7n, csum: true, ttl: 'inherit', tos: 'inherit', df: false,
    });
  });

  it.each([
    [{}, "vx0: vxlan type requires valid 'remote_ip' argument"],
    [{ remote_ip: '10.0.0.300' }, "vx0: bad vxlan 'remote_ip'"],
    [{ remote_ip: '239.1.1.1' }, 'vx0: multicast remote_ip=239.1.1.1 not allowed'],
    [{ remote_ip: '10.0.0.1', local_ip: 'flow' }, "vx0: vxlan type requires 'remote_ip=flow' with 'local_ip=flow'"],
    [{ remote_ip: '10.0.0.1', tos: '3' }, 'vx0: invalid TOS 3'],
    [{ remote_ip: '10.0.0.1', key: 'abc' }, 'vx0: bad key=abc'],
    [{ remote_ip: '10.0.0.1', dst_port: '70000' }, 'vx0: invalid dst_port 70000'],
    [{ remote_ip: '10.0.0.1', remote_port: '1' }, "vx0: unknown vxlan argument 'remote_port'"],
    [{ remote_ip: '10.0.0.1', packet_type: 'banana' }, "vx0: unknown packet_type 'banana'"],
    [{ remote_ip: '10.0.0.1', packet_type: 'ptap' }, "vx0: packet_type 'ptap' is not supported"],
  ])('refuses %j with "%s"', (options, message) => {
    expect(() => parseTunnelOptions('vx0', 'vxlan', options)).toThrow(message);
  });

  it('refuses dst_port on GRE, which has no UDP port', () => {
    expect(() => parseTunnelOptions('gre0', 'gre', { remote_ip: '10.0.0.1', dst_port: '4789' })).toThrow("gre0: unknown gre argument 'dst_port'");
  });

  it('takes IPv6 remote_ip and local_ip for vxlan and geneve, with UDP checksums on by default as OVS', () => {
    const c = parseTunnelOptions('vx6', 'vxlan', { remote_ip: 'fd00::2', local_ip: 'fd00::1', key: '5' });
    expect(c).toMatchObject({ remoteIp: bytesToBigint(parseIpv6('fd00::2')), localIp: bytesToBigint(parseIpv6('fd00::1')), csum: true, df: true });
    expect(parseTunnelOptions('g6', 'geneve', { remote_ip: 'fd00::2', csum: 'false' }).csum).toBe(false);
    expect(describeTunnel(c)).toBe('fd00::1->fd00::2, key=5, dst_port=4789, legacy_l2');
  });

  it.each([
    ['vxlan', { remote_ip: 'ff02::1' }, 'vx0: multicast remote_ip=ff02::1 not allowed'],
    ['vxlan', { remote_ip: 'fd00::2', local_ip: '10.0.0.1' }, 'vx0: vxlan remote_ip=fd00::2 and local_ip=10.0.0.1 are of different address families (give both as IPv4 or both as IPv6)'],
    ['vxlan', { remote_ip: 'fd00::zz' }, "vx0: bad vxlan 'remote_ip' (remote_ip=fd00::zz is not an IPv4 or IPv6 address or \"flow\")"],
    ['gre', { remote_ip: 'fd00::2' }, "vx0: gre over an IPv6 underlay (ip6gre) is not supported by TVS's datapath (remote_ip=fd00::2): use vxlan or geneve over IPv6, or IPv4 addresses"],
  ] as const)('refuses %s %j over IPv6 with "%s"', (type, options, message) => {
    expect(() => parseTunnelOptions('vx0', type, options)).toThrow(message);
  });

  it('names the shared vports as OVS kernel datapaths do', () => {
    expect([vportName('vxlan', 4789), vportName('geneve', 6081), vportName('gre', 0), vportName('vxlan', 8472)]).toEqual(['vxlan_sys_4789', 'genev_sys_6081', 'gre_sys', 'vxlan_sys_8472']);
  });
});

/** A frame as a tunnel vport hands it up: its outer header in tun_*. */
function fromTunnel(o: { id?: bigint; src: string; dst: string }): Flow {
  const f = new Flow();
  f.set('tun_id', o.id ?? 0n);
  f.setNum('tun_src', ip(o.src));
  f.setNum('tun_dst', ip(o.dst));
  return f;
}

const VPORT = 7;
const cfg = (c: Partial<TunnelConfig>): TunnelConfig => ({ type: 'vxlan', dstPort: 4789, remoteIp: ip('192.0.2.2'), inKey: 0n, tos: 0, ttl: 64, df: true, csum: false, ...c });

describe('the receive mapping: which tunnel port a frame from a shared vport is for', () => {
  const map = new TunnelPortMap();
  map.add({ name: 'exact', bridge: 'br0', ofport: 1, dpPort: VPORT, config: cfg({ inKey: 5n }) });
  map.add({ name: 'keyflow', bridge: 'br0', ofport: 2, dpPort: VPORT, config: cfg({ inKey: 'flow' }) });
  map.add({ name: 'local', bridge: 'br1', ofport: 3, dpPort: VPORT, config: cfg({ remoteIp: ip('192.0.2.3'), localIp: ip('192.0.2.1'), inKey: 9n }) });
  map.add({ name: 'remoteflow', bridge: 'br1', ofport: 4, dpPort: VPORT, config: cfg({ remoteIp: 'flow', inKey: 'flow' }) });

  it('prefers the port whose remote_ip and key both match exactly', () => {
    expect(map.receive(VPORT, fromTunnel({ id: 5n, src: '192.0.2.2', dst: '192.0.2.1' }))).toEqual({ bridge: 'br0', ofport: 1 });
  });

  it('then a key=flow port with that remote_ip', () => {
    expect(map.receive(VPORT, fromTunnel({ id: 6n, src: '192.0.2.2', dst: '192.0.2.1' }))).toEqual({ bridge: 'br0', ofport: 2 });
  });

  it('matches local_ip against the outer destination, on another bridge', () => {
    expect(map.receive(VPORT, fromTunnel({ id: 9n, src: '192.0.2.3', dst: '192.0.2.1' }))).toEqual({ bridge: 'br1', ofport: 3 });
    // Sent to another of our addresses: not that port's, so the remote_ip=flow port takes it.
    expect(map.receive(VPORT, fromTunnel({ id: 9n, src: '192.0.2.3', dst: '192.0.2.99' }))).toEqual({ bridge: 'br1', ofport: 4 });
  });

  it('falls back to remote_ip=flow last, and finds nothing on another vport', () => {
    expect(map.receive(VPORT, fromTunnel({ id: 1n, src: '198.51.100.1', dst: '192.0.2.1' }))).toEqual({ bridge: 'br1', ofport: 4 });
    expect(map.receive(VPORT + 1, fromTunnel({ id: 5n, src: '192.0.2.2', dst: '192.0.2.1' }))).toBeUndefined();
  });

  it('refuses a second port with the same remote_ip, local_ip and key on the same vport, naming the first', () => {
    expect(() => map.add({ name: 'dup', bridge: 'br2', ofport: 1, dpPort: VPORT, config: cfg({ inKey: 5n, ttl: 9 }) })).toThrow(
      "dup: attempting to add tunnel port with same config as port 'exact' (::->192.0.2.2, key=5, dst_port=4789, legacy_l2): a duplicate tunnel",
    );
    // The same addresses and key on another UDP port are another tunnel.
    expect(() => map.add({ name: 'other-port', bridge: 'br2', ofport: 1, dpPort: VPORT + 1, config: cfg({ inKey: 5n, dstPort: 8472 }) })).not.toThrow();
  });
});

/** br0: port 1 an access port in VLAN 10 (dp 11), port 2 a VXLAN tunnel on vport VPORT, port 3 a flow-based one. */
function tunnelBridge() {
  const tunnels = new TunnelPortMap();
  const br = new XBridge({ name: 'br0', clock: () => 1000 });
  br.tunnels = tunnels;
  br.addPort({ ofport: 1, dpPort: 11, name: 'vm1', vlan: { tag: 10 } });
  const vx0 = cfg({ outKey: 5n, inKey: 5n, localIp: ip('192.0.2.1') });
  const vxflow = cfg({ remoteIp: 'flow', inKey: 'flow', outKey: 'flow', tos: 'inherit' });
  br.addPort({ ofport: 2, dpPort: VPORT, name: 'vx0', tunnel: vx0 });
  br.addPort({ ofport: 3, dpPort: VPORT, name: 'vxflow', tunnel: vxflow });
  tunnels.add({ name: 'vx0', bridge: 'br0', ofport: 2, dpPort: VPORT, config: vx0 });
  tunnels.add({ name: 'vxflow', bridge: 'br0', ofport: 3, dpPort: VPORT, config: vxflow });
  return br;
}

describe('xlate: output into a tunnel, and frames out of one', () => {
  it('sends a VLAN access port\'s frame into the tunnel untagged, under the port\'s outer header', () => {
    const br = tunnelBridge();
    br.flowMod(parseFlowMod('in_port=1 actions=output:2'));
    const r = xlate(br, flowOf({ in_port: 1, nw_dst: '10.0.0.2', proto: 17, tos: 0x28 }), { sideEffects: false });
    expect(formatActions(r.actions)).toBe('set(tunnel(tun_id=0x5,src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),7');
    // The access port's frames carry no tag in the bridge: nothing to pop.
    expect(r.actions.some((a) => a.type === 'pop_vlan')).toBe(false);
  });

  it('takes tun_dst and tun_id from the flow for remote_ip=flow and key=flow, and inherits the inner DSCP and ECN', () => {
    const br = tunnelBridge();
    br.flowMod(parseFlowMod('in_port=1 actions=set_field:198.51.100.7->tun_dst,set_tunnel:0x77,output:3'));
    const r = xlate(br, flowOf({ in_port: 1, nw_dst: '10.0.0.2', proto: 17, tos: 0x2b }), { sideEffects: false });
    // DSCP 0x28 inherited, ECN "congestion experienced" sent as ECT(0).
    expect(formatActions(r.actions)).toBe('set(tunnel(tun_id=0x77,dst=198.51.100.7,tos=0x2a,ttl=64,tp_dst=4789,flags(df|key))),7');
    expect(r.wc.has('nw_tos')).toBe(true);
  });

  it('drops output to a remote_ip=flow tunnel when no rule set tun_dst, and says why in the trace', () => {
    const br = tunnelBridge();
    br.flowMod(parseFlowMod('in_port=1 actions=output:3'));
    const r = xlate(br, flowOf({ in_port: 1 }), { trace: true, sideEffects: false });
    expect(formatActions(r.actions)).toBe('drop');
    expect(JSON.stringify(r.trace)).toContain('has remote_ip=flow and the flow has no tun_dst');
  });

  it('maps a frame from the shared vport to its tunnel port, exposes tun_* to rules and matches the outer header in the megaflow', () => {
    const br = tunnelBridge();
    br.flowMod(parseFlowMod('priority=10,tun_src=192.0.2.2,tun_id=5,in_port=2 actions=output:1'));
    const key = { in_port: VPORT, 'tunnel.tun_id': 5n, 'tunnel.src': '192.0.2.2', 'tunnel.dst': '192.0.2.1', 'tunnel.flags': 0x5, 'tunnel.tos': 0, 'tunnel.ttl': 63, eth_type: 0x88b5, 'eth.src': '00:00:00:00:00:09', 'eth.dst': '00:00:00:00:00:01' } as const;
    const r = xlateMiss(br, key, { sideEffects: false });
    expect(r).toBeDefined();
    // An explicit output leaves the frame as it came: untagged.
    expect(formatActions(r!.actions)).toBe('11');
    const mask = wcToMask(r!.wc, key);
    const m = new Match(keyToFlow(key, 2), new FlowWildcards().union(r!.wc));
    expect(formatMatch(m)).toContain('tun_id=0x5,tun_src=192.0.2.2,tun_dst=192.0.2.1');
    // df and key, as the datapath numbers them, are part of the megaflow.
    expect(mask.readUInt16BE(120)).toBe(0x7);
  });

  it('sends over an IPv6 underlay with ipv6_src/ipv6_dst and no DF, and takes set_field:...->tun_ipv6_dst for remote_ip=flow', () => {
    const br = tunnelBridge();
    const v6 = cfg({ remoteIp: ip6('fd00::2'), localIp: ip6('fd00::1'), outKey: 5n, inKey: 5n, csum: true });
    br.addPort({ ofport: 4, dpPort: VPORT, name: 'vx6', tunnel: v6 });
    br.flowMod(parseFlowMod('in_port=1 actions=output:4'));
    const r = xlate(br, flowOf({ in_port: 1, nw_dst: '10.0.0.2', proto: 17 }), { sideEffects: false });
    expect(formatActions(r.actions)).toBe('set(tunnel(tun_id=0x5,ipv6_src=fd00::1,ipv6_dst=fd00::2,ttl=64,tp_dst=4789,flags(csum|key))),7');
    br.flowMod(parseFlowMod('priority=40000,in_port=1 actions=set_field:fd00::7->tun_ipv6_dst,set_tunnel:0x77,output:3'));
    const f = xlate(br, flowOf({ in_port: 1, nw_dst: '10.0.0.2', proto: 17 }), { sideEffects: false });
    expect(formatActions(f.actions)).toBe('set(tunnel(tun_id=0x77,ipv6_dst=fd00::7,ttl=64,tp_dst=4789,flags(key))),7');
  });

  it('maps a frame from an IPv6 underlay to its port and matches tun_ipv6_src/dst in rules and in the megaflow', () => {
    const br = tunnelBridge();
    const v6 = cfg({ remoteIp: ip6('fd00::2'), inKey: 6n });
    br.addPort({ ofport: 4, dpPort: VPORT, name: 'vx6', tunnel: v6 });
    br.tunnels!.add({ name: 'vx6', bridge: 'br0', ofport: 4, dpPort: VPORT, config: v6 });
    br.flowMod(parseFlowMod('priority=10,tun_ipv6_src=fd00::2,in_port=4 actions=output:1'));
    const key = { in_port: VPORT, 'tunnel.tun_id': 6n, 'tunnel.ipv6_src': 'fd00::2', 'tunnel.ipv6_dst': 'fd00::1', 'tunnel.flags': 0x4, 'tunnel.ttl': 63, eth_type: 0x88b5, 'eth.src': '00:00:00:00:00:09', 'eth.dst': '00:00:00:00:00:01' } as const;
    const r = xlateMiss(br, key, { sideEffects: false });
    expect(formatActions(r!.actions)).toBe('11');
    const m = new Match(keyToFlow(key, 4), new FlowWildcards().union(r!.wc));
    expect(formatMatch(m)).toContain('tun_id=0x6,tun_ipv6_src=fd00::2,tun_ipv6_dst=fd00::1');
    expect(formatMatch(m)).not.toContain('tun_src=');
  });

  it('does not send a frame from a tunnel back into the same tunnel, unless the rule says in_port', () => {
    const br = tunnelBridge();
    const from = fromTunnel({ id: 5n, src: '192.0.2.2', dst: '192.0.2.1' });
    from.setNum('in_port', 2);
    br.flowMod(parseFlowMod('in_port=2 actions=output:2'));
    expect(formatActions(xlate(br, from, { sideEffects: false }).actions)).toBe('drop');
    br.flowMod(parseFlowMod('in_port=2 actions=IN_PORT'));
    expect(formatActions(xlate(br, from, { sideEffects: false }).actions)).toBe('set(tunnel(tun_id=0x5,src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),7');
  });

  it('learns MACs on a tunnel port with NORMAL and sends the reply back into that tunnel, tagged as on any trunk', () => {
    const br = tunnelBridge();
    const from = fromTunnel({ id: 5n, src: '192.0.2.2', dst: '192.0.2.1' });
    from.setNum('in_port', 2);
    from.set('dl_src', 0x000000000009n);
    from.set('dl_dst', 0xffffffffffffn);
    from.setNum('dl_type', 0x88b5);
    xlate(br, from);
    // Learned in VLAN 10: the untagged frame from the tunnel (a trunk) is in VLAN 0, so flood first.
    from.setNum('vlan_tci', 0x1000 | 10);
    xlate(br, from);
    const reply = flowOf({ in_port: 1, src: '00:00:00:00:00:01', dst: '00:00:00:00:00:09' });
    // A tunnel port with no tag is a trunk, as in OVS: VLAN 10 crosses the tunnel tagged.
    expect(formatActions(xlate(br, reply, { sideEffects: false }).actions)).toBe('push_vlan(vid=10,pcp=0),set(tunnel(tun_id=0x5,src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),7');
  });

  it('gives a frame from an unknown remote to the remote_ip=flow port, and one from a vport no port uses to no bridge', () => {
    const br = tunnelBridge();
    const unknown = xlateMiss(br, { in_port: VPORT, 'tunnel.tun_id': 5n, 'tunnel.src': '203.0.113.9', 'tunnel.dst': '192.0.2.1', eth_type: 0x88b5 });
    expect(unknown?.finalFlow.num('in_port')).toBe(3);
    const other = { in_port: VPORT + 1, 'tunnel.tun_id': 5n, 'tunnel.src': '192.0.2.2', 'tunnel.dst': '192.0.2.1', eth_type: 0x88b5 };
    expect(xlateMiss(br, other)).toBeUndefined();
  });
});

describe('ofproto/trace through tunnels', () => {
  it('takes the outer header in its flow, matches on it, and shows it in the flow and the megaflow', () => {
    const br = tunnelBridge();
    br.flowMod(parseFlowMod('priority=10,in_port=2,tun_id=5,tun_src=192.0.2.2 actions=output:1'));
    const out = ofprotoTrace(br, ['in_port=2,tun_id=5,tun_src=192.0.2.2,tun_dst=192.0.2.1,dl_dst=00:00:00:00:00:01'], parseMatch);
    expect(out).toContain('Flow: tun_id=0x5,tun_src=192.0.2.2,tun_dst=192.0.2.1,in_port=2,');
    expect(out).toContain(' 0. tun_id=0x5,tun_src=192.0.2.2,in_port=2, priority 10\n    output:1\n');
    expect(out).toContain('Megaflow: recirc_id=0,eth,tun_id=0x5,tun_src=192.0.2.2,tun_dst=192.0.2.1,tun_tos=0,tun_flags=-df-csum-key,in_port=2,');
    expect(out).toContain('Datapath actions: 11\n');
  });

  it('shows the outer header an output into a tunnel puts on, and the set(tunnel) action', () => {
    const br = tunnelBridge();
    br.flowMod(parseFlowMod('priority=10,in_port=1 actions=output:2'));
    const out = ofprotoTrace(br, ['in_port=1,dl_dst=00:00:00:00:00:09'], parseMatch);
    expect(out).toContain('    output:2\n     -> output to tunnel vx0: tun_id=0x5,src=192.0.2.1,dst=192.0.2.2,tos=0,ttl=64,tp_dst=4789\n');
    expect(out).toContain('Datapath actions: set(tunnel(tun_id=0x5,src=192.0.2.1,dst=192.0.2.2,ttl=64,tp_dst=4789,flags(df|key))),7\n');
  });
});
