#!/usr/bin/env node
// tvs-dpctl: inspect and change the datapaths of the running tvs-vswitchd, as ovs-dpctl does.
// Our datapaths live inside the daemon's process (a userspace datapath, like OVS's netdev@), so
// every command is forwarded over the control socket to the daemon's `dpctl/<command>` unixctl
// command, exactly as `tvs-appctl dpctl/<command> [OPTIONS] ARG...` would, and its reply printed.
// Options (-s, -m, --may-create, --clear) are passed on in front of the arguments, as the
// dpctl/* commands take them (src/datapath/dpctl.ts does the work in the daemon).

import { readFileSync } from 'node:fs';
import { startCli, runIfMain, stdio, type Io } from '../lib/cli-run.js';
import { parseCommandLine, type ArgCounts, type OptionWord } from '../lib/command-line.js';
import { logOptionsUsage } from '../lib/log.js';
import { UnixctlConnectError, resolveTarget, unixctlCall } from '../lib/unixctl.js';
import { own } from '../lib/own.js';
import { UsageError } from '../lib/usage-error.js';

const VERSION = 'tvs-dpctl (TVS) 0.1.0\n';
const DEFAULT_TARGET = 'tvs-vswitchd';

/** Argument counts as ovs-dpctl's command table has them, for the commands TVS implements. */
const COMMANDS: Readonly<Record<string, ArgCounts>> = {
  show: [0, Number.MAX_SAFE_INTEGER],
  'dump-dps': [0, 0],
  'dump-flows': [0, 3],
  'add-flow': [2, 3],
  'mod-flow': [2, 3],
  'get-flow': [1, 2],
  'del-flow': [1, 2],
  'del-flows': [0, 1],
  'add-flows': [1, 2],
  'mod-flows': [1, 2],
};

/** ovs-dpctl commands that have no meaning here, with what to do instead. */
const UNSUPPORTED: Record<string, string> = {
  'add-dp': 'tvs-vswitchd creates a datapath for each bridge (tvs-vsctl add-br)',
  'del-dp': 'tvs-vswitchd deletes a bridge\'s datapath with it (tvs-vsctl del-br)',
  'add-if': 'ports are added through the database (tvs-vsctl add-port)',
  'set-if': 'interfaces are configured through the database (tvs-vsctl set Interface)',
  'del-if': 'ports are removed through the database (tvs-vsctl del-port)',
};

function usage(): string {
  return `tvs-dpctl: TVS datapath management utility
usage: tvs-dpctl [OPTIONS] COMMAND [ARG...]
  dump-dps                 display names of all datapaths
  show                     show basic info on all datapaths
  show DP...               show basic info on each DP
  dump-flows [DP] [FILTER] display flows in DP
  add-flow [DP] FLOW ACTIONS add FLOW with ACTIONS to DP
  mod-flow [DP] FLOW ACTIONS change FLOW actions to ACTIONS in DP
  get-flow [DP] ufid:UFID    fetch flow corresponding to UFID
  del-flow [DP] FLOW         delete FLOW from DP
  del-flows [DP]             delete all flows from DP
  add-flows [DP] FILE        add flows from FILE ("-" for stdin)
  mod-flows [DP] FILE        change flows from FILE ("-" for stdin)
FILE has one flow per line: [add|modify|delete] FLOW [ACTIONS]
For COMMAND dump-flows, add-flow, mod-flow, del-flow and del-flows,
DP is optional if there is only one datapath.
Datapaths are those of the running tvs-vswitchd, reached over its control socket.

${logOptionsUsage()}
Options for show and mod-flow:
  -s,  --statistics           print statistics for port or flow

Options for dump-flows:
  -m, --more                  increase verbosity of output

Options for mod-flow:
  --may-create                create flow if it doesn't exist
  --clear                     reset existing stats to zero

Other options:
  --unixctl=TARGET            daemon name or control socket (default ${DEFAULT_TARGET})
  -t, --timeout=SECS          give up after SECS seconds
  -h, --help                  display this help message
  -V, --version               display version information
`;
}

