// Differential test of how a monitor prints a packet-in: a flow sends what comes in on port 1 to
// the controller, the same frames (ICMP, ARP, TCP with ECN, UDP in a VLAN tag, an IPv6 neighbour
// solicitation, a later IPv4 fragment) come in through a dummy port of Debian's ovs-vswitchd and
// of tvs-vswitchd, and `ovs-ofctl monitor` and `tvs-ofctl monitor` on each print the header line,
// the packet's flow and its checksum exactly as ovs-ofctl prints them against OVS.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/lib/netns.js';
import { eventually } from '../helpers/eventually.js';
import { COMPARED_SWITCHES, TVS_OFCTL, startMonitor } from '../helpers/differential.js';
import { ovsReferenceAvailable } from '../helpers/ovs-reference.js';


const hex = (...parts: string[]) => parts.join('').replace(/\s/g, '');
const ETH = '505400000002 505400000001';
const IP_HOSTS = '0a000001 0a000002';

/** The frames, in hex, and the packet-in lines OVS gives each. */
const FRAMES: Array<{ frame: string; printed: string[] }> = [
  {
    frame: hex(ETH, '0800', '4500 0024 0001 4000 4001 0000', IP_HOSTS, '0800 f7fe 0001 0001', '0000000000000000'),
    printed: [
      'NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=50 in_port=1 (via action) data_len=50 (unbuffered)',
      'icmp,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0 icmp_csum:f7fe',
    ],
  },
  {
    frame: hex('ffffffffffff 505400000001', '0806', '0001 0800 06 04 0001', '505400000001 0a000001', '000000000000 0a000002'),
    printed: [
      'NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=42 in_port=1 (via action) data_len=42 (unbuffered)',
      'arp,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=50:54:00:00:00:01,arp_tha=00:00:00:00:00:00',
    ],
  },
  {
    frame: hex(ETH, '0800', '452e 0028 0002 4000 3f06 0000', IP_HOSTS, '04d2 0050 00000001 00000000 5012 ffff 1234 0000'),
    printed: [
      'NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=54 in_port=1 (via action) data_len=54 (unbuffered)',
      'tcp,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=44,nw_ecn=2,nw_ttl=63,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=syn|ack tcp_csum:1234',
    ],
  },
  {
    frame: hex(ETH, '8100 6064 0800', '4500 001c 0003 0000 4011 0000', IP_HOSTS, '04d2 0035 0008 0251'),
    printed: [
      'NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=46 in_port=1 (via action) data_len=46 (unbuffered)',
      'udp,dl_vlan=100,dl_vlan_pcp=3,vlan_tci1=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=53 udp_csum:251',
    ],
  },
  {
    frame: hex(
      '3333ff000002 505400000001 86dd',
      '6000 0000 0020 3aff',
      'fe800000000000000000000000000001',
      'ff0200000000000000000001ff000002',
      '8700 abcd 00000000 fe800000000000000000000000000002',
      '0101 505400000001',
    ),
    printed: [
      'NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=86 in_port=1 (via action) data_len=86 (unbuffered)',
      'icmp6,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=33:33:ff:00:00:02,ipv6_src=fe80::1,ipv6_dst=ff02::1:ff00:2,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=255,nw_frag=no,icmp_type=135,icmp_code=0,nd_target=fe80::2,nd_sll=50:54:00:00:00:01,nd_tll=00:00:00:00:00:00 icmp6_csum:abcd',
    ],
  },
  {
    frame: hex(ETH, '0800', '4500 001c 0004 00b9 4011 0000', IP_HOSTS, '04d2 0035 0008 0251'),
    printed: [
      'NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=42 in_port=1 (via action) data_len=42 (unbuffered)',
      // A later fragment has no transport header: no ports, though OVS still reads a "checksum".
      'udp,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=later udp_csum:251',
    ],
  },
];


/** A service connection (the bridge's mgmt socket) hears packet-ins only once it sets a miss_send_len: the 65535 argument. */
const WATCHERS: Record<string, (target: string) => [string, string[]]> = {
  'ovs-ofctl': (target) => ['stdbuf', ['-oL', 'ovs-ofctl', 'monitor', target, '65535']],
  'tvs-ofctl': (target) => [process.execPath, [TVS_OFCTL, 'monitor', target, '65535']],
};


/** A frame from a MAC no test frame uses, sent until every monitor is listening. */
const PROBE = hex('ffffffffffff 02000000dead', '88b5', '00'.repeat(46));

/** The transcript after the last probe's packet-in (its header line and its packet line). */
function withoutProbes(text: string): string {
  const lines = text.split('\n');
  const probes = lines.map((l, i) => (l.includes('dl_src=02:00:00:00:de:ad') ? i : -1));
  return lines.slice(Math.max(...probes) + 1).join('\n');
}

for (const [switchName, startSwitch] of Object.entries(COMPARED_SWITCHES)) {
  describe.skipIf(!ovsReferenceAvailable())(`monitor's packet-ins from ${switchName}`, () => {
    const transcripts = new Map<string, string>();
    let rundir = '';

    beforeAll(async () => {
      rundir = mkdtempSync(join(tmpdir(), 'tvs-t-pinmon-'));
      const sw = await startSwitch();
      const monitors: Array<{ name: string; child: ChildProcess; out: () => string }> = [];
      try {
        await run('ovs-ofctl', ['add-flow', sw.target, 'in_port=1,actions=controller']);
        for (const [name, command] of Object.entries(WATCHERS)) {
          const [cmd, args] = command(sw.target);
          monitors.push({ name, ...startMonitor(cmd, args, rundir) });
        }
        // A monitor listens for NXT_PACKET_IN2 once it has set its packet-in format, which nothing
        // prints: probe frames go in until every monitor has printed one in that format. A
        // connection delivers in order, so every probe's packet-in comes before the frames'.
        await eventually(
          async () => {
            await sw.receive('p1', PROBE);
            return monitors.every((m) => m.out().includes(`NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=${PROBE.length / 2}`));
          },
          20_000,
          'every monitor to print a probe packet-in',
        ).catch((e: unknown) => {
          throw new Error(`${String(e)}; the monitors printed: ${monitors.map((m) => `${m.name}: ${m.out().slice(-400)}`).join('; ')}`);
        });
        for (const { frame } of FRAMES) await sw.receive('p1', frame);
        for (const m of monitors) await eventually(() => withoutProbes(m.out()).split('\n').length > 2 * FRAMES.length, 20_000, `${m.name} to print every packet-in`);
        for (const m of monitors) transcripts.set(m.name, withoutProbes(m.out()));
      } finally {
        for (const m of monitors) m.child.kill();
        await sw.stop();
      }
    }, 120_000);

    afterAll(() => {
      if (rundir) rmSync(rundir, { recursive: true, force: true });
    });

    for (const watcher of Object.keys(WATCHERS)) {
      it(`${watcher} prints each packet-in's header, flow and checksum as ovs-ofctl does against OVS`, () => {
        expect(transcripts.get(watcher)).toBe(FRAMES.flatMap((f) => f.printed.map((l) => `${l}\n`)).join(''));
      });
    }
  });
}
