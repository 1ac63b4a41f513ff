// The real ovs-ofctl programming a tvs-vswitchd daemon by bridge name,
// with namespace hosts on veth pairs: the flows decide what crosses, and
// rewrite IPv6 neighbor discovery the hosts' kernels then believe.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';

let lab: Lab;
let sw: TestDaemon;
let a: Host;
let b: Host;
let aIf: string;
let bIf: string;
let br: string;

/** ovs-ofctl finding the daemon's BRIDGE.mgmt sockets in its rundir. */
function ofctl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ovs-ofctl', args, { timeout: 20_000, env: { ...process.env, OVS_RUNDIR: sw.dir } }, (e, stdout, stderr) => {
      if (e) reject(new Error(`ovs-ofctl ${args.join(' ')}: ${stderr}`));
      else resolve(stdout);
    });
  });
}

beforeAll(async () => {
  lab = new Lab();
  br = lab.ifname('of');
  sw = await startDaemon();
  const ha = await lab.addVethHost('a', '10.61.0.1/24');
  const hb = await lab.addVethHost('b', '10.61.0.2/24');
  [a, b, aIf, bIf] = [ha.host, hb.host, ha.switchIf, hb.switchIf];
  await sw.vsctl('add-br', br, '--', 'add-port', br, aIf, '--', 'set', 'interface', aIf, 'ofport_request=1', '--', 'add-port', br, bIf, '--', 'set', 'interface', bIf, 'ofport_request=2');
});

afterAll(async () => {
  await sw?.stop();
  await lab?.cleanup();
});

describe('ovs-ofctl against tvs-vswitchd, namespace traffic', () => {
  it('carries traffic only where the flows it added say, and counts it', async () => {
    expect(await ping(a, '10.61.0.2', 1)).toBe(1);
    await ofctl('del-flows', br);
    expect(await ping(a, '10.61.0.2', 1)).toBe(0);
    await ofctl('-O', 'OpenFlow13', 'add-flow', br, 'priority=10,in_port=1,actions=output:2');
    await ofctl('-O', 'OpenFlow13', 'add-flow', br, 'priority=10,in_port=2,actions=output:1');
    expect(await ping(a, '10.61.0.2', 3)).toBe(3);
    await sw.appctl('revalidator/wait');
    const flows = await ofctl('dump-flows', br);
    expect(flows).toMatch(/n_packets=[1-9]\d*, .*priority=10,in_port=1 actions=output:2/);
    expect(await ofctl('dump-ports', br, '1')).toMatch(/rx pkts=[1-9]/);
  });
});

/** Turn IPv6 on for a host (the lab leaves it off) with `addr`, skipping duplicate address detection; once per host. */
async function enableIpv6(h: Host, addr: string): Promise<void> {
  if ((await h.exec('ip', ['-6', 'addr', 'show', 'dev', h.ifname])).includes(addr)) return;
  for (const setting of ['accept_dad=0', 'router_solicitations=0', 'disable_ipv6=0']) await h.exec('sysctl', ['-qw', `net.ipv6.conf.${h.ifname}.${setting}`]);
  await h.exec('ip', ['-6', 'addr', 'add', addr, 'dev', h.ifname, 'nodad']);
}

/** The link-layer address `h`'s kernel holds for `ip`, once it holds one. */
async function neighbourMac(h: Host, ip: string): Promise<string> {
  let mac = '';
  await eventually(async () => {
    mac = /lladdr (\S+)/.exec(await h.exec('ip', ['-6', 'neigh', 'show', ip, 'dev', h.ifname]))?.[1] ?? '';
    return mac !== '';
  }, 10_000, `${h.ns}'s neighbour entry for ${ip}`);
  return mac;
}

