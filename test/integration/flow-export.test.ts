// NetFlow v5 and IPFIX on real traffic (issue 15's acceptance): two
// namespace hosts ping and talk TCP across a tvs-vswitchd bridge; Debian's
// nfcapd and Wireshark's dissector, collectors we did not write, decode what
// the switch exports and show the hosts' addresses, ports and counts. The
// per-flow sample action is added with Debian's ovs-ofctl.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, ping, type Host } from '../../src/lib/netns.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { eventually } from '../helpers/eventually.js';
import { startNfcapd, startUdpSink, tsharkDecode, type Nfcapd, type NfcapdRecord, type UdpSink } from '../helpers/flow-collectors.js';
import { tcpTransfer } from '../helpers/tcp.js';

let lab: Lab;
let sw: TestDaemon;
let br: string;
let a: Host;
let b: Host;
let nfcapd: Nfcapd;
let sink: UdpSink;
const ofport: Record<string, number> = {};

/** Echo request and reply: 98-byte frames (84 bytes of IPv4), counted as the datapath counts, with their Ethernet header. */
const PING_FRAME_BYTES = 98;
const TCP_PORT = 5301;
const IPFIX_TCP_PORT = 5302;
const OBS_DOMAIN = 77;
const OBS_POINT = 88;

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
  br = lab.ifname('br');
  sw = await startDaemon();
  nfcapd = await startNfcapd();
  sink = await startUdpSink();
  const ha = await lab.addVethHost('a', '10.72.0.1/24');
  const hb = await lab.addVethHost('b', '10.72.0.2/24');
  a = ha.host;
  b = hb.host;
  await sw.vsctl('add-br', br, '--', 'add-port', br, ha.switchIf, '--', 'add-port', br, hb.switchIf);
  ofport.a = Number(await sw.vsctl('get', 'interface', ha.switchIf, 'ofport'));
  ofport.b = Number(await sw.vsctl('get', 'interface', hb.switchIf, 'ofport'));
  // Addresses learned both ways before export starts: what follows is unicast.
  expect(await ping(a, b.ip, 1)).toBe(1);
});

afterAll(async () => {
  await sw?.stop();
  await lab?.cleanup();
  sink?.close();
  await nfcapd?.stop();
});

/** Sums a field of the records matching `where`. */
const total = (records: NfcapdRecord[], field: string, where: (r: NfcapdRecord) => boolean) => records.filter(where).reduce((n, r) => n + Number(r[field]), 0);
const between = (src: Host, dst: Host, proto: string) => (r: NfcapdRecord) => r['src addr'] === src.ip && r['dst addr'] === dst.ip && (r.proto ?? '').startsWith(proto);

