/**
 * Capture benchmark: what a port capture costs forwarding. The mirror bench's topology without the
 * analyzer: a generator and a sink on veth joined by OpenFlow rules (in_port=1 -> 2, 2 -> 1).
 * 64-byte frames from the generator (tvs-blaster, one flow) are measured at the sink without a
 * capture, then with `capture/start` on the input port writing pcapng with comments to a file,
 * then with a capture whose filter matches nothing (`tcp port 1`: every frame runs the BPF
 * filter in the datapath and none is copied), in turn for a few rounds. The report is frames/s
 * with each capture as a ratio to frames/s without, and the frames per second the file capture
 * wrote and lost (a full capture ring drops copies, never forwarded frames). OVS has no
 * counterpart, so there is no OVS row.
 *
 * `runCaptureBench(seconds)` is called by the main bench (`npm run bench -- --only capture`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Switch } from '../src/api/switch.js';
import { Lab, run, type Host } from '../src/lib/netns.js';
import { eventually } from '../test/helpers/eventually.js';

const BLASTER = fileURLToPath(new URL('../../native/target/release/tvs-blaster', import.meta.url));
/** Locally administered, owned by no host: the sink's stack drops these frames unexamined. */
const NOBODYS_MAC = '02:ff:ff:ff:ff:fe';
const ROUNDS = 3;

interface CaptureRow {
  /** Medians over the rounds, 64-byte frames/s at the sink. */
  ppsWithout?: number;
  ppsToFile?: number;
  ppsFilteredOut?: number;
  /** ppsToFile / ppsWithout and ppsFilteredOut / ppsWithout. */
  ratioToFile?: number;
  ratioFilteredOut?: number;
  /** Frames/s the file capture wrote, and lost to a full ring. */
  writtenPps?: number;
  lostPps?: number;
  error?: string;
}

const rxPackets = async (h: Host) => Number(await h.exec('cat', [`/sys/class/net/${h.ifname}/statistics/rx_packets`]));

/** Blasts for `seconds`; frames/s at the sink, once its counter settles. */
async function blast(gen: Host, genIf: string, sink: Host, seconds: number): Promise<number> {
  // The blaster's XDP generator needs NAPI on the switch's end of the veth (veth turns it on with GRO).
  await run('ethtool', ['-K', genIf, 'gro', 'on']);
  try {
    const before = await rxPackets(sink);
    await gen.exec(BLASTER, [gen.ifname, NOBODYS_MAC, gen.mac, String(seconds), '1'], { timeoutMs: (seconds + 30) * 1000 });
    let last = -1;
    let count = 0;
    await eventually(
      async () => {
        count = await rxPackets(sink);
        const settled = count === last;
        last = count;
        return settled;
      },
      10_000,
      'receive counter to settle',
    );
    return (count - before) / seconds;
  } finally {
    await run('ethtool', ['-K', genIf, 'gro', 'off']);
  }
}

function median(values: number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** `capture/show`'s captured= and lost= of the one capture running. */
function counters(show: string): { captured: number; lost: number } {
  return { captured: Number(/captured=(\d+)/.exec(show)?.[1] ?? 0), lost: Number(/lost=(\d+)/.exec(show)?.[1] ?? 0) };
}

export async function runCaptureBench(seconds: number): Promise<CaptureRow> {
  const lab = new Lab({ kind: 'tvs-bench' });
  const files = mkdtempSync(join(tmpdir(), 'tvs-bench-capture-'));
  const row: CaptureRow = {};
  let sw: Switch | undefined;
  try {
    const g = await lab.addVethHost('g', '10.212.0.1/24');
    const s = await lab.addVethHost('s', '10.212.0.2/24');
    sw = await Switch.start();
    const br = `tvsc${process.pid % 100000}`;
    await sw.addBridge(br);
    for (const [i, p] of [g.switchIf, s.switchIf].entries()) await sw.addPort(br, p, { ofportRequest: i + 1 });
    await sw.addFlow(br, 'in_port=1,actions=output:2');
    await sw.addFlow(br, 'in_port=2,actions=output:1');
    const without: number[] = [];
    const toFile: number[] = [];
    const filtered: number[] = [];
    const written: number[] = [];
    const lost: number[] = [];
    process.stdout.write('  TVS (without / to file / filtered out):');
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await blast(g.host, g.switchIf, s.host, seconds));
      const file = join(files, `round${round}.pcapng`);
      await sw.appctl('capture/start', g.switchIf, file, '-i', 'in');
      toFile.push(await blast(g.host, g.switchIf, s.host, seconds));
      const c = counters(await sw.appctl('capture/show'));
      await sw.appctl('capture/stop', g.switchIf);
      rmSync(file, { force: true });
      written.push(c.captured / seconds);
      lost.push(c.lost / seconds);
      await sw.appctl('capture/start', g.switchIf, join(files, 'none.pcapng'), '-i', 'in', 'tcp', 'port', '1');
      filtered.push(await blast(g.host, g.switchIf, s.host, seconds));
      await sw.appctl('capture/stop', g.switchIf);
      process.stdout.write(` ${[without, toFile, filtered].map((v) => (v.at(-1)! / 1e6).toFixed(3)).join('/')} Mpps`);
    }
    console.log('');
    row.ppsWithout = median(without);
    row.ppsToFile = median(toFile);
    row.ppsFilteredOut = median(filtered);
    row.ratioToFile = median(toFile.map((v, i) => v / without[i]!));
    row.ratioFilteredOut = median(filtered.map((v, i) => v / without[i]!));
    row.writtenPps = median(written);
    row.lostPps = median(lost);
  } catch (e) {
    row.error = (e as Error).message.split('\n')[0]!;
    console.log(` failed: ${row.error}`);
  } finally {
    await sw?.stop().catch(() => undefined);
    await lab.cleanup();
    rmSync(files, { recursive: true, force: true });
  }
  const fmt = (v: number | undefined, scale: number, digits: number) => (v === undefined ? '-' : (v / scale).toFixed(digits));
  console.log(`\n  Mpps without  Mpps capture to file  (ratio)  Mpps filtered out  (ratio)  file: Mpps written  Mpps lost`);
  console.log(
    `  ${fmt(row.ppsWithout, 1e6, 3).padEnd(12)}  ${fmt(row.ppsToFile, 1e6, 3).padEnd(20)} ${`${fmt(row.ratioToFile, 1, 2)}x`.padEnd(8)}  ${fmt(row.ppsFilteredOut, 1e6, 3).padEnd(17)} ${`${fmt(row.ratioFilteredOut, 1, 2)}x`.padEnd(8)}  ${fmt(row.writtenPps, 1e6, 3).padEnd(18)}  ${fmt(row.lostPps, 1e6, 3)}`,
  );
  console.log('');
  return row;
}
