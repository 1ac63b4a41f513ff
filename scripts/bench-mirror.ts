/**
 * Mirror benchmark: what a SPAN mirror costs forwarding. The datapath section's topology plus an
 * analyzer: a generator and a sink on veth joined by OpenFlow rules (in_port=1 -> 2, 2 -> 1), and
 * a third veth host on port 3. 64-byte frames from the generator (tvs-blaster, one flow) are
 * measured at the sink without a mirror, then with `select_all=true output_port=<analyzer>`, in
 * turn for a few rounds, for TVS (tvs-vswitchd) and for Debian's OVS on its userspace datapath
 * with the same mirror made by ovs-vsctl. The report is frames/s with the mirror as a ratio to
 * frames/s without, per switch, and the copies the analyzer received per frame forwarded.
 *
 * The sFlow part is the same harness with an sFlow row instead of the mirror (sampling=1000,
 * polling=30, to a UDP socket here): the report is frames/s with sFlow as a ratio to without, and
 * the datagrams/s the collector received.
 *
 * `runMirrorBench(seconds)` and `runSflowBench(seconds)` are called by the main bench
 * (`npm run bench -- --only mirror,sflow`).
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Switch } from '../src/api/switch.js';
import { Lab, run, type Host } from '../src/lib/netns.js';
import { eventually } from '../test/helpers/eventually.js';
import { ensureOvsInstalled, OvsInstance } from './bench/ovs.js';

const BLASTER = fileURLToPath(new URL('../../native/target/release/tvs-blaster', import.meta.url));
const TVS_VSCTL = fileURLToPath(new URL('../src/cli/tvs-vsctl.js', import.meta.url));
/** Locally administered, owned by no host: the sink's stack drops these frames unexamined. */
const NOBODYS_MAC = '02:ff:ff:ff:ff:fe';
const ROUNDS = 3;

interface Topology {
  gen: Host;
  sink: Host;
  analyzer: Host;
  genIf: string;
  sinkIf: string;
  analyzerIf: string;
}

/** What the bench turns on and off: a SPAN mirror to the analyzer, or sFlow to a collector. */
type Feature = 'mirror' | 'sflow';
/** sFlow at the rate the issue's bench asks for. */
const SFLOW_SAMPLING = 1000;

/** A switch joining the topology's three ports, with a way to turn a feature on and off. */
interface MirroringSwitch {
  toggle(feature: Feature, on: boolean): Promise<void>;
  down(): Promise<void>;
}

/** The Bridge row's settings that turn `feature` on (as ovs-vsctl arguments), with the collector at `collector`. */
function featureOn(feature: Feature, br: string, analyzerIf: string, collector: string): string[] {
  if (feature === 'sflow') return ['--', '--id=@s', 'create', 'sflow', 'agent=lo', `targets="${collector}"`, `sampling=${SFLOW_SAMPLING}`, 'polling=30', 'header=128', '--', 'set', 'bridge', br, 'sflow=@s'];
  return ['--', '--id=@p', 'get', 'port', analyzerIf, '--', '--id=@m', 'create', 'mirror', 'name=span', 'select_all=true', 'output_port=@p', '--', 'set', 'bridge', br, 'mirrors=@m'];
}

interface MirrorRow {
  switch: string;
  /** Medians over the rounds, 64-byte frames/s at the sink. */
  ppsWithout?: number;
  ppsWith?: number;
  /** ppsWith / ppsWithout. */
  ratio?: number;
  /** Frames the analyzer received per frame the sink received, with the mirror on. */
  copiesPerFrame?: number;
  /** sFlow datagrams per second at the collector, with sFlow on. */
  datagramsPerSecond?: number;
  error?: string;
}

const rxPackets = async (h: Host) => Number(await h.exec('cat', [`/sys/class/net/${h.ifname}/statistics/rx_packets`]));

/** Blasts for `seconds`; frames/s at the sink and at the analyzer, once their counters settle. */
async function blast(t: Topology, seconds: number): Promise<{ sink: number; analyzer: number }> {
  // The blaster's XDP generator needs NAPI on the switch's end of the veth (veth turns it on with GRO).
  await run('ethtool', ['-K', t.genIf, 'gro', 'on']);
  try {
    const [sink0, an0] = [await rxPackets(t.sink), await rxPackets(t.analyzer)];
    await t.gen.exec(BLASTER, [t.gen.ifname, NOBODYS_MAC, t.gen.mac, String(seconds), '1'], { timeoutMs: (seconds + 30) * 1000 });
    let last = '';
    let counts = [0, 0];
    await eventually(
      async () => {
        counts = [await rxPackets(t.sink), await rxPackets(t.analyzer)];
        const settled = counts.join() === last;
        last = counts.join();
        return settled;
      },
      10_000,
      'receive counters to settle',
    );
    return { sink: (counts[0]! - sink0) / seconds, analyzer: (counts[1]! - an0) / seconds };
  } finally {
    await run('ethtool', ['-K', t.genIf, 'gro', 'off']);
  }
}

