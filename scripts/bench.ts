// `npm run bench`: the same topology and load for every switch, measured in
// one run so the numbers compare on this noisy machine. Prints a table with
// ratios to OVS's userspace datapath and to TVS's bare forwarder, and saves
// JSON under bench-results/.
//
//   npm run bench [-- --seconds N] [--rounds N] [--only datapath,lookup,classifier,ovsdb,openflow,tunnel,mirror,sflow,storm,capture]
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Datapath, type Upcall } from '../src/datapath/dpif.js';
import { encodeActions, type Action } from '../src/datapath/actions.js';
import { encodeKey, exactMask } from '../src/datapath/flow-key.js';
import { Lab, run, type Host } from '../src/lib/netns.js';
import { Switch } from '../src/api/switch.js';
import { ensureOvsInstalled, OvsInstance } from './bench/ovs.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BLASTER = join(ROOT, 'native', 'target', 'release', 'tvs-blaster');
const LOOKUP_BENCH = join(ROOT, 'native', 'target', 'release', 'tvs-lookup-bench');

interface Topology {
  lab: Lab;
  gen: Host;
  sink: Host;
  genIf: string;
  sinkIf: string;
}

/** A switch under test: joins the two switch-side interfaces, and is torn down after. */
interface SwitchUnderTest {
  name: string;
  up(t: Topology): Promise<void>;
  /** Flows set up per second with a new 5-tuple in every frame (when meaningful). */
  flowSetup?(t: Topology, seconds: number): Promise<number>;
  down(): Promise<void>;
}

interface Row {
  switch: string;
  /** Median over the rounds. */
  pps64?: number;
  /** What the generator sent (median): a switch that forwards most of it was not overloaded. */
  offeredPps64?: number;
  pps64Rounds?: number[];
  offeredRounds?: number[];
  tcpGbps?: number;
  rttMs?: number;
  flowsPerSec?: number;
  error?: string;
}

/** The meter of 'TVS datapath +meter': one drop band whose rate (2^32-1 packets/s) no run reaches. */
const UNREACHED_METER = { pktps: true, bands: [{ type: 'drop' as const, rate: 0xffffffff, burstSize: 0 }] };
const METER_ID = 0;

/**
 * TVS's datapath with in_port megaflows ('megaflow'), forwarding with no
 * lookup ('bare'), or the megaflows metered first by a meter that never
 * drops ('meter': what a meter costs per frame).
 */
function tvsSwitch(mode: 'megaflow' | 'bare' | 'meter'): SwitchUnderTest {
  const bare = mode === 'bare';
  let dp: Datapath | undefined;
  let ports: [number, number] = [0, 0];
  let outputs: Buffer[] = [];
  const outputTo = (p: number): Action[] => [...(mode === 'meter' ? [{ type: 'meter' as const, id: METER_ID }] : []), { type: 'output' as const, port: p }];
  return {
    name: { megaflow: 'TVS datapath', bare: 'TVS bare forwarder', meter: 'TVS datapath +meter' }[mode],
    async up(t) {
      // The least a slow path can do: every miss gets an exact-match
      // megaflow to the other port, installed from TypeScript. This measures
      // the upcall round trip; 'TVS vswitchd' measures the whole slow path.
      const mask = encodeKey(exactMask(['in_port', 'eth.src', 'eth.dst', 'eth_type', 'ipv4.src', 'ipv4.dst', 'ipv4.proto', 'udp.src', 'udp.dst']));
      dp = Datapath.open({
        onUpcall: (batch: Upcall[]) => {
          dp!.replyUpcalls(batch.map((upcall) => ({ upcall, actions: outputs[upcall.port === ports[0] ? 1 : 0]!, megaflow: { mask } })));
        },
      });
      dp.configure({ flowLimit: 2_000_000, maxIdleMs: 60_000 });
      if (mode === 'meter') dp.setMeter(METER_ID, UNREACHED_METER);
      ports = [dp.addPort({ type: 'system', name: t.genIf }).port, dp.addPort({ type: 'system', name: t.sinkIf }).port];
      outputs = ports.map((p) => encodeActions(outputTo(p)));
      if (bare) {
        dp.setForward(ports[0], [ports[1]]);
        dp.setForward(ports[1], [ports[0]]);
      } else {
        const inPort = exactMask(['in_port']);
        dp.putFlow({ key: { in_port: ports[0] }, mask: inPort, actions: outputTo(ports[1]) });
        dp.putFlow({ key: { in_port: ports[1] }, mask: inPort, actions: outputTo(ports[0]) });
      }
    },
    flowSetup: mode !== 'megaflow'
      ? undefined
      : async (t, seconds) => {
          dp!.flushFlows();
          const before = dp!.stats().flows;
          await blast(t, seconds, 1 << 20);
          return (dp!.stats().flows - before) / seconds;
        },
    async down() {
      dp?.close();
    },
  };
}