describe('IPv6 neighbor discovery rewritten by flows, as the hosts\' kernels see it', () => {
  it('rewrites the link-layer addresses of a solicitation and its advertisement, and each kernel takes the rewritten one', async () => {
    await enableIpv6(a, 'fd00:61::1/64');
    await enableIpv6(b, 'fd00:61::2/64');
    await ofctl('del-flows', br);
    for (const flow of [
      'priority=10,in_port=1,actions=output:2',
      'priority=10,in_port=2,actions=output:1',
      // a's solicitation for b: b learns a by a made-up source address.
      `priority=100,in_port=1,icmp6,icmp_type=135,nd_target=fd00:61::2,nd_sll=${a.mac},actions=set_field:02:00:00:00:00:88->nd_sll,output:2`,
      // b's answer goes to the made-up address: put a's back, and claim a made-up target address.
      'priority=100,in_port=2,icmp6,icmp_type=136,nd_target=fd00:61::2,actions=move:NXM_OF_ETH_SRC[]->NXM_NX_ND_TLL[],load:0x99->NXM_NX_ND_TLL[0..7],' +
        `set_field:${a.mac}->eth_dst,output:1`,
    ]) {
      await ofctl('-O', 'OpenFlow13', 'add-flow', br, flow);
    }
    // A kernel drops an ND message whose ICMPv6 checksum is wrong: an entry means it was right.
    await a.exec('ping', ['-6', '-c', '1', '-W', '1', 'fd00:61::2']).catch(() => undefined);
    const claimed = [...b.mac.split(':').slice(0, 5), '99'].join(':');
    expect(await neighbourMac(a, 'fd00:61::2')).toBe(claimed);
    expect(await neighbourMac(b, 'fd00:61::1')).toBe('02:00:00:00:00:88');
    await sw.appctl('revalidator/wait');
    const dp = await sw.appctl('dpif/dump-flows', br);
    expect(dp).toMatch(new RegExp(`icmpv6\\(type=135,code=0\\),nd\\(target=fd00:61::2,sll=${a.mac}\\),.* actions:set\\(nd\\(sll=02:00:00:00:00:88\\)\\),\\d+\n`));
    expect(dp).toMatch(new RegExp(`icmpv6\\(type=136,code=0\\),nd\\(target=fd00:61::2,.*tll=${b.mac}\\),.* actions:set\\(eth\\(dst=${a.mac}\\)\\),set\\(nd\\(tll=${claimed}\\)\\),\\d+\n`));
    // Other ICMPv6 messages have no nd(): their megaflows do not match one.
    expect(dp).not.toMatch(/icmpv6\(type=(?!135|136)\d+[^)]*\),nd\(/);
  });
});

describe("OVN's flow-only ND responder, as a host's kernel sees it", () => {
  it('answers a solicitation for the router address with an advertisement the kernel takes into its neighbour table', async () => {
    const router = { ip: 'fd00:61::fe', mac: '02:00:00:00:00:fe' };
    await enableIpv6(a, 'fd00:61::1/64');
    await ofctl('del-flows', br);
    for (const flow of [
      // The solicitation becomes the advertisement: addresses swapped, type 136, the router,
      // solicited and override flags, and the source address option retyped as a target one...
      `table=0,priority=100,in_port=1,icmp6,icmp_type=135,nd_target=${router.ip},nd_reserved=0,nd_options_type=1,actions=` +
        `move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:${router.mac}->eth_src,move:NXM_NX_IPV6_SRC[]->NXM_NX_IPV6_DST[],set_field:${router.ip}->ipv6_src,` +
        'set_field:136->icmpv6_type,set_field:0xe0000000->nd_reserved,set_field:2->nd_options_type,resubmit(,1)',
      // ...which then carries the router's MAC, back out of the port it came in on.
      `table=1,icmp6,icmp_type=136,nd_options_type=2,actions=set_field:${router.mac}->nd_tll,IN_PORT`,
    ]) {
      await ofctl('-O', 'OpenFlow13', 'add-flow', br, flow);
    }
    // Nothing answers the ping; the kernel solicits the router's address first.
    await a.exec('ping', ['-6', '-c', '1', '-W', '1', router.ip]).catch(() => undefined);
    // A kernel drops an advertisement with a wrong checksum, flags or option: an entry means all were right.
    expect(await neighbourMac(a, router.ip)).toBe(router.mac);
    await sw.appctl('revalidator/wait');
    const dp = await sw.appctl('dpif/dump-flows', br);
    expect(dp).toMatch(
      new RegExp(
        `icmpv6\\(type=135,code=0\\),nd\\(target=${router.ip}[^)]*\\),nd_ext\\(nd_reserved=0x0,nd_options_type=1\\),.* actions:set\\(eth\\(src=${router.mac},dst=${a.mac}\\)\\),` +
          `set\\(ipv6\\(src=${router.ip},dst=[0-9a-f:]+\\)\\),set\\(nd_ext\\(nd_reserved=0xe0000000,nd_options_type=2\\)\\),set\\(nd\\(tll=${router.mac}\\)\\),set\\(icmpv6\\(type=136\\)\\),\\d+\n`,
      ),
    );
  });
});
