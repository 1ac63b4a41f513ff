#!/usr/bin/env node
// `tvs`: the umbrella command. `tvs demo` runs the switch with three
// namespace hosts and shows what crosses it.
import { Switch, type SwitchHost } from '../api/switch.js';
import { Lab, ping } from '../lib/netns.js';
import { defaultDbSocket, defaultUnixctlPath } from '../lib/paths.js';
import { capture, CAPTURE_USAGE } from './capture.js';

const USAGE = `usage: tvs COMMAND

commands:
  demo [--seconds N]   start the switch (tvs-vswitchd, embedded database) with
                       bridge br0 and three namespace hosts (two on veth, one
                       on a tap the switch owns), ping across, then show ports,
                       MAC table and datapath flows live until Ctrl-C (or for
                       N seconds; 10 when not on a terminal); removes
                       everything it made on the way out
${CAPTURE_USAGE}
  help                 this text`;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(bold(`==> ${s}`));

/** The switch on the default sockets (so tvs-vsctl and tvs-appctl work as is), or on private ones if taken. */
async function startSwitch(): Promise<{ sw: Switch; shared: boolean }> {
  try {
    return { sw: await Switch.start({ dbSockets: [defaultDbSocket()], unixctl: defaultUnixctlPath('tvs-vswitchd') }), shared: true };
  } catch {
    return { sw: await Switch.start(), shared: false };
  }
}

function view(sw: Switch, elapsed: number): string {
  const lines = [bold(`tvs demo: ${elapsed}s  (Ctrl-C to stop)`), '', bold('ports')];
  lines.push(`  ${'port'.padEnd(20)}${'rx pkts'.padStart(9)}${'rx bytes'.padStart(11)}${'tx pkts'.padStart(9)}${'tx bytes'.padStart(11)}${'drops'.padStart(7)}`);
  for (const p of sw.portStats('br0')) {
    const s = p.stats;
    lines.push(
      `  ${`${p.name} (${p.type})`.padEnd(20)}${String(s.rxPackets).padStart(9)}${String(s.rxBytes).padStart(11)}${String(s.txPackets).padStart(9)}${String(s.txBytes).padStart(11)}${String(s.rxDropped + s.txDropped).padStart(7)}`,
    );
  }
  const dp = sw.datapathStats();
  lines.push('', bold('MAC table (fdb/show br0)'), ...sw.fdb('br0').trimEnd().split('\n').map((l) => `  ${l}`));
  lines.push('', bold(`datapath flows (hit:${dp.hit} missed:${dp.missed} lost:${dp.lost}, ${dp.flows} flows, ${dp.masks} masks)`));
  for (const f of sw.dumpDatapathFlows().slice(0, 12)) lines.push(`  ${f}`);
  return lines.join('\n');
}

async function demo(argv: string[]): Promise<void> {
  let seconds = process.stdout.isTTY ? Infinity : 10;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds' && /^\d+$/.test(argv[i + 1] ?? '')) seconds = Number(argv[++i]);
    else throw new Error(`tvs demo: unknown argument "${argv[i]!}" (expected --seconds N)`);
  }
  if (process.getuid?.() !== 0) throw new Error('tvs demo: needs root (network namespaces, taps and raw sockets): run it with sudo');

  await Lab.removeStale('tvs-sw');
  step('starting tvs-vswitchd with its embedded database');
  const { sw, shared } = await startSwitch();
  const interrupted = new AbortController();
  const stop = () => interrupted.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const pingers: ReturnType<typeof setInterval>[] = [];
  try {
    console.log(shared ? '    try in another terminal: tvs-vsctl show; tvs-appctl fdb/show br0' : `    database: ${sw.db}`);
    step('bridge br0 with three hosts: h1 and h2 on veth, h3 on a tap the switch owns');
    await sw.addBridge('br0');
    const hosts: SwitchHost[] = [
      await sw.addHost('br0', 'h1', { ip: '10.0.0.1/24' }),
      await sw.addHost('br0', 'h2', { ip: '10.0.0.2/24' }),
      await sw.addHost('br0', 'h3', { ip: '10.0.0.3/24', via: 'tap' }),
    ];
    for (const h of hosts) console.log(`    ${h.ns.padEnd(18)} ${h.ip.padEnd(10)} ${h.mac}  switch port ${h.port}`);

    step('ping across the switch');
    for (const [from, to] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const n = await ping(hosts[from]!, hosts[to]!.ip, 3);
      console.log(`    ${hosts[from]!.ip} -> ${hosts[to]!.ip}: ${n}/3 replies`);
      if (n === 0) throw new Error(`no ping replies from ${hosts[to]!.ip}: the switch is not forwarding`);
    }

    // Keep traffic flowing for the live view.
    for (const [from, to] of [
      [0, 1],
      [2, 0],
    ] as const) {
      pingers.push(setInterval(() => void ping(hosts[from]!, hosts[to]!.ip, 1, 0.2), 1000));
    }
    const started = Date.now();
    while (!interrupted.signal.aborted && (Date.now() - started) / 1000 < seconds) {
      const elapsed = Math.round((Date.now() - started) / 1000);
      const text = view(sw, elapsed);
      process.stdout.write(process.stdout.isTTY ? `\x1b[2J\x1b[H${text}\n` : `${text}\n\n`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    pingers.forEach(clearInterval);
    step('stopping the switch and removing the hosts');
    await sw.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      await demo(rest);
      return 0;
    case 'capture':
      return capture(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      throw new Error(`tvs: unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