async function tvs(t: Topology, collector: string): Promise<MirroringSwitch> {
  const sw = await Switch.start();
  const br = `tvsm${process.pid % 100000}`;
  const vsctl = (...args: string[]) => run(process.execPath, [TVS_VSCTL, `--db=${sw.db}`, ...args]);
  await sw.addBridge(br);
  for (const [i, p] of [t.genIf, t.sinkIf, t.analyzerIf].entries()) await sw.addPort(br, p, { ofportRequest: i + 1 });
  await sw.addFlow(br, 'in_port=1,actions=output:2');
  await sw.addFlow(br, 'in_port=2,actions=output:1');
  return {
    toggle: async (feature, on) => {
      if (on) await vsctl(...featureOn(feature, br, t.analyzerIf, collector));
      else await vsctl('clear', 'bridge', br, feature === 'sflow' ? 'sflow' : 'mirrors');
    },
    down: () => sw.stop(),
  };
}

async function ovs(t: Topology, collector: string): Promise<MirroringSwitch> {
  const o = new OvsInstance();
  try {
    await o.start([t.genIf, t.sinkIf, t.analyzerIf], { tso: false });
  } catch (e) {
    await o.stop();
    throw e;
  }
  return {
    toggle: async (feature, on) => {
      if (on) await o.vsctl(...featureOn(feature, o.bridge, t.analyzerIf, collector));
      else await o.vsctl('clear', 'bridge', o.bridge, feature === 'sflow' ? 'sflow' : 'mirrors');
    },
    down: () => o.stop(),
  };
}

function median(values: number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(name: string, start: (t: Topology, collector: string) => Promise<MirroringSwitch>, seconds: number, feature: Feature): Promise<MirrorRow> {
  const lab = new Lab({ kind: 'tvs-bench' });
  const row: MirrorRow = { switch: name };
  let sw: MirroringSwitch | undefined;
  // The sFlow collector: counts datagrams.
  const collector = createSocket('udp4');
  let datagrams = 0;
  collector.on('message', () => datagrams++);
  await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
  try {
    const hosts = [await lab.addVethHost('g', '10.211.0.1/24'), await lab.addVethHost('s', '10.211.0.2/24'), await lab.addVethHost('m', '10.211.0.3/24')];
    const [g, s, m] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const t: Topology = { gen: g.host, sink: s.host, analyzer: m.host, genIf: g.switchIf, sinkIf: s.switchIf, analyzerIf: m.switchIf };
    sw = await start(t, `127.0.0.1:${collector.address().port}`);
    const without: number[] = [];
    const withMirror: number[] = [];
    const copies: number[] = [];
    const rates: number[] = [];
    process.stdout.write(`  ${name}:`);
    for (let round = 0; round < ROUNDS; round++) {
      without.push((await blast(t, seconds)).sink);
      await sw.toggle(feature, true);
      const before = datagrams;
      const r = await blast(t, seconds);
      rates.push((datagrams - before) / seconds);
      withMirror.push(r.sink);
      copies.push(r.analyzer / r.sink);
      await sw.toggle(feature, false);
      process.stdout.write(` ${(without.at(-1)! / 1e6).toFixed(3)}/${(r.sink / 1e6).toFixed(3)} Mpps`);
    }
    console.log('');
    row.ppsWithout = median(without);
    row.ppsWith = median(withMirror);
    row.ratio = median(withMirror.map((w, i) => w / without[i]!));
    if (feature === 'mirror') row.copiesPerFrame = median(copies);
    else row.datagramsPerSecond = median(rates);
  } catch (e) {
    row.error = (e as Error).message.split('\n')[0]!;
    console.log(` failed: ${row.error}`);
  } finally {
    await sw?.down().catch(() => undefined);
    await lab.cleanup();
    collector.close();
  }
  return row;
}

export async function runMirrorBench(seconds: number): Promise<MirrorRow[]> {
  const rows = [await measure('TVS', tvs, seconds, 'mirror')];
  if (await ensureOvsInstalled()) rows.push(await measure('OVS netdev', ovs, seconds, 'mirror'));
  const fmt = (v: number | undefined, scale: number, digits: number) => (v === undefined ? '-' : (v / scale).toFixed(digits));
  console.log(`\n  ${'switch'.padEnd(12)}  Mpps without  Mpps with SPAN  with/without  copies per frame`);
  for (const r of rows) {
    console.log(`  ${r.switch.padEnd(12)}  ${fmt(r.ppsWithout, 1e6, 3).padEnd(12)}  ${fmt(r.ppsWith, 1e6, 3).padEnd(14)}  ${r.ratio === undefined ? '-'.padEnd(12) : `${r.ratio.toFixed(2)}x`.padEnd(12)}  ${fmt(r.copiesPerFrame, 1, 2)}`);
  }
  console.log('');
  return rows;
}

export async function runSflowBench(seconds: number): Promise<MirrorRow[]> {
  const rows = [await measure('TVS', tvs, seconds, 'sflow')];
  if (await ensureOvsInstalled()) rows.push(await measure('OVS netdev', ovs, seconds, 'sflow'));
  const fmt = (v: number | undefined, scale: number, digits: number) => (v === undefined ? '-' : (v / scale).toFixed(digits));
  console.log(`\n  ${'switch'.padEnd(12)}  Mpps without  Mpps with sFlow  with/without  sFlow datagrams/s`);
  for (const r of rows) {
    console.log(`  ${r.switch.padEnd(12)}  ${fmt(r.ppsWithout, 1e6, 3).padEnd(12)}  ${fmt(r.ppsWith, 1e6, 3).padEnd(15)}  ${r.ratio === undefined ? '-'.padEnd(12) : `${r.ratio.toFixed(2)}x`.padEnd(12)}  ${fmt(r.datagramsPerSecond, 1, 0)}`);
  }
  console.log('');
  return rows;
}
