#!/usr/bin/env node
// `tvs`: the umbrella command. `tvs demo` builds a small topology on the
// datapath and shows frames crossing it.
import { Datapath, type PortInfo } from '../datapath/dpif.js';
import { Lab, ping } from '../lib/netns.js';
import { spawn } from 'node:child_process';

const USAGE = `usage: tvs COMMAND

commands:
  demo [--seconds N]   two namespace hosts, one on veth and one on a tap the
                       switch owns, joined through the datapath; shows pings
                       and live port counters until Ctrl-C (or N seconds;
                       10 when not on a terminal)
  help                 this text`;

async function demo(argv: string[]): Promise<void> {
  let seconds = process.stdout.isTTY ? Infinity : 10;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds' && /^\d+$/.test(argv[i + 1] ?? '')) seconds = Number(argv[++i]);
    else throw new Error(`tvs demo: unknown argument "${argv[i]}" (expected --seconds N)`);
  }
  if (process.getuid?.() !== 0) throw new Error('tvs demo: needs root (network namespaces, taps and raw sockets): run it with sudo');

  const step = (s: string) => console.log(`\x1b[1m==> ${s}\x1b[0m`);
  await Lab.removeStale('tvs-demo');
  const lab = new Lab({ kind: 'tvs-demo', tag: 'x' });
  const dp = Datapath.open();
  let stopping = false;
  const stop = () => (stopping = true);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    step('host a: namespace tvs-demo-x-a, 10.0.0.1, attached by veth (AF_PACKET port)');
    const a = await lab.addVethHost('a', '10.0.0.1/24');
    const pa = dp.addPort({ type: 'system', name: a.switchIf });
    step('host b: namespace tvs-demo-x-b, 10.0.0.2, on a tap the switch creates and holds');
    const tapName = lab.ifname('b');
    const pb = dp.addPort({ type: 'tap', name: tapName });
    const b = await lab.adoptIntoHost('b', tapName, '10.0.0.2/24');
    dp.setForward(pa.port, [pb.port]);
    dp.setForward(pb.port, [pa.port]);
    console.log(`    port ${pa.port}: ${a.switchIf} (system)    port ${pb.port}: ${tapName} (tap, now inside ${b.ns})`);

    step('ping 10.0.0.2 from host a, across the datapath');
    const replies = await ping(a.host, '10.0.0.2', 3);
    console.log(`    ${replies}/3 replies`);
    if (replies === 0) throw new Error('no ping replies crossed the datapath');

    step(`frames crossing, live (${Number.isFinite(seconds) ? `${seconds} s` : 'Ctrl-C to stop'})`);
    const pinger = spawn('ip', ['netns', 'exec', a.host.ns, 'ping', '-i', '0.2', '-q', '10.0.0.2'], { stdio: 'ignore' });
    const header = `${'time'.padEnd(6)}${'port'.padEnd(22)}${'rx pkts'.padStart(10)}${'rx bytes'.padStart(12)}${'tx pkts'.padStart(10)}${'tx bytes'.padStart(12)}${'drops'.padStart(8)}`;
    console.log(header);
    const started = Date.now();
    while (!stopping && (Date.now() - started) / 1000 < seconds) {
      await new Promise((r) => setTimeout(r, 1000));
      const t = `${Math.round((Date.now() - started) / 1000)}s`;
      for (const p of dp.ports()) console.log(t.padEnd(6) + row(p));
    }
    pinger.kill();
  } finally {
    step('removing the namespaces and the tap');
    dp.close();
    await lab.cleanup();
  }
}

function row(p: PortInfo): string {
  const s = p.stats;
  return (
    `${p.port} ${p.name} (${p.type})`.padEnd(22) +
    String(s.rxPackets).padStart(10) +
    String(s.rxBytes).padStart(12) +
    String(s.txPackets).padStart(10) +
    String(s.txBytes).padStart(12) +
    String(s.rxDropped + s.txDropped).padStart(8)
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demo(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new Error(`tvs: unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
