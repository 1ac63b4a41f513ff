#!/usr/bin/env node
// tvs-appctl: run a command in a running daemon over its control socket, as ovs-appctl does.
// Works against our daemons and against real OVS daemons (same unixctl protocol).
//
// Exit codes, as ovs-appctl's: 0 success; 2 the daemon answered with an error (its text goes to
// stderr, then "tvs-appctl: TARGET: server returned an error"); 1 usage errors and failures to
// reach the daemon ("cannot connect to ...").

import { startCli, runIfMain, stdio, type Io } from '../lib/cli-run.js';
import { unknownOptionError } from '../lib/command-line.js';
import { logOptionsUsage, parseLogOption } from '../lib/log.js';
import { UnixctlConnectError, resolveTarget, unixctlCall } from '../lib/unixctl.js';
import { UsageError } from '../lib/usage-error.js';

const DEFAULT_TARGET = 'tvs-vswitchd';
const VERSION = 'tvs-appctl (TVS) 0.1.0\n';

function usage(): string {
  return `tvs-appctl, for querying and controlling TVS daemons
usage: tvs-appctl [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  pidfile or socket to contact
                       (a daemon name such as tvsdb-server, or a socket path;
                       default ${DEFAULT_TARGET})
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
  vlog/list          List current logging levels
  vlog/list-pattern  List logging patterns for each destination.
  vlog/set [SPEC]
      Set log levels as detailed in SPEC, which may include:
      A valid module name (all modules, by default)
      'syslog', 'console', 'file' (all destinations, by default))
      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', bydefault)
  vlog/reopen        Make the program reopen its log file
Other options:
  --timeout=SECS     wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display tvs-appctl version information
${logOptionsUsage()}`;
}

interface Invocation {
  target: string;
  timeoutMs: number;
  command: string;
  args: string[];
}

function parseTimeout(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`value ${v} on -T or --timeout is invalid`);
  return Number(v) * 1000;
}

/** Options end at the first non-option, as with ovs-appctl, so a command's own "-m" is its argument. */
function parseArgs(argv: string[]): Invocation | 'help' | 'version' {
  let target = DEFAULT_TARGET;
  let timeoutMs = 0;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const value = (): string => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`option '${a}' requires an argument`);
      return v;
    };
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (flag === '-h' || flag === '--help') return 'help';
    if (flag === '-V' || flag === '--version') return 'version';
    if (flag === '-t' || flag === '--target') target = value();
    else if (a.startsWith('-t') && !a.startsWith('--')) target = a.slice(2);
    else if (flag === '-T' || flag === '--timeout') timeoutMs = parseTimeout(value());
    else if (a.startsWith('-T') && !a.startsWith('--')) timeoutMs = parseTimeout(a.slice(2));
    else if (parseLogOption(a)) continue;
    else throw unknownOptionError(a);
  }
  const rest = argv.slice(i);
  if (rest.length === 0) throw new UsageError('at least one non-option argument is required (use --help for help)');
  return { target, timeoutMs, command: rest[0]!, args: rest.slice(1) };
}

/** Runs tvs-appctl with `argv`; returns the exit code. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const inv = startCli('tvs-appctl', argv, parseArgs, { usage, version: VERSION }, io);
  if (typeof inv === 'number') return inv;
  const path = resolveTarget(inv.target);
  try {
    const r = await unixctlCall(path, inv.command, inv.args, { timeoutMs: inv.timeoutMs });
    if (!r.ok) {
      io.err(r.output);
      io.err(`tvs-appctl: ${inv.target}: server returned an error\n`);
      return 2;
    }
    io.out(r.output);
    return 0;
  } catch (e) {
    const msg = e instanceof UnixctlConnectError ? e.message : `${inv.target}: ${(e as Error).message}`;
    io.err(`tvs-appctl: ${msg}\n`);
    return 1;
  }
}

runIfMain(import.meta.url, main);
