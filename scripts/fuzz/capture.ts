// Records the fuzzers' seed corpus from real traffic: Debian's ovs-ofctl and ovs-vsctl driving
// Debian's ovs-vswitchd and ovsdb-server through a recording proxy, so every seed is a message a
// real client or switch sent. Also keeps the flows and datapath flows OVS printed, and its
// database file. The corpus is checked in (scripts/fuzz/corpus/); run this again after adding
// commands: `node dist/scripts/fuzz/capture.js` in the repository's root.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { run } from '../../src/lib/netns.js';
import { JsonStreamParser } from '../../src/lib/jsonrpc.js';
import { startOvsDaemons } from '../bench/ovs-daemons.js';

/** Run from the repository's root: the corpus is part of the sources. */
const CORPUS_DIR = join(process.cwd(), 'scripts', 'fuzz', 'corpus');

/** A TCP listener that forwards each connection to `upstream` and hands every chunk to `record`. */
async function recordingProxy(upstream: string, record: (from: 'client' | 'server', chunk: Buffer, conn: number) => void): Promise<{ server: Server; port: number }> {
  let conns = 0;
  const server = createServer((client: Socket) => {
    const conn = conns++;
    const up = connect(upstream);
    client.on('data', (b) => {
      record('client', b, conn);
      up.write(b);
    });
    up.on('data', (b) => {
      record('server', b, conn);
      client.write(b);
    });
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the recording proxy has no TCP port');
  return { server, port: addr.port };
}

/** Splits each connection's byte stream into OpenFlow messages by their header's length. */
function openflowFramer(): { record: (from: string, chunk: Buffer, conn: number) => void; messages: string[] } {
  const pending = new Map<string, Buffer>();
  const messages: string[] = [];
  const seen = new Set<string>();
  return {
    messages,
    record(from, chunk, conn) {
      const key = `${conn}/${from}`;
      let buf = Buffer.concat([pending.get(key) ?? Buffer.alloc(0), chunk]);
      while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
        const len = buf.readUInt16BE(2);
        // Big replies (254 tables' features) would make most of the corpus; mutations grow small ones.
        const line = `${from} ${buf.subarray(0, len).toString('hex')}`;
        if (len <= MAX_SEED_BYTES && !seen.has(line)) messages.push(line);
        seen.add(line);
        buf = buf.subarray(len);
      }
      pending.set(key, buf);
    },
  };
}

const MAX_SEED_BYTES = 2048;

const OFCTL_SCRIPT: string[][] = [
  ['show'],
  ['dump-desc'],
  ['dump-tables'],
  ['dump-table-features'],
  ['add-flow', 'priority=10,in_port=1,dl_vlan=5,actions=strip_vlan,output:2'],
  ['add-flow', 'table=0,priority=20,ip,nw_src=10.0.0.0/8,tcp,tp_dst=80,actions=mod_nw_dst:10.1.1.1,resubmit(,1)'],
  ['add-flow', 'table=1,cookie=0x1234,ipv6,ipv6_src=2001:db8::/32,actions=set_field:0x5->reg0,move:NXM_NX_REG0[0..15]->NXM_NX_REG1[16..31],goto_table:2'],
  ['add-flow', 'table=2,arp,arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:02:00:00:00:00:01,load:0x2->NXM_OF_ARP_OP[],IN_PORT'],
  ['add-flow', 'table=3,icmp6,icmp_type=135,nd_target=fe80::1,actions=controller(userdata=01.02.03,pause),output:1'],
  ['add-flow', 'table=4,reg3=0x10/0xf0,metadata=0x7,actions=push_vlan:0x8100,set_field:4100->vlan_vid,output:2'],
  ['add-flow', 'table=5,udp,tp_src=53,idle_timeout=30,hard_timeout=60,actions=learn(table=6,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),drop'],
  ['add-group', 'group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2'],
  ['add-group', 'group_id=2,type=all,bucket=output:1,bucket=mod_vlan_vid:7,output:2'],
  ['add-meter', 'meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100'],
  ['add-flow', 'table=7,priority=1,actions=meter:1,group:1'],
  ['dump-flows', '--no-stats'],
  ['dump-aggregate'],
  ['dump-ports'],
  ['dump-ports-desc'],
  ['dump-groups'],
  ['dump-group-stats'],
  ['dump-meters'],
  ['meter-stats'],
  ['queue-stats'],
  ['mod-port', '1', 'no-flood'],
  ['packet-out', 'in_port=1', 'packet=ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002', 'actions=output:2'],
  ['mod-flows', 'table=0,in_port=1,dl_vlan=5,actions=drop'],
  ['del-flows', '--strict', 'table=1,cookie=0x1234/-1,ipv6,ipv6_src=2001:db8::/32'],
  ['del-groups'],
  ['del-meters'],
  ['del-flows'],
];

/**
 * Frames two kernels send each other over a veth pair (ARP, ND, ICMP and ICMPv6 echo, a TCP
 * connection refused, UDP drawing a port unreachable), and the same again through kernel vxlan
 * devices, recorded with tcpdump on one end: the datapath fuzzer's seeds, tunnel headers included.
 */
async function captureFrames(pcap: string): Promise<void> {
  const [a, b] = [`tvs-fz-${process.pid}-a`, `tvs-fz-${process.pid}-b`];
  const inA = (...args: string[]) => run('ip', ['netns', 'exec', a, ...args]);
  try {
    for (const ns of [a, b]) await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'add', 'fz0', 'netns', a, 'type', 'veth', 'peer', 'name', 'fz0', 'netns', b]);
    for (const [ns, n] of [[a, 1], [b, 2]] as const) {
      const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]);
      await ip('link', 'set', 'lo', 'up');
      await ip('addr', 'add', `192.0.2.${n}/24`, 'dev', 'fz0');
      await ip('addr', 'add', `2001:db8::${n}/64`, 'dev', 'fz0', 'nodad');
      await ip('link', 'set', 'fz0', 'up');
      await ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'remote', `192.0.2.${3 - n}`, 'dstport', '4789', 'dev', 'fz0');
      await ip('addr', 'add', `10.9.0.${n}/24`, 'dev', 'vx0');
      await ip('addr', 'add', `2001:db8:9::${n}/64`, 'dev', 'vx0', 'nodad');
      await ip('link', 'set', 'vx0', 'up');
    }
    const tcpdump = spawn('ip', ['netns', 'exec', a, 'tcpdump', '-i', 'fz0', '-U', '-s', '0', '-w', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
    // tcpdump says "listening on" once its socket is open.
    await new Promise<void>((resolve, reject) => {
      tcpdump.stderr.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
      tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited (${String(code)}) before listening`)));
    });
    for (const dst of ['192.0.2.2', '2001:db8::2', '10.9.0.2', '2001:db8:9::2']) {
      await inA('ping', '-c', '2', '-i', '0.2', '-s', '100', dst);
      await inA('bash', '-c', `exec 3<>/dev/tcp/${dst}/9`).catch(() => undefined);
      await inA('bash', '-c', `echo probe > /dev/udp/${dst}/9`).catch(() => undefined);
    }
    tcpdump.kill('SIGINT');
    await once(tcpdump, 'exit');
  } finally {
    for (const ns of [a, b]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  mkdirSync(CORPUS_DIR, { recursive: true });
  await captureFrames(join(CORPUS_DIR, 'frames.pcap'));
  const ovs = await startOvsDaemons({ purpose: 'fuzz-capture', vswitchdArgs: ['--enable-dummy=override', '--disable-system'] });
  try {
    const ovsdbProxyMessages: string[] = [];
    const jsonStreams = new Map<string, JsonStreamParser>();
    const dbProxy = await recordingProxy(join(ovs.dir, 'db.sock'), (from, chunk, conn) => {
      const key = `${conn}/${from}`;
      const parser = jsonStreams.get(key) ?? new JsonStreamParser();
      jsonStreams.set(key, parser);
      for (const ev of parser.feed(chunk)) {
        const line = ev.kind === 'message' ? `${from} ${JSON.stringify(ev.value)}` : '';
        // The schema replies are long and each the same: the requests and updates are the variety.
        if (line && line.length <= MAX_SEED_BYTES * 4) ovsdbProxyMessages.push(line);
      }
    });
    const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=tcp:127.0.0.1:${dbProxy.port}`, '--timeout=20', ...args]);
    await vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail-mode=secure');
    await vsctl('add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy', 'ofport_request=1');
    await vsctl('add-port', 'br0', 'p2', 'tag=5', '--', 'set', 'interface', 'p2', 'type=dummy', 'ofport_request=2');
    await vsctl('set', 'port', 'p2', 'trunks=1,2,3', 'vlan_mode=native-untagged');
    await vsctl('add-port', 'br0', 'vx0', '--', 'set', 'interface', 'vx0', 'type=vxlan', 'options:remote_ip=192.0.2.7', 'options:key=flow');
    await vsctl('set-controller', 'br0', 'ptcp:0:127.0.0.1');
    await vsctl('--', '--id=@m', 'create', 'mirror', 'name=m0', 'select_all=true', '--', 'set', 'bridge', 'br0', 'mirrors=@m');
    await vsctl('list', 'interface');
    await vsctl('--columns=name,ofport', 'find', 'interface', 'type=dummy');
    await vsctl('del-controller', 'br0');
    await vsctl('clear', 'bridge', 'br0', 'mirrors');
    await vsctl('del-port', 'br0', 'vx0');

    const of = openflowFramer();
    const ofProxy = await recordingProxy(join(ovs.dir, 'br0.mgmt'), of.record);
    // The flows as a user types them, then as ovs-ofctl prints them back.
    const flowsPrinted: string[] = OFCTL_SCRIPT.filter(([c]) => c === 'add-flow' || c === 'mod-flows').map(([, flow]) => flow!);
    for (const version of ['OpenFlow10', 'OpenFlow13', 'OpenFlow15']) {
      for (const [command, ...args] of OFCTL_SCRIPT) {
        const out = await run('ovs-ofctl', ['-O', version, command!, `tcp:127.0.0.1:${ofProxy.port}`, ...args]).catch((e: unknown) => String(e));
        if (command === 'dump-flows') flowsPrinted.push(...out.split('\n').filter((l) => l.includes('actions=')));
      }
    }
    // Frames through the flows make datapath flows.
    await run('ovs-ofctl', ['add-flow', join(ovs.dir, 'br0.mgmt'), 'priority=10,in_port=1,actions=output:2']);
    await run('ovs-ofctl', ['add-flow', join(ovs.dir, 'br0.mgmt'), 'priority=10,in_port=2,actions=mod_vlan_vid:9,output:1']);
    await ovs.appctl('netdev-dummy/receive', 'p1', 'in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80)');
    await ovs.appctl('netdev-dummy/receive', 'p1', 'in_port(1),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=02:00:00:00:00:01,tha=00:00:00:00:00:00)');
    const dpFlows = (await ovs.appctl('dpctl/dump-flows')).split('\n').filter((l) => l.includes('actions:'));

    writeFileSync(join(CORPUS_DIR, 'openflow.txt'), `${of.messages.join('\n')}\n`);
    writeFileSync(join(CORPUS_DIR, 'jsonrpc.txt'), `${ovsdbProxyMessages.join('\n')}\n`);
    writeFileSync(join(CORPUS_DIR, 'flows.txt'), `${flowsPrinted.map((l) => l.trim()).join('\n')}\n`);
    writeFileSync(join(CORPUS_DIR, 'odp.txt'), `${dpFlows.join('\n')}\n`);
    copyFileSync(join(ovs.dir, 'conf.db'), join(CORPUS_DIR, 'conf.db'));
    console.log(`corpus: frames.pcap, ${of.messages.length} OpenFlow messages, ${ovsdbProxyMessages.length} JSON-RPC messages, ${flowsPrinted.length} flows, ${dpFlows.length} datapath flows, one database file`);
    ofProxy.server.close();
    dbProxy.server.close();
  } finally {
    await ovs.stop();
  }
}

await main();