describe('NetFlow v5', () => {
  it('nfcapd receives a record per direction of a ping, with the hosts, ports and exact counts', async () => {
    await sw.vsctl('--', '--id=@n', 'create', 'netflow', `targets="127.0.0.1:${nfcapd.port}","127.0.0.1:${sink.port}"`, 'active_timeout=1', '--', 'set', 'bridge', br, 'netflow=@n');
    expect(await ping(a, b.ip, 3)).toBe(3);
    // Each direction is one NetFlow flow; its packets may come in several records (active timeout, then expiry).
    await eventually(() => total(nfcapd.records(), 'in packets', between(a, b, '1 ')) === 3 && total(nfcapd.records(), 'in packets', between(b, a, '1 ')) === 3, 20_000, 'the pings\' NetFlow records');
    const records = nfcapd.records();
    expect(total(records, 'in bytes', between(a, b, '1 '))).toBe(3 * PING_FRAME_BYTES);
    const request = records.find(between(a, b, '1 '))!;
    // In and out as OpenFlow ports; the engine as OVS's userspace datapath derives it.
    expect(request).toMatchObject({ input: String(ofport.a), output: String(ofport.b), 'engine type': '47', 'engine ID': '209' });
    expect(records.find(between(b, a, '1 '))).toMatchObject({ input: String(ofport.b), output: String(ofport.a) });
  });

  it("nfcapd receives a TCP connection's records, with its ports and the SYN that opened it", async () => {
    const t = await tcpTransfer(b, a, 1 << 20, TCP_PORT);
    expect(t.received.bytes).toBe(1 << 20);
    const fromClient = (r: NfcapdRecord) => between(a, b, '6 ')(r) && r['dst port'] === String(TCP_PORT);
    const fromServer = (r: NfcapdRecord) => between(b, a, '6 ')(r) && r['src port'] === String(TCP_PORT);
    await eventually(() => nfcapd.records().some(fromClient) && nfcapd.records().some(fromServer), 20_000, 'the TCP connection\'s NetFlow records');
    const client = nfcapd.records().filter(fromClient);
    expect(total(client, 'in packets', () => true)).toBeGreaterThan(1);
    expect(client.some((r) => /S/.test(r['tcp flags']!.split(' ').pop()!))).toBe(true);
  });

  it('tshark decodes the same datagrams as NetFlow v5 with the hosts\' addresses', async () => {
    const rows = await tsharkDecode(sink.datagrams, sink.port, ['cflow.version', 'cflow.srcaddr', 'cflow.dstaddr', 'cflow.protocol']);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r[0] === '5')).toBe(true);
    const flows = rows.flatMap((r) => {
      const [src, dst, proto] = [r[1]!.split(','), r[2]!.split(','), r[3]!.split(',')];
      return src.map((s, i) => `${s}>${dst[i] ?? '?'} ${proto[i] ?? '?'}`);
    });
    expect(flows).toEqual(expect.arrayContaining([`${a.ip}>${b.ip} 1`, `${b.ip}>${a.ip} 1`, `${a.ip}>${b.ip} 6`, `${b.ip}>${a.ip} 6`]));
  });

  it('removing the NetFlow row stops the export', async () => {
    await sw.vsctl('clear', 'bridge', br, 'netflow');
    // The last records (flows still accounted when the row went) may still be on their way; then nothing more.
    expect(await ping(a, b.ip, 2)).toBe(2);
    await sw.appctl('revalidator/wait');
    const after = sink.datagrams.length;
    expect(await ping(a, b.ip, 2)).toBe(2);
    await sw.appctl('revalidator/wait');
    expect(sink.datagrams.length).toBe(after);
  });

});

