// The daemon's tvs-appctl commands beyond the bridge ones (fdb/*,
// ofproto/trace): dpif/*, dpctl/*, bridge/dump-flows, revalidator/wait, and
// the upkeep views OVS users reach for (memory/show, coverage/show, upcall/show).
import type { CommandRegistry } from '../lib/command-registry.js';
import * as dpctl from '../datapath/dpctl.js';
import type { OfprotoDpif } from '../ofproto/ofproto-dpif.js';
import { formatFlowStats } from '../ofproto/print.js';
import { describeTunnel } from '../ofproto/tunnel.js';
import { describeTrim, trimMemory } from './memory-trim.js';
import { formatNeighShow, formatRouteLookup, formatRouteShow } from './underlay.js';
import type { Reconciler } from './reconcile.js';

const DATAPATH_NAME = 'ovs-netdev';

/** dpctl options (-s, -m) split from their other arguments. */
function flags(args: string[]): { stats: boolean; more: boolean; rest: string[] } {
  const rest = args.filter((a) => !/^-[sm]+$|^--(statistics|more|may-create|clear)$/.test(a));
  const has = (c: string, long: string) => args.some((a) => (/^-[sm]+$/.test(a) && a.includes(c)) || a === long);
  return { stats: has('s', '--statistics'), more: has('m', '--more'), rest };
}

