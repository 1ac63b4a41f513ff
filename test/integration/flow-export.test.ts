// NetFlow v5 and IPFIX on real traffic (issue 15's acceptance): two
// namespace hosts ping and talk TCP across a tvs-vswitchd bridge; Debian's
// nfcapd and Wireshark's dissector, collectors we did not write, decode what
// the switch exports and show the hosts' addresses, ports and counts.
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
  let csv: Record<string, string>[];

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

  it('nfdump reads the records nfcapd stored: addresses, ports, protocol, packets and the engine', async () => {
    csv = await nfcapd.stop();
    const pings = csv.filter((r) => r.sa === a.ip && r.da === b.ip && r.pr === 'ICMP');
    expect(pings.reduce((n, r) => n + Number(r.ipkt), 0)).toBe(3);
    // NetFlow's place for ICMP's type (8, echo request) and code: the destination port.
    expect(new Set(pings.map((r) => [r.sp, r.dp].join(' ')))).toEqual(new Set([`0 ${8 << 8}`]));
    expect(csv.some((r) => r.sa === a.ip && r.da === b.ip && r.pr === 'TCP' && r.dp === String(TCP_PORT))).toBe(true);
    expect(csv.some((r) => r.sa === b.ip && r.da === a.ip && r.pr === 'TCP' && r.sp === String(TCP_PORT))).toBe(true);
    expect(new Set(csv.map((r) => r.eng))).toEqual(new Set(['47/209']));
  });
});
