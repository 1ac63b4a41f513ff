#!/usr/bin/env node
// tvs-ofctl: show and change a switch's OpenFlow tables, ports, groups and meters, as ovs-ofctl
// does, over OpenFlow. The switch is a bridge name (its management socket
// $TVS_RUNDIR/BRIDGE.mgmt), unix:PATH or tcp:IP[:PORT]; it may be tvs-vswitchd or any other
// OpenFlow switch, ovs-vswitchd included. Options, commands and output are ovs-ofctl's
// (src/ofctl/ has the commands and the printers).

import { readFileSync } from 'node:fs';
import { startCli, runIfMain, stdio, type Io } from '../lib/cli-run.js';
import { logOptionsUsage } from '../lib/log.js';
import { own } from '../lib/own.js';
import type { OfctlChannel } from '../ofctl/channel.js';
import { RemoteError } from '../ofctl/channel.js';
import { SWITCH_COMMANDS, type Command } from '../ofctl/commands.js';
import { TLV_COMMANDS } from '../ofctl/tlv-map.js';
import { connectChannel } from '../ofctl/connect.js';
import { TLS_USAGE } from '../lib/tls.js';
import { FLOW_COMMANDS } from '../ofctl/flow-commands.js';
import { MONITOR_COMMANDS } from '../ofctl/monitor.js';
import { parseArgs, type Invocation } from '../ofctl/options.js';
import { formatRemoteError } from '../ofctl/print-errors.js';
import type { CommandContext } from '../ofctl/session.js';
import { openTarget } from '../ofctl/target.js';

const VERSION = 'tvs-ofctl (TVS) 0.1.0\nOpenFlow versions 0x1:0x6\n';

function usage(): string {
  return `tvs-ofctl: OpenFlow switch management utility
usage: tvs-ofctl [OPTIONS] COMMAND [ARG...]

For OpenFlow switches:
  show SWITCH                 show OpenFlow information
  dump-desc SWITCH            print switch description
  dump-tables SWITCH          print table stats
  dump-table-features SWITCH  print table features
  dump-table-desc SWITCH      print table description
  mod-port SWITCH IFACE ACT   modify port behavior
  dump-ports SWITCH [PORT]    print port statistics
  dump-ports-desc SWITCH [PORT]  print port descriptions
  dump-flows SWITCH           print all flow entries
  dump-flows SWITCH FLOW      print matching FLOWs
  dump-aggregate SWITCH       print aggregate flow statistics
  dump-aggregate SWITCH FLOW  print aggregate stats for FLOWs
  queue-stats SWITCH [PORT [QUEUE]]  dump queue stats
  queue-get-config SWITCH [PORT [QUEUE]]  print queue config
  add-flow SWITCH FLOW        add flow described by FLOW
  add-flows SWITCH FILE       add flows from FILE ("-" for stdin)
  mod-flows SWITCH FLOW       modify actions of matching FLOWs
  del-flows SWITCH [FLOW]     delete matching FLOWs
  replace-flows SWITCH FILE   replace flows with those in FILE
  diff-flows SOURCE1 SOURCE2  compare flows from two sources
  bundle SWITCH FILE          apply the flow and group changes in FILE
                              in one atomic bundle ("-" for stdin)
  packet-out SWITCH "in_port=<port> packet=<hex data> actions=..."
                              execute ACTIONS on PACKET
  monitor SWITCH [MISSLEN] [invalid_ttl] [watch:[...]]
                              print packets received from SWITCH
  snoop SWITCH                snoop on SWITCH and its controller
  add-group SWITCH GROUP      add group described by GROUP
  add-groups SWITCH FILE      add group from FILE
  mod-group SWITCH GROUP      modify specific group
  del-groups SWITCH [GROUP]   delete matching GROUPs
  dump-group-stats SWITCH [GROUP]  print group statistics
  dump-group-features SWITCH  print group features
  dump-groups SWITCH [GROUP]  print group description
  add-meter SWITCH METER      add meter described by METER
  mod-meter SWITCH METER      modify specific METER
  del-meters SWITCH [METER]   delete meters matching METER
  dump-meters SWITCH [METER]  print METER configuration
  meter-stats SWITCH [METER]  print meter statistics
  add-tlv-map SWITCH MAP      add TLV option MAPpings
  del-tlv-map SWITCH [MAP]    delete TLV option MAPpings (all without MAP)
  dump-tlv-map SWITCH         print TLV option mappings

For OpenFlow switches and controllers:
  probe TARGET                probe whether TARGET is up
  ping TARGET [N]             latency of N-byte echos

SWITCH is a bridge name (its management socket $TVS_RUNDIR/BRIDGE.mgmt,
default /var/run/tvs), unix:PATH, tcp:IP[:PORT] or ssl:IP[:PORT] (port 6653 by default).

${TLS_USAGE}
${logOptionsUsage()}
Other options:
  --strict                    use strict match for flow commands
  --readd                     replace flows that haven't changed
  -O, --protocols=VERSION[,VERSION]  allowed OpenFlow versions
                              (OpenFlow10 ... OpenFlow15; default OpenFlow10,
                              with Nicira extensions for flows)
  --bundle                    accepted; flow changes are sent with a barrier
  --names / --no-names        accepted; ports are printed by number
  --stats / --no-stats        show (or hide) statistics in dump-flows
  --sort[=field]              sort in ascending order (by priority if no field)
  --rsort[=field]             sort in descending order
  -t, --timeout=SECS          give up after SECS seconds
  -h, --help                  display this help message
  -V, --version               display version information
`;
}

const COMMANDS: Readonly<Record<string, Command>> = { ...SWITCH_COMMANDS, ...FLOW_COMMANDS, ...MONITOR_COMMANDS, ...TLV_COMMANDS };

function context(inv: Invocation, io: Io): CommandContext {
  return {
    inv,
    io,
    open: (target = inv.args[0]!, kind = 'mgmt'): Promise<OfctlChannel> =>
      openTarget(target, (t) => connectChannel(t, inv.versions, inv.timeoutMs || undefined, inv.tls), kind),
    readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
  };
}

/** Runs tvs-ofctl with `argv`; returns the exit code. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const inv = startCli('tvs-ofctl', argv, parseArgs, { usage, version: VERSION }, io);
  if (typeof inv === 'number') return inv;
  const command = own(COMMANDS, inv.command)!;
  const timer = inv.timeoutMs
    ? setTimeout(() => {
        io.err(`tvs-ofctl: timeout after ${inv.timeoutMs / 1000} seconds\n`);
        process.exit(1);
      }, inv.timeoutMs)
    : undefined;
  try {
    return await command(context(inv, io));
  } catch (e) {
    if (e instanceof RemoteError) {
      io.err(formatRemoteError(e));
      return 1;
    }
    io.err(`tvs-ofctl: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

runIfMain(import.meta.url, main);
