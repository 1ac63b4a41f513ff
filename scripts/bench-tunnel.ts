/**
 * Tunnel benchmark: one VXLAN overlay (VNI 5000) between two host namespaces, the topology of the
 * overlay tests (test/helpers/overlay.ts): a VM namespace on each host behind the host's switch,
 * the hosts joined by an underlay veth. The same switch on both hosts, in turn: TVS
 * (tvs-vswitchd, a `type=vxlan` port), Debian's OVS on its userspace datapath (br-int and br-phy,
 * as OVS documents userspace tunnelling), and the kernel (a vxlan device in a Linux bridge).
 * Measured from VM A to VM B: TCP throughput (iperf3) and 64-byte frames/s (tvs-blaster, the
 * datapath section's generator, to a MAC nobody owns, so each switch floods them over the tunnel
 * and VM B's stack drops them unexamined), reported beside ratios to OVS and to the kernel.
 *
 * `runTunnelBench(seconds)` is called by the main bench (`npm run bench -- --only tunnel`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Overlay, OVERLAY_PREFIX, type OverlaySwitch, type UnderlayHost, type VmHost } from '../test/helpers/overlay.js';
import { eventually } from '../test/helpers/eventually.js';
import { ensureOvsInstalled } from './bench/ovs.js';

const BLASTER = fileURLToPath(new URL('../../native/target/release/tvs-blaster', import.meta.url));
/** Locally administered, and owned by no VM: every switch floods these frames across the tunnel. */
const NOBODYS_MAC = '02:ff:ff:ff:ff:fe';
const VNI = 5000;

interface TunnelRow {
  switch: string;
  /** 64-byte frames per second that reached VM B. */
  pps64?: number;
  /** What the generator in VM A sent. */
  offeredPps64?: number;
  tcpGbps?: number;
  /** Why the row has no numbers ("unavailable: ..."). */
  error?: string;
}

type Start = (o: Overlay, host: UnderlayHost) => Promise<OverlaySwitch>;

/**
 * TVS brings its bridge's internal port up when it makes it; OVS leaves br-int's down, and the
 * flood of 64-byte frames reaches both. Measured the same way: TVS's br0 down too.
 */
async function tvsWithInternalPortDown(o: Overlay, h: UnderlayHost): Promise<OverlaySwitch> {
  const sw = await o.tvs(h);
  await h.exec('ip', ['link', 'set', 'br0', 'down']);
  return sw;
}

const SWITCHES: [string, Start][] = [
  ['TVS', tvsWithInternalPortDown],
  ['OVS userspace', (o, h) => o.ovs(h)],
  ['kernel vxlan + bridge', (o, h) => o.kernel(h)],
];

async function rxPackets(vm: VmHost): Promise<number> {
  return Number(await vm.exec('cat', [`/sys/class/net/${vm.ifname}/statistics/rx_packets`]));
}

/** 64-byte frames from VM A for `seconds`: frames/s received by VM B, and offered by A. */
async function blast(host: UnderlayHost, from: VmHost, to: VmHost, seconds: number): Promise<{ received: number; offered: number }> {
  // The blaster's XDP generator needs NAPI on the switch's end of VM A's veth (veth turns it on with GRO).
  await host.exec('ethtool', ['-K', from.port, 'gro', 'on']);
  const before = await rxPackets(to);
  const out = await from.exec(BLASTER, [from.ifname, NOBODYS_MAC, from.mac, String(seconds), '1'], { timeoutMs: (seconds + 30) * 1000 });
  // Frames still crossing the switches when the blaster stops count once they arrive: wait until VM B's counter settles.
  let last = -1;
  await eventually(
    async () => {
      const now = await rxPackets(to);
      const settled = now === last;
      last = now;
      return settled;
    },
    10_000,
    "VM B's receive counter to settle",
  );
  return { received: (last - before) / seconds, offered: (JSON.parse(out) as { pps: number }).pps };
}

/** iperf3 from VM A to VM B for `seconds`, in Gbit/s. */
async function tcp(from: VmHost, to: VmHost, seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', to.ns, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await eventually(async () => (await to.exec('ss', ['-Htln', 'sport = :5201'])).trim() !== '', 10_000, 'iperf3 to listen in VM B');
    const out = await from.exec('iperf3', ['-c', to.ip, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
    const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return report.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill();
  }
}

async function measure(name: string, start: Start, seconds: number): Promise<TunnelRow> {
  const row: TunnelRow = { switch: name };
  const overlay = await Overlay.create({ kind: 'tvs-bench' });
  process.stdout.write(`  ${name}: `);
  try {
    const a = await start(overlay, overlay.a);
    const b = await start(overlay, overlay.b);
    const vmA = await a.addVm('vm', `${OVERLAY_PREFIX}.1/24`);
    const vmB = await b.addVm('vm', `${OVERLAY_PREFIX}.2/24`);
    await a.addTunnel('vx0', { type: 'vxlan', key: VNI });
    await b.addTunnel('vx0', { type: 'vxlan', key: VNI });
    // One ping both ways first: ARP and MAC learning done, and the overlay proven before it is timed.
    await vmA.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', vmB.ip]);
    process.stdout.write('TCP');
    row.tcpGbps = await tcp(vmA, vmB, seconds);
    process.stdout.write(`, 64-byte frames`);
    const frames = await blast(overlay.a, vmA, vmB, seconds);
    row.pps64 = frames.received;
    row.offeredPps64 = frames.offered;
    console.log(' done');
  } catch (e) {
    row.error = `unavailable: ${(e as Error).message.split('\n')[0]!}`;
    console.log(` ${row.error}`);
  } finally {
    await overlay.cleanup();
  }
  return row;
}

const fmt = (v: number | undefined, digits: number) => (v === undefined ? '-' : v.toFixed(digits));
const ratio = (v: number | undefined, base: number | undefined) => (v === undefined || !base ? '-' : `${(v / base).toFixed(2)}x`);

function table(rows: TunnelRow[]): string {
  const ovs = rows.find((r) => r.switch === 'OVS userspace');
  const kernel = rows.find((r) => r.switch === 'kernel vxlan + bridge');
  const head = ['switch', 'offered Mpps', 'Mpps 64B', 'vs OVS', 'vs kernel', 'TCP Gbit/s', 'vs OVS', 'vs kernel'];
  const lines = rows.map((r) =>
    r.error
      ? [r.switch, r.error]
      : [
          r.switch,
          fmt(r.offeredPps64 && r.offeredPps64 / 1e6, 3),
          fmt(r.pps64 && r.pps64 / 1e6, 3),
          ratio(r.pps64, ovs?.pps64),
          ratio(r.pps64, kernel?.pps64),
          fmt(r.tcpGbps, 2),
          ratio(r.tcpGbps, ovs?.tcpGbps),
          ratio(r.tcpGbps, kernel?.tcpGbps),
        ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...lines.filter((l) => l.length > 2).map((l) => l[i]!.length)));
  return [head, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

export async function runTunnelBench(seconds: number): Promise<TunnelRow[]> {
  const switches = (await ensureOvsInstalled()) ? SWITCHES : SWITCHES.filter(([name]) => name !== 'OVS userspace');
  const rows: TunnelRow[] = [];
  for (const [name, start] of switches) rows.push(await measure(name, start, seconds));
  console.log('\n' + table(rows) + '\n');
  return rows;
}