/**
 * The whole switch: tvs-vswitchd's bridge with OpenFlow rules from port to
 * port. Its flow setup goes through the real slow path (OpenFlow tables,
 * xlate, revalidator bookkeeping) with megaflows disabled, as OVS's does.
 */
function tvsVswitchd(): SwitchUnderTest {
  let sw: Switch | undefined;
  const bridge = `tvsb${process.pid % 100000}`;
  return {
    name: 'TVS vswitchd',
    async up(t) {
      sw = await Switch.start();
      await sw.addBridge(bridge);
      await sw.addPort(bridge, t.genIf, { ofportRequest: 1 });
      await sw.addPort(bridge, t.sinkIf, { ofportRequest: 2 });
      await sw.addFlow(bridge, 'in_port=1,actions=output:2');
      await sw.addFlow(bridge, 'in_port=2,actions=output:1');
    },
    async flowSetup(t, seconds) {
      // As in the datapath row, a flow limit the run cannot reach, set the way a user would.
      await run(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'tvs-vsctl.js'), `--db=${sw!.db}`, 'set', 'Open_vSwitch', '.', 'other_config:flow-limit=2000000']);
      const reply = await sw!.daemon.registry.run('upcall/disable-megaflows');
      if (!reply.ok) throw new Error(`upcall/disable-megaflows: ${reply.output}`);
      const before = sw!.datapathStats().flows;
      await blast(t, seconds, 1 << 20);
      return (sw!.datapathStats().flows - before) / seconds;
    },
    async down() {
      await sw?.stop();
    },
  };
}

function linuxBridge(): SwitchUnderTest {
  let name = '';
  return {
    name: 'Linux bridge',
    async up(t) {
      name = `tvsbr${process.pid % 100000}`;
      await run('ip', ['link', 'add', name, 'type', 'bridge']);
      t.lab.trackLink(name);
      for (const p of [t.genIf, t.sinkIf]) await run('ip', ['link', 'set', p, 'master', name]);
      await run('ip', ['link', 'set', name, 'up']);
    },
    async down() {
      await run('ip', ['link', 'del', name]).catch(() => undefined);
    },
  };
}