interface Invocation {
  target: string;
  timeoutMs: number;
  flags: string[];
  command: string;
  args: string[];
}

/** Like ovs-dpctl (getopt_long with permutation), options may come anywhere before "--". */
function parseArgs(argv: string[]): Invocation | 'help' | 'version' {
  let target = DEFAULT_TARGET;
  let timeoutMs = 0;
  const flags: string[] = [];
  const option = ({ word, flag, value }: OptionWord): boolean => {
    switch (flag) {
      case '-s':
      case '--statistics':
        flags.push('-s');
        return true;
      case '-m':
      case '--more':
        flags.push('-m');
        return true;
      case '--may-create':
      case '--clear':
        flags.push(flag);
        return true;
      case '-t':
      case '--timeout': {
        const v = value();
        if (!/^\d+$/.test(v)) throw new UsageError(`value ${v} on -t or --timeout is invalid`);
        timeoutMs = Number(v) * 1000;
        return true;
      }
      case '--unixctl':
        target = value();
        return true;
      default:
        // Bundled short options, as getopt allows: -sm.
        if (!/^-[sm]+$/.test(word)) return false;
        for (const c of word.slice(1)) flags.push(`-${c}`);
        return true;
    }
  };
  const line = parseCommandLine(argv, { commands: COMMANDS, option, unsupported: (command) => own(UNSUPPORTED, command) });
  return typeof line === 'string' ? line : { target, timeoutMs, flags: [...new Set(flags)], ...line };
}

/** Runs tvs-dpctl with `argv`; returns the exit code. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const inv = startCli('tvs-dpctl', argv, parseArgs, { usage, version: VERSION }, io);
  if (typeof inv === 'number') return inv;
  const path = resolveTarget(inv.target);
  try {
    if (inv.command === 'add-flows' || inv.command === 'mod-flows') return await processFlowFile(path, inv, io);
    const r = await unixctlCall(path, `dpctl/${inv.command}`, [...inv.flags, ...inv.args], { timeoutMs: inv.timeoutMs });
    if (!r.ok) {
      // ovs-dpctl prints "ovs-dpctl: <what failed>" and exits 1 (2 is appctl's "server error").
      io.err(`tvs-dpctl: ${r.output.endsWith('\n') ? r.output : r.output + '\n'}`);
      return 1;
    }
    io.out(r.output);
    return 0;
  } catch (e) {
    const msg = e instanceof UnixctlConnectError ? `${e.message}; is tvs-vswitchd running?` : (e as Error).message;
    io.err(`tvs-dpctl: ${msg}\n`);
    return 1;
  }
}

/**
 * add-flows / mod-flows FILE: one dpctl/add-flow, mod-flow or del-flow per line
 * ("[add|modify|delete] FLOW [ACTIONS]", the verb defaulting to the command's).
 */
async function processFlowFile(path: string, inv: Invocation, io: Io): Promise<number> {
  const file = inv.args[inv.args.length - 1]!;
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  const verbs: Record<string, string> = { add: 'add-flow', modify: 'mod-flow', delete: 'del-flow' };
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    const verb = verbs[words[0]!] ? words.shift()! : inv.command === 'add-flows' ? 'add' : 'modify';
    const args = verb === 'delete' ? words.slice(0, 1) : words.slice(0, 2);
    if (args.length < (verb === 'delete' ? 1 : 2)) {
      io.err(`tvs-dpctl: ${file}:${i + 1}: expected [add|modify|delete] FLOW ACTIONS\n`);
      return 1;
    }
    const r = await unixctlCall(path, `dpctl/${verbs[verb]!}`, [...inv.flags, ...args], { timeoutMs: inv.timeoutMs });
    if (!r.ok) {
      io.err(`tvs-dpctl: ${file}:${i + 1}: ${r.output.endsWith('\n') ? r.output : r.output + '\n'}`);
      return 1;
    }
  }
  return 0;
}

runIfMain(import.meta.url, main);
