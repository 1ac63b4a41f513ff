// What the differential tests share: OVS's side and ours run the same script, each step's exit
// status and output go into a transcript once what may legitimately differ between two runs is
// masked, and the two transcripts must be equal.
import type { CliExit } from './run-exit.js';

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
