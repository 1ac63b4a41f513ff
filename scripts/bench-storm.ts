/**
 * Upcall storm benchmark: what a flood of new flows on one port does to the traffic and the control
 * plane of the others. Three veth hosts on one bridge with OpenFlow rules: B and C exchange cached
 * traffic (in_port=2 -> 3, 3 -> 2: a steady iperf3 UDP stream from B to C at a fixed rate, and a
 * ping from B to C), and host A's frames are dropped (in_port=1 -> drop). With megaflows disabled
 * (upcall/disable-megaflows, as the datapath section's flow-setup row), every frame of a new
 * 5-tuple is an upcall; then A blasts a new 5-tuple in every frame (tvs-blaster, sendmmsg, as fast
 * as it goes). Reported before and during the storm: B->C frames/s at C (and their ratio), B->C ping
 * p50/p99 and loss, and the time to answer `vsctl show`, `appctl upcall/show` and an OpenFlow echo
 * (`ofctl probe`); after it, the datapath flows and the upcalls lost. The same topology with TVS
 * (tvs-vswitchd as its own process) and Debian's OVS on its userspace datapath, both at OVS's
 * default flow limit (200 000).
 *
 * `runStormBench(seconds)` is called by the main bench (`npm run bench -- --only storm`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, run, type Host } from '../src/lib/netns.js';
import { eventually } from '../test/helpers/eventually.js';
import { ensureOvsInstalled, OvsInstance } from './bench/ovs.js';

const BLASTER = fileURLToPath(new URL('../../native/target/release/tvs-blaster', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/', import.meta.url));
/** Locally administered, owned by no host. */
const NOBODYS_MAC = '02:ff:ff:ff:ff:fe';
/** A's distinct 5-tuples: more than any flow limit, so the storm never runs out of new flows. */
const STORM_FLOWS = 1 << 20;
/** The cached stream from B to C: 1000-byte UDP datagrams at 100 Mbit/s, about 12 500 frames/s. */
const STREAM = { bitrate: '100M', length: 1000 };
/** Ping interval (s): a reply every 10 ms gives p99 a hundred samples per second. */
const PING_INTERVAL = 0.01;
const BRIDGE = `tvsst${process.pid % 100000}`;
const FLOW_LIMIT = 200_000;

interface Topology {
  a: Host;
  b: Host;
  c: Host;
  /** The switch's interfaces for A, B and C: OpenFlow ports 1, 2 and 3. */
  ports: [string, string, string];
}

/** A switch under the storm, with its control plane's three questions. */
interface StormSwitch {
  vsctlShow(): Promise<unknown>;
  upcallShow(): Promise<string>;
  echo(): Promise<unknown>;
  /** Datapath flows now. */
  flows(): Promise<number>;
  down(): Promise<void>;
}

interface Window {
  /** B->C frames/s received at C. */
  pps: number;
  /** Frames C received per frame B sent: below 1, the switch lost some (B's own rate falls when the storm takes its CPU). */
  delivered: number;
  pingP50Ms?: number;
  pingP99Ms?: number;
  pingLoss: number;
  /** Slowest answer (ms) over the window to each control-plane question. */
  vsctlMs: number;
  appctlMs: number;
  echoMs: number;
  /** Slowest start of a Node process that does nothing: the part of the CLIs' times that is not the switch's. */
  nodeStartMs: number;
}

interface StormRow {
  switch: string;
  before?: Window;
  storm?: Window;
  /** storm.pps / before.pps. */
  ratio?: number;
  /** Frames/s the blaster sent from A. */
  stormOfferedPps?: number;
  /** Datapath flows at the storm's end, and `upcall/show` then. */
  flowsAtEnd?: number;
  upcallShow?: string;
  error?: string;
}

const OFCTL_RULES = ['in_port=1,actions=drop', 'in_port=2,actions=output:3', 'in_port=3,actions=output:2'];

