// Memory after floods: a tvs-vswitchd bridge between two namespace hosts takes 100 000 frames from
// random source MACs, then 50 000 new UDP 5-tuples (megaflows off, so each is its own datapath
// flow), and the script prints the daemon's RSS, JS heap and open fds before, at the peak, and once
// every datapath flow and learned MAC has expired. Memory should come back near where it started.
//
//   npm run flood-memory [-- --macs N] [--flows N]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Lab, type Host } from '../src/lib/netns.js';
import { DaemonProcess, ROOT, type MemorySample } from './daemon-process.js';

const PKT = join(ROOT, 'test', 'helpers', 'pkt.py');
const USAGE = 'usage: npm run flood-memory [-- --macs N] [--flows N]';
/** Short timers, so the flood expires in seconds rather than OVS's 10 s idle and 300 s MAC aging. */
const MAX_IDLE_MS = 1000;
const MAC_AGING_S = 5;

function pkt(host: Host, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', host.ns, 'python3', PKT, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pkt.py ${args[0]!} exited with status ${String(code)}`))));
  });
}

/** A UDP/IPv4 frame from `src` to `dst` (IPv4 and UDP checksums left zero: the switch does not check them). */
function udpFrame(src: Host, dst: Host): string {
  const mac = (m: string) => m.replaceAll(':', '');
  const ip = (a: string) => Buffer.from(a.split('.').map(Number)).toString('hex');
  return `${mac(dst.mac)}${mac(src.mac)}0800` + `4500002e0000000040110000${ip(src.ip)}${ip(dst.ip)}` + `04000800001a0000` + '5a'.repeat(18);
}

const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
const line = (what: string, m: MemorySample, extra = '') => console.log(`${what.padEnd(22)} rss ${mb(m.rssKb).padStart(9)}  heap ${mb(m.heapKb).padStart(9)}  fds ${String(m.fds).padStart(4)}${extra}`);

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { macs: { type: 'string' }, flows: { type: 'string' } } }));
  } catch (e) {
    throw new Error(`npm run flood-memory: ${(e as Error).message}\n${USAGE}`, { cause: e });
  }
  const macs = Number(values.macs ?? 100_000);
  const flows = Number(values.flows ?? 50_000);
  if (!(macs >= 0 && flows >= 0)) throw new Error(`npm run flood-memory: --macs and --flows need counts\n${USAGE}`);
  if (process.getuid?.() !== 0) throw new Error('npm run flood-memory: needs root (namespaces, raw sockets)');

  await Lab.removeStale('tvs-flood');
  const lab = new Lab({ kind: 'tvs-flood' });
  const sw = await DaemonProcess.start();
  try {
    const bridge = lab.ifname('fb');
    const { host: a, switchIf: aIf } = await lab.addVethHost('a', '10.64.0.1/24');
    const { host: b, switchIf: bIf } = await lab.addVethHost('b', '10.64.0.2/24');
    await sw.vsctl('add-br', bridge, '--', 'add-port', bridge, aIf, '--', 'add-port', bridge, bIf, '--', 'set', 'Open_vSwitch', '.', `other_config:max-idle=${MAX_IDLE_MS}`, '--', 'set', 'Bridge', bridge, `other_config:mac-aging-time=${MAC_AGING_S}`);
    const flowCount = async () => (await sw.appctl('dpctl/dump-flows')).split('\n').filter((l) => l.trim() !== '').length;
    const fdbCount = async () => (await sw.appctl('fdb/show', bridge)).split('\n').length - 2;
    const settle = async (what: string) => {
      const deadline = Date.now() + 120_000;
      while ((await flowCount()) > 0 || (await fdbCount()) > 0) {
        if (Date.now() > deadline) throw new Error(`${what}: flows or MACs still there after 120 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    await settle('before the flood');
    const baseline = await sw.memory();
    line('baseline (idle)', baseline);

    let peak = baseline;
    const watch = setInterval(() => {
      void sw.memory().then((m) => {
        if (m.rssKb > peak.rssKb) peak = m;
      }, () => undefined);
    }, 250);
    const frame = udpFrame(a, b);
    const started = Date.now();
    await pkt(a, ['macs', a.ifname, frame, String(macs), '1']);
    const afterMacs = { flows: await flowCount(), macs: await fdbCount() };
    await sw.appctl('upcall/disable-megaflows');
    await pkt(a, ['flows', a.ifname, frame, String(flows)]);
    const afterFlows = await flowCount();
    await sw.appctl('upcall/enable-megaflows');
    clearInterval(watch);
    const atEnd = await sw.memory();
    if (atEnd.rssKb > peak.rssKb) peak = atEnd;
    line('peak (flood)', peak, `  after ${((Date.now() - started) / 1000).toFixed(1)} s: ${afterMacs.flows} flows and ${afterMacs.macs} MACs after the MAC flood, ${afterFlows} flows after the 5-tuple flood`);

    await settle('after the flood');
    line('all expired', await sw.memory(), `  (${MAX_IDLE_MS} ms idle timeout, ${MAC_AGING_S} s MAC aging)`);
    // Idle a little longer: what a daemon gives back over the next seconds (GC, allocator trims).
    const expiredAt = Date.now();
    while (Date.now() - expiredAt < 15_000) await new Promise((r) => setTimeout(r, 1000));
    const idle = await sw.memory();
    line('idle 15 s later', idle, `  ${idle.rssKb - baseline.rssKb >= 0 ? '+' : ''}${mb(idle.rssKb - baseline.rssKb)} over the baseline`);
  } finally {
    await sw.stop();
    await lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