export function registerDaemonCommands(registry: CommandRegistry, of: OfprotoDpif, rec: Reconciler): void {
  const named = (): dpctl.NamedDatapath => ({ name: DATAPATH_NAME, dp: of.datapath });
  const bridge = (name: string) => {
    const b = of.bridge(name);
    if (!b) throw new Error(`no such bridge`);
    return b;
  };

  registry.register('dpif/show', '', 0, 0, () => {
    const s = of.datapath.stats();
    const ports = new Map(of.datapath.ports().map((p) => [p.port, p]));
    const lines = [`netdev@${DATAPATH_NAME}: hit:${s.hit} missed:${s.missed}`];
    for (const name of rec.bridgeNames().sort()) {
      lines.push(`  ${name}:`);
      const b = bridge(name);
      for (const p of [...b.ports()].sort((x, y) => x.name.localeCompare(y.name))) {
        // The interface's configured type, as OVS prints it ("internal" even when a tap or a dummy carries it).
        const st = rec.interfaces().find((i) => i.name === p.name);
        const type = st?.type ?? ports.get(p.dpPort)?.type ?? 'system';
        const detail = st?.peer !== undefined ? `: peer=${st.peer}` : st?.tunnelOptions ? `: ${st.tunnelOptions}` : '';
        lines.push(`    ${p.name} ${p.ofport}/${p.dpPort}: (${type}${detail})`);
      }
    }
    return lines.join('\n') + '\n';
  });

  registry.register('dpif/dump-flows', '[-m] bridge', 1, 2, (args) => {
    const { more, rest } = flags(args);
    const b = bridge(rest[0] ?? '');
    const mine = new Set(b.ports().map((p) => p.dpPort));
    return of.datapath
      .dumpFlows()
      .filter((f) => mine.has(f.key.readUInt32LE(0)))
      .map((f) => dpctl.formatDatapathFlow(f, { ufid: more }) + '\n')
      .join('');
  });

  registry.register('dpctl/dump-dps', '', 0, 0, () => dpctl.dumpDps([named()]));
  registry.register('dpctl/show', '[-s] [dp]', 0, 3, (args) => dpctl.show(named(), { stats: flags(args).stats }));
  registry.register('dpctl/dump-flows', '[-m] [dp] [filter=...]', 0, 5, (args) => {
    const { more, rest } = flags(args);
    const filter = rest.find((a) => a.startsWith('filter='))?.slice('filter='.length);
    return dpctl.dumpFlows(named(), { more, ...(filter ? { filter } : {}) });
  });
  const flowArgs = (args: string[], n: number): string[] => {
    const rest = flags(args).rest.filter((a) => !a.startsWith('--'));
    // An optional leading datapath name, as ovs-dpctl accepts.
    return rest.length > n ? rest.slice(rest.length - n) : rest;
  };
  registry.register('dpctl/add-flow', '[dp] flow actions', 2, 6, (args) => {
    const [flow, actions] = flowArgs(args, 2);
    dpctl.addFlow(named(), flow!, actions!, 'create');
    return '';
  });
  registry.register('dpctl/mod-flow', '[--may-create] [--clear] [dp] flow actions', 2, 7, (args) => {
    const [flow, actions] = flowArgs(args, 2);
    dpctl.addFlow(named(), flow!, actions!, args.includes('--may-create') ? 'put' : 'modify');
    return '';
  });
  registry.register('dpctl/del-flow', '[dp] flow', 1, 4, (args) => {
    dpctl.delFlow(named(), flowArgs(args, 1)[0]!);
    return '';
  });
  registry.register('dpctl/get-flow', '[dp] flow|ufid', 1, 4, (args) => dpctl.getFlow(named(), flowArgs(args, 1)[0]!));
  registry.register('dpctl/del-flows', '[dp]', 0, 3, () => {
    of.flushFlows();
    return '';
  });

  registry.register('bridge/dump-flows', 'bridge', 1, 1, ([name]) => {
    const b = bridge(name!);
    const now = b.tables.now();
    return b.tables
      .dump()
      .map((r) => formatFlowStats(r, now) + '\n')
      .join('');
  });

  registry.register('upcall/show', '', 0, 0, () => {
    const s = of.datapath.stats();
    const limit = of.flowLimit;
    const lag = of.upcallStats.lag;
    const ms = (v: number) => v.toFixed(1);
    const lostPorts = of.datapath
      .ports()
      .filter((p) => p.upcallsLost > 0)
      .map((p) => `${p.name} ${p.upcallsLost}`);
    return [
      `netdev@${DATAPATH_NAME}:`,
      // As OVS prints them: the limit is the dynamic one, which shrinks while passes are slow.
      `  flows         : (current ${s.flows}) (avg ${limit.avgFlows}) (max ${limit.maxFlows}) (limit ${s.flowLimit})`,
      `  dump duration : ${Math.round(limit.lastPassMs)}ms`,
      `  upcalls       : ${s.upcalls} (lost ${s.lost}) (queued ${s.upcallsQueued}) (over flow limit ${of.upcallStats.overFlowLimit})`,
      ...(lostPorts.length ? [`  lost per port : ${lostPorts.join(', ')}`] : []),
      `  event loop lag: (p99 ${ms(lag.p99Ms)} ms) (max ${ms(lag.maxMs)} ms) (worst ${ms(lag.worstMs)} ms)`,
      `  max idle      : ${s.maxIdleMs} ms`,
      `  emc insert    : ${s.emcInsertInvProb === 0 ? 'off' : `1/${s.emcInsertInvProb}`}`,
      '',
    ].join('\n');
  });

  // As OVS's: returns once a revalidation round has run, so the counters
  // and MAC table it shows next include the traffic before it.
  registry.register('revalidator/wait', '', 0, 0, async () => {
    await of.revalidationRound();
    return '';
  });

  registry.register('upcall/disable-megaflows', '', 0, 0, () => {
    of.setMegaflows(false);
    return 'megaflows disabled\n';
  });
  registry.register('upcall/enable-megaflows', '', 0, 0, () => {
    of.setMegaflows(true);
    return 'megaflows enabled\n';
  });

  registry.register('memory/show', '', 0, 0, () => {
    const m = process.memoryUsage();
    const rules = rec.bridgeNames().reduce((n, name) => n + bridge(name).tables.count(), 0);
    const s = of.datapath.stats();
    return `handlers:1 ports:${of.datapath.ports().length} revalidators:1 rules:${rules} udpif keys:${s.flows}\nrss:${Math.round(m.rss / 1024)}kB heap:${Math.round(m.heapUsed / 1024)}kB\n`;
  });

  registry.register('memory/trim', '', 0, 0, () => `${describeTrim(trimMemory())}\n`);

  // As OVS's tnl/ports/show: the vports listening for tunnels, and with -v the tunnel ports behind each.
  registry.register('tnl/ports/show', '[-v]', 0, 1, (args) => {
    const verbose = args.includes('-v');
    const ports = of.tunnels.list();
    const lines = ['Listening ports:'];
    for (const v of rec.tunnelVports()) {
      const mine = ports.filter((p) => p.dpPort === v.dpPort);
      const udp = mine[0]?.config.dstPort;
      lines.push(`${v.name}${udp ? ` (${udp})` : ''} ref_cnt=${v.users.length}`);
      if (verbose) for (const p of mine) lines.push(`  ${p.name}: ${p.bridge} port ${p.ofport}, ${p.config.type}: ${describeTunnel(p.config)}`);
    }
    return lines.join('\n') + '\n';
  });

  // The underlay is the host's: these read its routes and neighbours, in the shape of OVS's views.
  registry.register('ovs/route/show', '', 0, 0, () => formatRouteShow());
  registry.register('ovs/route/lookup', 'ip_addr', 1, 1, ([ip]) => formatRouteLookup(ip!));
  registry.register('tnl/neigh/show', '', 0, 0, () => formatNeighShow());

  registry.register('coverage/show', '', 0, 0, () => {
    const s = of.datapath.stats();
    const counters: [string, number][] = [
      ['datapath_hit', s.hit],
      ['datapath_emc_hit', s.emcHit],
      ['datapath_miss', s.missed],
      ['datapath_lost', s.lost],
      ['upcall', s.upcalls],
      ['action_error', s.actionErrors],
      // Frames from a tunnel vport whose outer header matched no tunnel port (dropped).
      ['tunnel_no_port', of.tunnels.unmatched],
    ];
    return `Event coverage, totals since start:\n${counters.map(([n, v]) => `${n.padEnd(26)} total: ${v}`).join('\n')}\n`;
  });
}