/** tvs-vswitchd as its own process, its database, sockets and management sockets in a directory of its own. */
async function tvs(t: Topology): Promise<StormSwitch> {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-bench-storm-'));
  const [db, ctl, mgmt] = [`unix:${join(dir, 'db.sock')}`, join(dir, 'tvs-vswitchd.ctl'), `unix:${join(dir, `${BRIDGE}.mgmt`)}`];
  const cli = (tool: string, ...args: string[]) => run(process.execPath, [join(CLI, `${tool}.js`), ...args], { timeoutMs: 30_000 });
  const vsctl = (...args: string[]) => cli('tvs-vsctl', `--db=${db}`, ...args);
  const appctl = (...args: string[]) => cli('tvs-appctl', '-t', ctl, ...args);
  const ofctl = (...args: string[]) => cli('tvs-ofctl', ...args);
  const daemon = spawn(process.execPath, [join(CLI, 'tvs-vswitchd.js'), `--db-file=${join(dir, 'conf.db')}`, `--db-socket=${join(dir, 'db.sock')}`, `--unixctl=${ctl}`], {
    stdio: 'ignore',
    env: { ...process.env, TVS_RUNDIR: dir },
  });
  const down = async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(() => appctl('version').then(() => true, () => false), 15_000, 'tvs-vswitchd to answer on its control socket');
    await vsctl('set', 'Open_vSwitch', '.', `other_config:flow-limit=${FLOW_LIMIT}`);
    await vsctl('add-br', BRIDGE);
    for (const [i, p] of t.ports.entries()) await vsctl('add-port', BRIDGE, p, '--', 'set', 'interface', p, `ofport_request=${i + 1}`);
    await ofctl('del-flows', mgmt);
    for (const rule of OFCTL_RULES) await ofctl('add-flow', mgmt, rule);
    await appctl('upcall/disable-megaflows');
  } catch (e) {
    await down();
    throw e;
  }
  return {
    vsctlShow: () => vsctl('show'),
    upcallShow: () => appctl('upcall/show'),
    echo: () => ofctl('probe', mgmt),
    flows: async () => Number(/flows: (\d+)/.exec(await appctl('dpctl/show'))?.[1] ?? NaN),
    down,
  };
}

async function ovs(t: Topology): Promise<StormSwitch> {
  const o = new OvsInstance();
  try {
    await o.start(t.ports, { tso: false });
    await o.vsctl('set', 'Open_vSwitch', '.', `other_config:flow-limit=${FLOW_LIMIT}`);
    await o.ofctl('del-flows');
    for (const rule of OFCTL_RULES) await o.ofctl('add-flow', rule);
    await o.appctl('upcall/disable-megaflows');
  } catch (e) {
    await o.stop();
    throw e;
  }
  return {
    vsctlShow: () => o.vsctl('show'),
    upcallShow: () => o.appctl('upcall/show'),
    echo: () => o.ofctl('probe'),
    flows: () => o.datapathFlows(),
    down: () => o.stop(),
  };
}

/** Milliseconds `f` takes. */
async function timed(f: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await f();
  return performance.now() - started;
}

