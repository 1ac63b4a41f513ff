// What the control-socket tools (tvs-appctl, tvs-dpctl) share: output
// streams a test can capture, the --help/--version preamble, and running
// main() only when the file is the program, not when a test imports it.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { setProgramName } from './log.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/**
 * Parse `argv`; answer help and version requests and usage errors. Returns
 * the invocation to run, or the exit code when there is nothing more to do.
 */
export function startCli<T>(
  program: string,
  argv: string[],
  parse: (argv: string[]) => T | 'help' | 'version',
  texts: { usage: () => string; version: string },
  io: Io,
): T | number {
  setProgramName(program);
  let inv: T | 'help' | 'version';
  try {
    inv = parse(argv);
  } catch (e) {
    io.err(`${program}: ${(e as Error).message}\n`);
    return 1;
  }
  if (inv === 'help') {
    io.out(texts.usage());
    return 0;
  }
  if (inv === 'version') {
    io.out(texts.version);
    return 0;
  }
  return inv;
}

/** Run `main` with the process's arguments if `moduleUrl` is the program being run. */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  let isMain: boolean;
  try {
    isMain = process.argv[1] !== undefined && moduleUrl === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    isMain = false;
  }
  if (isMain) {
    void main(process.argv.slice(2)).then((code) => {
      process.exitCode = code;
    });
  }
}
