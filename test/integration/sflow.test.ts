// sFlow on real traffic (issue 15): two namespace hosts ping each other through
// tvs-vswitchd with sampling=1, and collectors we did not write read what the
// agent sends: tshark decodes the datagrams (their sampled headers, ifIndexes
// and interface counters), and pmacct's sfacctd accounts the flows.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, run, type Host } from '../../src/lib/netns.js';
import { PcapWriter } from '../../src/lib/pcap.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { udpFrame } from '../helpers/frames.js';

const PINGS = 5;

let lab: Lab;
let sw: TestDaemon;
let br: string;
let a: Host;
let b: Host;
/** The kernel ifindex of each host's switch-side port. */
const ifindex: Record<string, number> = {};
let dir: string;
/** Our own UDP socket, which keeps every datagram for tshark to decode. */
let collector: Socket;
let collectorPort: number;
const datagrams: Buffer[] = [];
let sfacctd: ChildProcess;
let sfacctdPort: number;

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  s.close();
  return port;
}

/** What tshark makes of the datagrams received so far: one line per datagram, tab-separated fields (lists comma-separated). */
async function tshark(fields: string[]): Promise<string[][]> {
  const pcap = join(dir, `sflow-${datagrams.length}.pcap`);
  rmSync(pcap, { force: true });
  const w = PcapWriter.open(pcap);
  w.write(datagrams.map((d) => udpFrame({ dst: '00:00:00:00:00:01', src: '00:00:00:00:00:02', ipSrc: '127.0.0.1', ipDst: '127.0.0.1', sport: 40000, dport: collectorPort, payload: d })));
  w.close();
  const out = await run('tshark', ['-r', pcap, '-d', `udp.port==${collectorPort},sflow`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])]);
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
}

/** Per ifindex, the highest input and output packet counts the counter samples report. */
async function counters(): Promise<Map<number, { inPkts: number; outPkts: number }>> {
  const m = new Map<number, { inPkts: number; outPkts: number }>();
  for (const [idx = '', inp = '', outp = ''] of await tshark(['sflow_245.ifindex', 'sflow_245.ifinpkt', 'sflow_245.ifoutpkt'])) {
    const ins = inp.split(',');
    const outs = outp.split(',');
    idx.split(',').forEach((i, k) => {
      if (!i) return;
      const prev = m.get(Number(i)) ?? { inPkts: 0, outPkts: 0 };
      m.set(Number(i), { inPkts: Math.max(prev.inPkts, Number(ins[k])), outPkts: Math.max(prev.outPkts, Number(outs[k])) });
    });
  }
  return m;
}

beforeAll(async () => {
  lab = new Lab();
  dir = mkdtempSync(join(tmpdir(), 'tvs-t-sflow-'));
  br = lab.ifname('br');
  sw = await startDaemon();
  const ha = await lab.addVethHost('a', '10.73.0.1/24');
  const hb = await lab.addVethHost('b', '10.73.0.2/24');
  a = ha.host;
  b = hb.host;
  await sw.vsctl('add-br', br, '--', 'add-port', br, ha.switchIf, '--', 'add-port', br, hb.switchIf);
  for (const [role, dev] of [['a', ha.switchIf], ['b', hb.switchIf], ['br', br]] as const) ifindex[role] = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));
  collector = createSocket('udp4');
  collector.on('message', (d) => datagrams.push(d));
  await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
  collectorPort = collector.address().port;
  sfacctdPort = await freeUdpPort();
  const conf = join(dir, 'sfacctd.conf');
  writeFileSync(conf, [
    'daemonize: false',
    `sfacctd_ip: 127.0.0.1`,
    `sfacctd_port: ${sfacctdPort}`,
    'plugins: print',
    'aggregate: src_host, dst_host, in_iface, out_iface',
    'print_output: csv',
    `print_output_file: ${join(dir, 'flows.csv')}`,
    'print_refresh_time: 1',
    'print_output_file_append: true',
    '',
  ].join('\n'));
  // Its own process group: the core process and its plugin process are ended together.
  sfacctd = spawn('sfacctd', ['-f', conf], { stdio: 'ignore', detached: true });
  await sw.vsctl(
    '--', '--id=@s', 'create', 'sflow', 'agent=lo', `targets="127.0.0.1:${collectorPort}","127.0.0.1:${sfacctdPort}"`, 'sampling=1', 'polling=1', 'header=128',
    '--', 'set', 'bridge', br, 'sflow=@s',
  );
  expect(await ping(a, b.ip, PINGS)).toBe(PINGS);
}, 60_000);