function ovsNetdev(tso: boolean): SwitchUnderTest {
  let ovs: OvsInstance | undefined;
  return {
    name: tso ? 'OVS netdev +TSO' : 'OVS netdev',
    async up(t) {
      if (!tso) {
        // Without userspace TSO, OVS's netdev datapath cannot take the
        // super-frames veth hands it: OVS's documentation has offloads
        // turned off on the hosts, so this row measures it that way.
        for (const h of [t.gen, t.sink]) await h.exec('ethtool', ['-K', h.ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
      }
      ovs = new OvsInstance();
      await ovs.start([t.genIf, t.sinkIf], { tso });
    },
    flowSetup: tso
      ? undefined
      : async (t, seconds) => {
          // Exact-match datapath flows, so each new 5-tuple is an upcall, as for TVS.
          await ovs!.appctl('upcall/disable-megaflows');
          await ovs!.appctl('dpctl/del-flows');
          const before = await ovs!.datapathFlows();
          await blast(t, seconds, 1 << 20);
          return ((await ovs!.datapathFlows()) - before) / seconds;
        },
    async down() {
      await ovs?.stop();
    },
  };
}

/** Locally administered, and not among the MACs Lab gives its hosts. */
const NOBODYS_MAC = '02:ff:ff:ff:ff:fe';

async function rxPackets(h: Host): Promise<number> {
  return Number(await h.exec('cat', [`/sys/class/net/${h.ifname}/statistics/rx_packets`]));
}

/**
 * Blast 64-byte frames from gen for `seconds`; returns frames/s that reached
 * the sink. One flow goes through the blaster's XDP generator, which needs
 * NAPI on the switch's end of the veth: veth turns it on with GRO, for the
 * blast only, so TCP measurements see the topology unchanged.
 *
 * The frames are addressed to a MAC address no host owns. The sink's veth
 * still counts each one on arrival, and its IP stack then drops it at once.
 * This matters because veth delivers in the sender's context: the sink's
 * receive processing runs on the switch's CPU, and addressed to the sink's
 * own MAC (with an IP address that is not the sink's) the route lookup and
 * ICMP error path cost a third of that CPU, billed to whichever switch is
 * under test. A VM's or a NIC's receive work would not be.
 */
async function blast(t: Topology, seconds: number, flows = 1): Promise<{ received: number; offered: number }> {
  const xdp = flows === 1;
  if (xdp) await run('ethtool', ['-K', t.genIf, 'gro', 'on']);
  try {
    const before = await rxPackets(t.sink);
    const out = await t.gen.exec(BLASTER, [t.gen.ifname, NOBODYS_MAC, t.gen.mac, String(seconds), String(flows)], {
      timeoutMs: (seconds + 30) * 1000,
    });
    await new Promise((r) => setTimeout(r, 300));
    return { received: ((await rxPackets(t.sink)) - before) / seconds, offered: (JSON.parse(out) as { pps: number }).pps };
  } finally {
    if (xdp) await run('ethtool', ['-K', t.genIf, 'gro', 'off']);
  }
}

async function tcp(t: Topology, seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', t.sink.ns, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 400));
    const out = await t.gen.exec('iperf3', ['-c', t.sink.ip, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
    const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return report.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill();
  }
}

async function rtt(t: Topology): Promise<number> {
  await t.gen.exec('ping', ['-c', '3', '-i', '0.1', t.sink.ip]);
  const out = await t.gen.exec('ping', ['-c', '50', '-i', '0.02', '-q', t.sink.ip]);
  return Number(/= [\d.]+\/([\d.]+)\//.exec(out)?.[1] ?? NaN);
}

/**
 * Bring the switch up on a fresh topology and measure it. A full round
 * measures everything; the later rounds only the 64-byte frames, which are
 * the noisiest number on this machine.
 */
async function measure(sw: SwitchUnderTest, seconds: number, full: boolean, row: Row): Promise<void> {
  const lab = new Lab({ kind: 'tvs-bench' });
  try {
    const g = await lab.addVethHost('g', '10.210.0.1/24');
    const s = await lab.addVethHost('s', '10.210.0.2/24');
    const t: Topology = { lab, gen: g.host, sink: s.host, genIf: g.switchIf, sinkIf: s.switchIf };
    await sw.up(t);
    process.stdout.write(`  ${sw.name}: `);
    const frames = await blast(t, seconds);
    (row.pps64Rounds ??= []).push(frames.received);
    (row.offeredRounds ??= []).push(frames.offered);
    process.stdout.write(`${(frames.received / 1e6).toFixed(3)} Mpps`);
    if (!full) {
      console.log('');
      return;
    }
    process.stdout.write(', ping');
    row.rttMs = await rtt(t);
    process.stdout.write(', TCP');
    row.tcpGbps = await tcp(t, seconds);
    if (sw.flowSetup) {
      process.stdout.write(', flow setup');
      row.flowsPerSec = await sw.flowSetup(t, Math.min(seconds, 3));
    }
    console.log(' done');
  } catch (e) {
    const error = (e as Error).message.split('\n')[0]!;
    row.error = error;
    console.log(` failed: ${error}`);
  } finally {
    await sw.down().catch(() => undefined);
    await lab.cleanup();
  }
}

function median(values: number[] | undefined): number | undefined {
  if (!values?.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const fmt = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
const ratio = (v: number | undefined, base: number | undefined) =>
  v === undefined || !base ? '-' : `${(v / base).toFixed(2)}x`;

function table(rows: Row[]): string {
  const ovs = rows.find((r) => r.switch === 'OVS netdev');
  const ovsTso = rows.find((r) => r.switch === 'OVS netdev +TSO');
  const bare = rows.find((r) => r.switch === 'TVS bare forwarder');
  const unmetered = rows.find((r) => r.switch === 'TVS datapath');
  const head = ['switch', 'offered Mpps', 'Mpps 64B', 'vs OVS', 'vs bare', 'vs no meter', 'TCP Gbit/s', 'vs OVS+TSO', 'RTT ms', 'new flows/s', 'vs OVS'];
  const lines = rows.map((r) => [
    r.switch,
    fmt(r.offeredPps64 && r.offeredPps64 / 1e6, 3),
    fmt(r.pps64 && r.pps64 / 1e6, 3),
    ratio(r.pps64, ovs?.pps64),
    ratio(r.pps64, bare?.pps64),
    r.switch === 'TVS datapath +meter' ? ratio(r.pps64, unmetered?.pps64) : '-',
    fmt(r.tcpGbps, 2),
    ratio(r.tcpGbps, ovsTso?.tcpGbps),
    fmt(r.rttMs, 3),
    fmt(r.flowsPerSec, 0),
    ratio(r.flowsPerSec, ovs?.flowsPerSec),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [head, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** The case (10 000 megaflows over 20 masks), and the default flow limit's. */
/** What tvs-lookup-bench prints, as JSON. */
interface LookupBenchResult {
  flows: number;
  masks: number;
  classifierLookupsPerSec: number;
  emcLookupsPerSec: number;
}

async function lookupBench(): Promise<LookupBenchResult[]> {
  const results: LookupBenchResult[] = [];
  for (const flows of [10_000, 200_000]) {
    const { stdout } = await promisify(execFile)(LOOKUP_BENCH, [String(flows), '20', '2']);
    const r = JSON.parse(stdout) as LookupBenchResult;
    console.log(
      `  ${r.flows} megaflows over ${r.masks} masks, one core: classifier ${(r.classifierLookupsPerSec / 1e6).toFixed(2)} M lookups/s, exact-match cache ${(r.emcLookupsPerSec / 1e6).toFixed(2)} M lookups/s`,
    );
    results.push(r);
  }
  return results;
}

const USAGE = 'usage: npm run bench [-- --seconds N] [--rounds N] [--only datapath,lookup,classifier,ovsdb,openflow,tunnel,mirror,sflow,storm,capture]';
const PARTS = ['datapath', 'lookup', 'classifier', 'ovsdb', 'openflow', 'tunnel', 'mirror', 'sflow', 'storm', 'capture'];

function parseOptions(argv: string[]): { seconds: number; rounds: number; only: Set<string> } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { seconds: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    throw new Error(`npm run bench: ${(e as Error).message}\n${USAGE}`, { cause: e });
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const count = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!(n > 0)) throw new Error(`npm run bench: --${name} needs a positive number, not "${text}"\n${USAGE}`);
    return n;
  };
  const only = new Set(values.only?.split(',') ?? PARTS);
  const unknown = [...only].filter((p) => !PARTS.includes(p));
  if (unknown.length) throw new Error(`npm run bench: --only: no part named ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
  return { seconds: count('seconds', values.seconds, 5), rounds: Math.round(count('rounds', values.rounds, 5)), only };
}

async function main(): Promise<void> {
  const { seconds, rounds, only } = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('npm run bench: needs root (namespaces, raw sockets)');
  await Lab.removeStale('tvs-bench');
  const results: Record<string, unknown> = { date: new Date().toISOString(), seconds, rounds };

  if (only.has('lookup')) {
    console.log('==> flow table lookup micro-benchmark');
    results.lookup = await lookupBench();
  }
  if (only.has('datapath')) {
    console.log(`==> datapath: veth -> switch -> veth, ${seconds} s per measurement, 64-byte frames: median of ${rounds} rounds`);
    const switches = [tvsSwitch('megaflow'), tvsSwitch('meter'), tvsSwitch('bare'), tvsVswitchd(), linuxBridge()];
    if (await ensureOvsInstalled()) switches.push(ovsNetdev(false), ovsNetdev(true));
    // Rounds take the switches in turn, so a slow minute of this shared
    // machine lands on every switch rather than on one.
    const rows: Row[] = switches.map((sw) => ({ switch: sw.name }));
    for (let round = 1; round <= rounds; round++) {
      console.log(`  -- round ${round} of ${rounds}${round > 1 ? ' (64-byte frames only)' : ''}`);
      for (const [i, sw] of switches.entries()) await measure(sw, seconds, round === 1, rows[i]!);
    }
    for (const r of rows) {
      r.pps64 = median(r.pps64Rounds);
      r.offeredPps64 = median(r.offeredRounds);
    }
    console.log('\n' + table(rows) + '\n');
    results.datapath = rows;
  }
  if (only.has('classifier')) {
    console.log('==> OpenFlow classifier');
    const { runClassifierBench } = await import('./bench-classifier.js');
    results.classifier = await runClassifierBench();
  }
  if (only.has('ovsdb')) {
    console.log('==> OVSDB');
    const { runOvsdbBench } = await import('./bench-ovsdb.js');
    results.ovsdb = await runOvsdbBench();
  }
  if (only.has('openflow')) {
    console.log(`==> OpenFlow: the TypeScript controller against each switch (100 000 add-flows, dump-flows, packet-in round trips for ${seconds} s)`);
    const { runOpenflowBench } = await import('./bench-openflow.js');
    results.openflow = await runOpenflowBench(seconds);
  }
  if (only.has('tunnel')) {
    console.log(`==> tunnel: VM -> switch -> VXLAN -> switch -> VM between two host namespaces, ${seconds} s per measurement`);
    const { runTunnelBench } = await import('./bench-tunnel.js');
    results.tunnel = await runTunnelBench(seconds);
  }
  if (only.has('mirror')) {
    console.log(`==> mirror: forwarding with a SPAN mirror (select_all, to an analyzer port) and without, ${seconds} s per measurement, 64-byte frames: median of 3 rounds`);
    const { runMirrorBench } = await import('./bench-mirror.js');
    results.mirror = await runMirrorBench(seconds);
  }
  if (only.has('sflow')) {
    console.log(`==> sflow: forwarding with sFlow (sampling=1000, to a local collector) and without, ${seconds} s per measurement, 64-byte frames: median of 3 rounds`);
    const { runSflowBench } = await import('./bench-mirror.js');
    results.sflow = await runSflowBench(seconds);
  }
  if (only.has('storm')) {
    console.log(`==> upcall storm: host A floods new 5-tuples while B and C exchange cached traffic, ${seconds} s before and ${seconds} s during the storm`);
    const { runStormBench } = await import('./bench-storm.js');
    results.storm = await runStormBench(seconds);
  }
  if (only.has('capture')) {
    console.log(`==> capture: forwarding with a capture on the input port (to a pcapng file; with a filter matching nothing) and without, ${seconds} s per measurement, 64-byte frames: median of 3 rounds`);
    const { runCaptureBench } = await import('./bench-capture.js');
    results.capture = await runCaptureBench(seconds);
  }
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`saved ${file}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
