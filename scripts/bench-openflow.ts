/**
 * OpenFlow benchmark: the same TypeScript controller (src/openflow/controller.ts) against
 * tvs-vswitchd and Debian's ovs-vswitchd (userspace datapath), each a process of its own with
 * one bridge in fail_mode=secure whose only controller is ours (`set-controller tcp:127.0.0.1:PORT`):
 *  - add-flows: 100 000 rules as flow-mods through `flowMods()` (batches each confirmed by a
 *    barrier), parsed before the clock starts: flow-mods/s until the last barrier's reply;
 *  - dump-flows: from the flow stats request to the last part of its reply, all rules received;
 *  - packet-in round trips: frames injected by packet-out to TABLE, each with a new source MAC
 *    so that each misses to the controller (priority=0,actions=CONTROLLER:65535), which answers
 *    every packet-in with a flow_mod for that MAC and a packet_out of the frame; WINDOW frames are
 *    in flight at a time, and the rate is the round trips completed per second.
 * A side that cannot run (OVS not installed, a switch that never connects) is reported as skipped
 * with the reason; a ratio is given for what both sides measured.
 *
 * `runOpenflowBench()` is called by the main bench; run alone with
 * `npx tsc -p tsconfig.json && node dist/scripts/bench-openflow.js [SECONDS [RULES]]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from '../src/lib/netns.js';
import { OFPP, output } from '../src/ofproto/actions.js';
import { flowMod, type FlowMod } from '../src/ofproto/flow-table.js';
import { Match } from '../src/ofproto/match.js';
import { listen, type Controller, type OpenFlowSwitch } from '../src/openflow/controller.js';
import { parseFlowMod } from '../src/openflow/flow-syntax.js';
import { ensureOvsInstalled, OvsInstance } from './bench/ovs.js';

const CLI = fileURLToPath(new URL('../src/cli/', import.meta.url));
const RULES = 100_000;
/** Packet-ins in flight in the round-trip measurement. */
const WINDOW = 32;
const CONNECT_TIMEOUT_MS = 20_000;
const NO_BUFFER = 0xffffffff;

/** A switch under test: a bridge whose controller can be set, in a process of its own. */
interface OpenflowSwitch {
  name: string;
  /** Starts the switch with `bridge`; throws with the reason it cannot run. */
  start(): Promise<void>;
  setController(target: string): Promise<unknown>;
  stop(): Promise<void>;
}

export interface OpenflowBenchRow {
  switch: string;
  version?: number;
  flowModsPerSec?: number;
  dumpSeconds?: number;
  flowsDumped?: number;
  packetInRoundTripsPerSec?: number;
  skipped?: string;
}

/**
 * Node options for the TVS daemon from TVS_BENCH_DAEMON_NODE_ARGS (space separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it: NODE_OPTIONS refuses --cpu-prof.
 */
