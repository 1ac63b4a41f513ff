// Running a command to its end for its exit status and both outputs: the tests compare what a
// failing command prints and how it exits, so a failure is a result here, not an exception.
import { execFile } from 'node:child_process';

export interface CliExit {
  /** The exit status; -1 when the command was killed (by a signal or the timeout) or could not start. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` with `args`, `env` added to this process's environment, killing it after `timeoutMs`. */
export function runForExit(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliExit> {
  return new Promise((done) => {
    execFile(cmd, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