function percentile(sorted: number[], p: number): number | undefined {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/**
 * One measurement window of `seconds`: B->C frames/s at C, a ping from B to C over the window,
 * and the control plane asked its three questions in turn until the window ends.
 */
async function window(t: Topology, sw: StormSwitch, seconds: number): Promise<Window> {
  const count = Math.round(seconds / PING_INTERVAL);
  // C's counter lives in C's namespace: read through /sys there.
  const counter = async (h: Host, which: string) => Number(await h.exec('cat', [`/sys/class/net/${h.ifname}/statistics/${which}`]));
  const [rx0, tx0] = [await counter(t.c, 'rx_packets'), await counter(t.b, 'tx_packets')];
  const started = performance.now();
  const ping = t.b.exec('ping', ['-n', '-i', String(PING_INTERVAL), '-c', String(count), '-W', '1', t.c.ip], { timeoutMs: (seconds + 30) * 1000 }).catch(
    (e: unknown) => (e as { stdout?: string }).stdout ?? '',
  );
  const slowest = { vsctl: 0, appctl: 0, echo: 0, nodeStart: 0 };
  while (performance.now() - started < seconds * 1000) {
    slowest.vsctl = Math.max(slowest.vsctl, await timed(() => sw.vsctlShow()));
    slowest.appctl = Math.max(slowest.appctl, await timed(() => sw.upcallShow()));
    slowest.echo = Math.max(slowest.echo, await timed(() => sw.echo()));
    slowest.nodeStart = Math.max(slowest.nodeStart, await timed(() => run(process.execPath, ['-e', '0'])));
  }
  const [rx1, tx1] = [await counter(t.c, 'rx_packets'), await counter(t.b, 'tx_packets')];
  const elapsed = (performance.now() - started) / 1000;
  const out = await ping;
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((x, y) => x - y);
  return {
    pps: (rx1 - rx0) / elapsed,
    delivered: (rx1 - rx0) / Math.max(tx1 - tx0, 1),
    pingP50Ms: percentile(times, 50),
    pingP99Ms: percentile(times, 99),
    pingLoss: 1 - times.length / count,
    vsctlMs: slowest.vsctl,
    appctlMs: slowest.appctl,
    echoMs: slowest.echo,
    nodeStartMs: slowest.nodeStart,
  };
}

async function measure(name: string, start: (t: Topology) => Promise<StormSwitch>, seconds: number): Promise<StormRow> {
  const lab = new Lab({ kind: 'tvs-bench' });
  const row: StormRow = { switch: name };
  let sw: StormSwitch | undefined;
  let server: ChildProcess | undefined;
  try {
    const hosts = [await lab.addVethHost('a', '10.212.0.1/24'), await lab.addVethHost('b', '10.212.0.2/24'), await lab.addVethHost('c', '10.212.0.3/24')];
    const [a, b, c] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const t: Topology = { a: a.host, b: b.host, c: c.host, ports: [a.switchIf, b.switchIf, c.switchIf] };
    // Offloads off on the hosts, as OVS's userspace datapath needs without userspace TSO.
    for (const h of [t.a, t.b, t.c]) await h.exec('ethtool', ['-K', h.ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
    sw = await start(t);
    process.stdout.write(`  ${name}:`);
    await t.b.exec('ping', ['-c', '3', '-i', '0.1', t.c.ip]);
    server = spawn('ip', ['netns', 'exec', t.c.ns, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 400));
    // The stream runs through both windows and the gap between them.
    const streamSeconds = Math.ceil(2 * seconds + 4);
    const stream = t.b.exec('iperf3', ['-c', t.c.ip, '-u', '-b', STREAM.bitrate, '-l', String(STREAM.length), '-t', String(streamSeconds)], {
      timeoutMs: (streamSeconds + 30) * 1000,
    });
    await new Promise((r) => setTimeout(r, 1000));
    row.before = await window(t, sw, seconds);
    process.stdout.write(' before');
    const blaster = t.a.exec(BLASTER, [t.a.ifname, NOBODYS_MAC, t.a.mac, String(seconds + 1.5), String(STORM_FLOWS)], {
      timeoutMs: (seconds + 30) * 1000,
    });
    // Let the storm fill the queues before measuring under it.
    await new Promise((r) => setTimeout(r, 1000));
    row.storm = await window(t, sw, seconds);
    row.flowsAtEnd = await sw.flows();
    row.upcallShow = await sw.upcallShow();
    row.stormOfferedPps = (JSON.parse(await blaster) as { pps: number }).pps;
    process.stdout.write(' storm');
    await stream;
    row.ratio = row.storm.pps / row.before.pps;
    console.log(' done');
  } catch (e) {
    row.error = (e as Error).message.split('\n')[0]!;
    console.log(` failed: ${row.error}`);
  } finally {
    server?.kill();
    await sw?.down().catch(() => undefined);
    await lab.cleanup();
  }
  return row;
}

export async function runStormBench(seconds: number): Promise<StormRow[]> {
  const rows = [await measure('TVS', tvs, seconds)];
  if (await ensureOvsInstalled()) rows.push(await measure('OVS netdev', ovs, seconds));
  const f = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
  const head = ['switch', 'B->C kpps before', 'during', 'ratio', 'C got/B sent during', 'ping p50/p99 ms before', 'during', 'loss', 'slowest vsctl/appctl/echo/node -e 0 ms before', 'during', 'storm kpps offered', 'flows after'];
  const answers = (w: Window) => [w.vsctlMs, w.appctlMs, w.echoMs, w.nodeStartMs].map((v) => f(v, 0)).join('/');
  const lines = rows.map((r) => [
    r.switch,
    f(r.before && r.before.pps / 1e3, 1),
    f(r.storm && r.storm.pps / 1e3, 1),
    f(r.ratio, 2),
    f(r.storm?.delivered, 2),
    r.before ? `${f(r.before.pingP50Ms, 3)}/${f(r.before.pingP99Ms, 3)}` : '-',
    r.storm ? `${f(r.storm.pingP50Ms, 3)}/${f(r.storm.pingP99Ms, 3)}` : '-',
    r.storm ? `${f(r.storm.pingLoss * 100, 1)}%` : '-',
    r.before ? answers(r.before) : '-',
    r.storm ? answers(r.storm) : '-',
    f(r.stormOfferedPps && r.stormOfferedPps / 1e3, 0),
    f(r.flowsAtEnd, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  console.log('\n' + [head, ...lines].map((l) => '  ' + l.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n'));
  for (const r of rows) if (r.upcallShow) console.log(`\n  ${r.switch} upcall/show at the storm's end:\n${r.upcallShow.replace(/^/gm, '    ')}`);
  console.log('');
  return rows;
}