function daemonNodeArgs(): string[] {
  return (process.env.TVS_BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

/** The vsctl arguments that make `target` the bridge's only controller (default inactivity probe). */
function controllerRow(bridge: string, target: string): string[] {
  return ['--', '--id=@c', 'create', 'Controller', `target="${target}"`, '--', 'set', 'bridge', bridge, 'controller=@c'];
}

function ovsSwitch(): OpenflowSwitch {
  let ovs: OvsInstance | undefined;
  return {
    name: 'OVS (ovs-vswitchd, userspace)',
    async start() {
      if (!(await ensureOvsInstalled())) throw new Error("Debian's openvswitch-switch is not installed and could not be (apt-get install openvswitch-switch)");
      ovs = new OvsInstance();
      await ovs.start([], { tso: false });
      await ovs.ofctl('del-flows');
      // Our controller on 127.0.0.1 would otherwise get OVS's hidden in-band flows.
      await ovs.vsctl('set-fail-mode', ovs.bridge, 'secure', '--', 'set', 'bridge', ovs.bridge, 'other_config:disable-in-band=true');
    },
    setController: (target) => ovs!.vsctl(...controllerRow(ovs!.bridge, target)),
    stop: async () => ovs?.stop(),
  };
}

function tvsSwitch(): OpenflowSwitch {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-bench-of-'));
  const bridge = `tvsof${process.pid % 100000}`;
  const db = `unix:${join(dir, 'db.sock')}`;
  const ctl = join(dir, 'tvs-vswitchd.ctl');
  let child: ChildProcess | undefined;
  const vsctl = (...args: string[]) => run(process.execPath, [join(CLI, 'tvs-vsctl.js'), `--db=${db}`, '--timeout=20', ...args]);
  return {
    name: 'TVS (tvs-vswitchd)',
    async start() {
      child = spawn(
        process.execPath,
        [...daemonNodeArgs(), join(CLI, 'tvs-vswitchd.js'), `--db-file=${join(dir, 'conf.db')}`, `--db-socket=${join(dir, 'db.sock')}`, `--unixctl=${ctl}`, '--enable-dummy=override'],
        { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TVS_RUNDIR: dir, TVS_LOGDIR: dir, TVS_DBDIR: dir } },
      );
      const deadline = Date.now() + CONNECT_TIMEOUT_MS;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`tvs-vswitchd exited with status ${child.exitCode}`);
        const up = await run(process.execPath, [join(CLI, 'tvs-appctl.js'), '-t', ctl, 'version']).then(() => true, () => false);
        if (up) break;
        if (Date.now() > deadline) throw new Error('tvs-vswitchd did not answer on its control socket');
        await new Promise((r) => setTimeout(r, 100));
      }
      await vsctl('add-br', bridge, '--', 'set-fail-mode', bridge, 'secure');
    },
    setController: (target) => vsctl(...controllerRow(bridge, target)),
    async stop() {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The i-th rule: a 5-tuple-like match, so the rules spread over the switch's classifier. */
function rule(i: number): FlowMod {
  return parseFlowMod(`priority=100,tcp,nw_dst=10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff},tp_dst=${1 + (i % 1000)},actions=NORMAL`);
}

/** A frame from a source MAC of its own (02:xx:xx:xx:xx:xx), of a local experimental EtherType. */
function frame(i: number): Buffer {
  const f = Buffer.alloc(60);
  Buffer.from('020000000001', 'hex').copy(f, 0);
  f[6] = 0x02;
  f.writeUInt32BE(i >>> 0, 8);
  f[7] = Math.floor(i / 2 ** 32) & 0xff;
  f.writeUInt16BE(0x88b5, 12);
  return f;
}

async function roundTrips(sw: OpenFlowSwitch, seconds: number): Promise<number> {
  await sw.flowMod('priority=0,actions=CONTROLLER:65535');
  let injected = 0;
  let answered = 0;
  let running = true;
  let failure: Error | undefined;
  const fail = (e: unknown) => (failure ??= e instanceof Error ? e : new Error(String(e)));
  const inject = () => {
    sw.send({ type: 'packet_out', bufferId: NO_BUFFER, inPort: OFPP.CONTROLLER, actions: [output(OFPP.TABLE)], data: frame(injected++) });
  };
  sw.on('error', fail);
  sw.on('packet-in', (pi) => {
    const src = pi.data.readUIntBE(6, 6);
    sw.flowMod(flowMod({ command: 'add', priority: 10, match: Match.of({ dl_src: BigInt(src) }), instructions: { apply: [], clearActions: false } })).catch(fail);
    sw.packetOut({ inPort: pi.inPort, actions: [], data: pi.data }).catch(fail);
    answered++;
    if (running) inject();
  });
  const start = performance.now();
  for (let i = 0; i < WINDOW; i++) inject();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  await sw.barrier();
  if (failure) throw failure;
  if (answered === 0) throw new Error('no packet-in came back: the switch did not send table misses to the controller');
  return answered / elapsed;
}

async function measure(side: OpenflowSwitch, seconds: number, rules: number): Promise<OpenflowBenchRow> {
  const row: OpenflowBenchRow = { switch: side.name };
  let controller: Controller | undefined;
  try {
    // Parsed before the switch connects: a parse that holds the event loop for seconds would
    // leave the switch's echo requests unanswered, and it would drop the connection.
    const flows = Array.from({ length: rules }, (_, i) => rule(i));
    await side.start();
    controller = await listen({ port: 0 });
    const connected = controller.nextSwitch();
    await side.setController(`tcp:127.0.0.1:${controller.port}`);
    const sw = await Promise.race([
      connected,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the bridge did not connect to the controller within ${CONNECT_TIMEOUT_MS / 1000} s (no OpenFlow side?)`)), CONNECT_TIMEOUT_MS)),
    ]);
    row.version = sw.version;
    const t0 = performance.now();
    await sw.flowMods(flows);
    row.flowModsPerSec = rules / ((performance.now() - t0) / 1000);
    const t1 = performance.now();
    const dumped = await sw.dumpFlows();
    row.dumpSeconds = (performance.now() - t1) / 1000;
    row.flowsDumped = dumped.length;
    if (dumped.length < rules) throw new Error(`dump-flows returned ${dumped.length} flows of the ${rules} added`);
    await sw.flowMod('', 'delete');
    row.packetInRoundTripsPerSec = await roundTrips(sw, seconds);
  } catch (e) {
    row.skipped = e instanceof Error ? e.message : String(e);
  } finally {
    await controller?.close();
    await side.stop().catch(() => undefined);
  }
  const show = (v: number | undefined, unit: string, digits = 0) => (v === undefined ? '-' : `${v.toFixed(digits)} ${unit}`);
  console.log(
    `  ${row.switch}: add-flows ${show(row.flowModsPerSec, 'flow-mods/s')}, dump-flows ${show(row.dumpSeconds, 's', 2)} (${row.flowsDumped ?? 0} flows), packet-in round trips ${show(row.packetInRoundTripsPerSec, '/s')}${row.skipped ? ` -- skipped: ${row.skipped}` : ''}`,
  );
  return row;
}

export async function runOpenflowBench(seconds: number, rules = RULES): Promise<{ rows: OpenflowBenchRow[]; tvsToOvs: Record<string, number | undefined> }> {
  const [tvs, ovs] = [await measure(tvsSwitch(), seconds, rules), await measure(ovsSwitch(), seconds, rules)];
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);
  const tvsToOvs = {
    flowModsPerSec: ratio(tvs.flowModsPerSec, ovs.flowModsPerSec),
    // Time: OVS's over TVS's, so that above 1 means TVS is faster, as in the other ratios.
    dumpFlows: ratio(ovs.dumpSeconds, tvs.dumpSeconds),
    packetInRoundTripsPerSec: ratio(tvs.packetInRoundTripsPerSec, ovs.packetInRoundTripsPerSec),
  };
  const x = (r: number | undefined) => (r === undefined ? 'n/a' : `${r.toFixed(2)}x`);
  console.log(`  TVS/OVS: add-flows ${x(tvsToOvs.flowModsPerSec)}, dump-flows ${x(tvsToOvs.dumpFlows)} (speed), packet-in round trips ${x(tvsToOvs.packetInRoundTripsPerSec)}`);
  return { rows: [tvs, ovs], tvsToOvs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runOpenflowBench(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? RULES)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