afterAll(async () => {
  if (sfacctd?.pid) process.kill(-sfacctd.pid, 'SIGKILL');
  collector?.close();
  await sw?.stop();
  await lab?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sFlow', () => {
  it('sends flow samples whose sampled headers tshark decodes to the hosts, with the ports ifindexes as input and output', async () => {
    let rows: string[][] = [];
    await eventually(async () => {
      rows = (await tshark(['sflow.flow_sample.input_interface', 'sflow.flow_sample.output_interface', 'ip.src', 'ip.dst', 'icmp.type', 'sflow_245.agent', 'sflow.flow_sample.sampling_rate'])).filter((r) => r[0]);
      return rows.reduce((n, r) => n + r[0]!.split(',').length, 0) >= 2 * PINGS;
    }, 20_000, `${2 * PINGS} flow samples`);
    const inputs = new Set(rows.flatMap((r) => r[0]!.split(',').map(Number)));
    const outputs = new Set(rows.flatMap((r) => r[1]!.split(',').map(Number)));
    // The bridge's own port sends too (the host's IPv6 router solicitations).
    expect([...inputs].sort((x, y) => x - y)).toEqual([ifindex.a!, ifindex.b!, ifindex.br!].sort((x, y) => x - y));
    expect([...outputs]).toEqual(expect.arrayContaining([ifindex.a, ifindex.b]));
    const addrs = new Set(rows.flatMap((r) => [...r[2]!.split(','), ...r[3]!.split(',')]));
    expect(addrs).toContain(a.ip);
    expect(addrs).toContain(b.ip);
    const icmpTypes = new Set(rows.flatMap((r) => r[4]!.split(',')));
    // Echo requests (8) and replies (0) both sampled.
    expect(icmpTypes).toContain('8');
    expect(icmpTypes).toContain('0');
    expect(rows.every((r) => r[5] === '127.0.0.1' && r[6]!.split(',').every((x) => x === '1'))).toBe(true);
  });

  it('polls each port counters, which count at least the pings that crossed it', async () => {
    await eventually(async () => {
      const c = await counters();
      return (c.get(ifindex.a!)?.inPkts ?? 0) >= PINGS && (c.get(ifindex.b!)?.inPkts ?? 0) >= PINGS;
    }, 20_000, 'counter samples counting the pings');
    const c = await counters();
    expect(c.get(ifindex.a!)!.outPkts).toBeGreaterThanOrEqual(PINGS);
    expect(c.get(ifindex.b!)!.outPkts).toBeGreaterThanOrEqual(PINGS);
  });

  it('is accepted by sfacctd, which accounts the pings between the hosts on their ports', async () => {
    const flows = join(dir, 'flows.csv');
    /** Packets sfacctd accounted from host a to host b, in on a's port and out on b's, over every interval it printed. */
    const accounted = () => {
      let text: string;
      try {
        text = readFileSync(flows, 'utf8');
      } catch {
        return 0;
      }
      // CSV: IN_IFACE,OUT_IFACE,SRC_IP,DST_IP,PACKETS,BYTES
      return text
        .split('\n')
        .map((l) => l.split(','))
        .filter((f) => f[0] === String(ifindex.a) && f[1] === String(ifindex.b) && f[2] === a.ip && f[3] === b.ip)
        .reduce((n, f) => n + Number(f[4]), 0);
    };
    await eventually(() => accounted() >= PINGS, 20_000, 'sfacctd to account the pings');
  });

  it('puts the sample action in every datapath flow, and takes it out of them when sFlow is removed', async () => {
    expect(await ping(a, b.ip, 1)).toBe(1);
    const flows = await sw.dpctl('dump-flows');
    expect(flows).toMatch(new RegExp(`actions:sample\\(sample=100\\.0%,actions\\(userspace\\(pid=0,sFlow\\(vid=0,pcp=0,output=${ifindex.b!}\\)\\)\\)\\),`));
    expect(flows.split('\n').filter((l) => l.includes('actions:') && !l.includes('actions:sample('))).toEqual([]);
    await sw.vsctl('clear', 'bridge', br, 'sflow');
    await sw.appctl('revalidator/wait');
    expect(await ping(a, b.ip, 1)).toBe(1);
    const after = await sw.dpctl('dump-flows');
    expect(after).toContain('actions:');
    expect(after).not.toContain('sample(');
  });

  it('refuses a target that is not IP:PORT with a warning naming the fix, and goes on switching', async () => {
    await sw.vsctl('--', '--id=@s', 'create', 'sflow', 'targets="collector.example"', '--', 'set', 'bridge', br, 'sflow=@s');
    await eventually(() => sw.stderr().includes('sFlow: target "collector.example" is not IP:PORT (write e.g. targets="192.0.2.10:6343"'), 10_000, 'the warning');
    await sw.appctl('revalidator/wait');
    expect(await ping(a, b.ip, 2)).toBe(2);
    expect(await sw.dpctl('dump-flows')).not.toContain('sample(');
  });
});