describe('IPFIX', () => {
  /** Where the IPFIX messages start among the sink's datagrams (NetFlow's came before). */
  let firstIpfix = 0;
  const isIpfix = (r: NfcapdRecord) => (r.Flags ?? '').includes('NETFLOW v10');

  it("bridge IPFIX (sampling=1) sends nfcapd the ping's every packet, aggregated per flow", async () => {
    firstIpfix = sink.datagrams.length;
    await sw.vsctl('--', '--id=@i', 'create', 'ipfix', `targets="127.0.0.1:${nfcapd.port}","127.0.0.1:${sink.port}"`, 'sampling=1', `obs_domain_id=${OBS_DOMAIN}`, `obs_point_id=${OBS_POINT}`, 'cache_active_timeout=1', 'cache_max_flows=100', '--', 'set', 'bridge', br, 'ipfix=@i');
    expect(await ping(a, b.ip, 3)).toBe(3);
    const icmp = (src: Host, dst: Host) => (r: NfcapdRecord) => isIpfix(r) && between(src, dst, '1 ')(r);
    await eventually(() => total(nfcapd.records(), 'in packets', icmp(a, b)) === 3 && total(nfcapd.records(), 'in packets', icmp(b, a)) === 3, 20_000, "the pings' IPFIX records");
    expect(total(nfcapd.records(), 'in bytes', icmp(a, b))).toBe(3 * PING_FRAME_BYTES);
    expect(nfcapd.records().find(icmp(a, b))).toMatchObject({ input: String(ofport.a), output: String(ofport.b) });
    await sw.vsctl('clear', 'bridge', br, 'ipfix');
  });

  it('a sample action (added with ovs-ofctl) on a Flow_Sample_Collector_Set sends nfcapd the TCP connection\'s packets', async () => {
    await sw.vsctl(
      '--', '--id=@br', 'get', 'bridge', br,
      '--', '--id=@i', 'create', 'ipfix', `targets="127.0.0.1:${nfcapd.port}","127.0.0.1:${sink.port}"`, 'cache_active_timeout=1', 'cache_max_flows=100',
      '--', 'create', 'flow_sample_collector_set', 'id=1', 'bridge=@br', 'ipfix=@i',
    );
    await ofctl('add-flow', br, `priority=100,tcp,actions=sample(probability=65535,collector_set_id=1,obs_domain_id=${OBS_DOMAIN},obs_point_id=${OBS_POINT}),NORMAL`);
    expect(await ofctl('dump-flows', br)).toContain(`sample(probability=65535,collector_set_id=1,obs_domain_id=${OBS_DOMAIN},obs_point_id=${OBS_POINT}),NORMAL`);
    const t = await tcpTransfer(b, a, 1 << 20, IPFIX_TCP_PORT);
    expect(t.received.bytes).toBe(1 << 20);
    const fromClient = (r: NfcapdRecord) => isIpfix(r) && between(a, b, '6 ')(r) && r['dst port'] === String(IPFIX_TCP_PORT);
    const fromServer = (r: NfcapdRecord) => isIpfix(r) && between(b, a, '6 ')(r) && r['src port'] === String(IPFIX_TCP_PORT);
    await eventually(() => nfcapd.records().some(fromClient) && nfcapd.records().some(fromServer), 20_000, "the TCP connection's IPFIX records");
    expect(total(nfcapd.records(), 'in packets', fromClient)).toBeGreaterThan(1);
    await ofctl('del-flows', br, 'tcp');
  });

  it("tshark decodes the IPFIX messages: templates, the domain, and the hosts' flows", async () => {
    const ipfix = sink.datagrams.slice(firstIpfix);
    const rows = await tsharkDecode(ipfix, sink.port, ['cflow.version', 'cflow.od_id', 'cflow.template_id', 'cflow.srcaddr', 'cflow.dstaddr', 'cflow.protocol', 'cflow.observation_point_id']);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['10']));
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set([String(OBS_DOMAIN)]));
    expect(rows.some((r) => r[2] === '256,257,258')).toBe(true);
    const flows = rows.flatMap((r) => {
      const [src, dst, proto] = [r[3]!.split(','), r[4]!.split(','), r[5]!.split(',')];
      return src.map((s, i) => `${s}>${dst[i] ?? '?'} ${proto[i] ?? '?'}`);
    });
    expect(flows).toEqual(expect.arrayContaining([`${a.ip}>${b.ip} 1`, `${b.ip}>${a.ip} 1`, `${a.ip}>${b.ip} 6`, `${b.ip}>${a.ip} 6`]));
    expect(rows.flatMap((r) => r[6]!.split(',')).filter((p) => p !== '').every((p) => p === String(OBS_POINT))).toBe(true);
  });
});

describe('what nfcapd stored', () => {
  it('nfdump reads the NetFlow and IPFIX records nfcapd stored: addresses, ports, protocol, packets, ports of the switch', async () => {
    const csv = await nfcapd.stop();
    // NetFlow's records carry the engine, IPFIX's do not.
    const netflow = csv.filter((r) => r.eng === '47/209');
    const ipfix = csv.filter((r) => r.eng === '0/0');
    expect(netflow.length + ipfix.length).toBe(csv.length);
    for (const records of [netflow, ipfix]) {
      const pings = records.filter((r) => r.sa === a.ip && r.da === b.ip && r.pr === 'ICMP');
      expect(pings.reduce((n, r) => n + Number(r.ipkt), 0)).toBe(3);
      // ICMP's type (8, echo request) and code where NetFlow puts them: the destination port.
      expect(new Set(pings.map((r) => [r.sp, r.dp, r.in, r.out].join(' ')))).toEqual(new Set([`0 ${8 << 8} ${ofport.a ?? 0} ${ofport.b ?? 0}`]));
    }
    expect(netflow.some((r) => r.sa === a.ip && r.da === b.ip && r.pr === 'TCP' && r.dp === String(TCP_PORT))).toBe(true);
    expect(netflow.some((r) => r.sa === b.ip && r.da === a.ip && r.pr === 'TCP' && r.sp === String(TCP_PORT))).toBe(true);
    expect(ipfix.some((r) => r.sa === a.ip && r.da === b.ip && r.pr === 'TCP' && r.dp === String(IPFIX_TCP_PORT))).toBe(true);
    expect(ipfix.some((r) => r.sa === b.ip && r.da === a.ip && r.pr === 'TCP' && r.sp === String(IPFIX_TCP_PORT))).toBe(true);
  });
});
