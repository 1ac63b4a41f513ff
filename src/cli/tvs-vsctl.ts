#!/usr/bin/env node
// tvs-vsctl: configure TVS through its database, with ovs-vsctl's commands, syntax and output.

import { PROGRAM, vsctlMain } from '../vsctl/main.js';

/** --timeout expired: die of SIGALRM as ovs-vsctl does (its time_alarm), after OVS's log line. */
function alarm(): void {
  const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  process.stderr.write(`${ts}|00002|fatal_signal|WARN|terminating with signal 14 (Alarm clock)\n`);
  process.kill(process.pid, 'SIGALRM');
}

process.title = PROGRAM;
vsctlMain(
  process.argv.slice(2),
  { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s), env: process.env },
  alarm,
).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${PROGRAM}: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
