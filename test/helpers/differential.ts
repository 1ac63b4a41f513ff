// What the differential tests share: OVS's side and ours run the same script, each step's exit
// status and output go into a transcript once what may legitimately differ between two runs is
// masked, and the two transcripts must be equal.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon } from './daemon.js';
import { startOvsReference } from './ovs-reference.js';
import type { CliExit } from './run-exit.js';

/** tvs-ofctl as the tests run it, compiled in dist/. */
export const TVS_OFCTL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli', 'tvs-ofctl.js');

/** A monitor (`ovs-ofctl monitor`, `tvs-ofctl monitor`) running in the background with OVS_RUNDIR `rundir`, its output (stdout and stderr as they come) kept. */
export function startMonitor(command: string, args: string[], rundir: string): { child: ChildProcess; out: () => string } {
  const child = spawn(command, args, { env: { ...process.env, OVS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return { child, out: () => out };
}

/** One of the two switches a differential test compares: bridge br0 with dummy ports p1 and p2 (OpenFlow ports 1 and 2). */
export interface ComparedSwitch {
  /** br0's OpenFlow management socket, as `unix:PATH`. */
  target: string;
  /** Hands `frame` (hex, or OVS flow syntax) to the switch as received on dummy port `port`. */
  receive(port: string, frame: string): Promise<void>;
  stop(): Promise<void>;
}

/** Debian's ovs-vswitchd and tvs-vswitchd, each started as a ComparedSwitch. */
export const COMPARED_SWITCHES: Readonly<Record<'ovs-vswitchd' | 'tvs-vswitchd', () => Promise<ComparedSwitch>>> = {
  'ovs-vswitchd': async () => {
    const ovs = await startOvsReference({ bridge: 'br0', ports: ['p1', 'p2'] });
    return {
      target: ovs.target,
      receive: async (port, frame) => {
        await ovs.appctl('netdev-dummy/receive', port, frame);
      },
      stop: () => ovs.stop(),
    };
  },
  'tvs-vswitchd': async () => {
    const tvs = await startDaemon(['--enable-dummy=override']);
    await tvs.vsctl('add-br', 'br0', '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1',
      '--', 'add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'ofport_request=2');
    return {
      target: `unix:${join(tvs.dir, 'br0.mgmt')}`,
      receive: async (port, frame) => {
        await tvs.appctl('netdev-dummy/receive', port, frame);
      },
      stop: () => tvs.stop(),
    };
  },
};

/** One step of a transcript: the step as the script writes it, and its result, normalised. */
export interface TranscriptEntry {
  step: string;
  out: string;
}

/**
 * Runs the steps of `script` in order with `run` and returns the transcript; `label` writes a
 * step as the transcript names it (by default its words joined by spaces).
 */
export async function transcript<Step>(
  script: readonly Step[],
  run: (step: Step) => Promise<CliExit>,
  normalise: (r: CliExit) => string,
  label: (step: Step) => string = (step) => (step as readonly string[]).join(' '),
): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for (const step of script) entries.push({ step: label(step), out: normalise(await run(step)) });
  return entries;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** vlog's `2026-12-07T19:00:00.123Z|00042|` in front of a logged line. */
const LOG_PREFIX = /^[0-9TZ:.-]+\|\d+\|/gm;

/** `text` with uuids written UUID and log lines without their time and sequence number. */
export function maskUuidsAndLogTimes(text: string): string {
  return text.replace(UUID, 'UUID').replace(LOG_PREFIX, '');
}

/** `text` with OVS's and our name of the tool (`ovs-vsctl`, `tvs-vsctl` for 'vsctl') written `as`. */
export function maskToolName(text: string, tool: string, as: string): string {
  return text.replace(new RegExp(`\\b[ot]vs-${tool}\\b`, 'g'), as);
}

/**
 * A result as its exit status and the lines of each output, each line masked by `mask`, in
 * sorted order: for tools that print rows in uuid order, which two databases do not share.
 */
export function sortedLines(r: CliExit, mask: (line: string) => string): string {
  const lines = (s: string): string[] => s.split('\n').map(mask).sort();
  return JSON.stringify({ code: r.code, stdout: lines(r.stdout), stderr: lines(r.stderr) }, null, 1);
}
