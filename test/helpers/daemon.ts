// A tvs-vswitchd of the test's own (database, sockets and pidfile in a temp
// directory) and the CLIs pointed at it: integration tests drive the switch
// only through commands, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/lib/netns.js';
import { eventually } from './eventually.js';
import { runForExit, type CliExit } from './run-exit.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli');

export interface TestDaemon {
  dir: string;
  db: string;
  /** The daemon's command line (node first), for tests that start it their own way. */
  argv: string[];
  /** What the daemon started by start() has written to stderr. */
  stderr(): string;
  /** tvs-vsctl against this daemon's database. */
  vsctl(...args: string[]): Promise<string>;
  /** tvs-vsctl against this daemon's database, for a command that may fail or report errors: its exit status and output. */
  vsctlExit(...args: string[]): Promise<CliExit>;
  /** tvs-appctl against this daemon's control socket. */
  appctl(...args: string[]): Promise<string>;
  /** tvs-dpctl against this daemon. */
  dpctl(...args: string[]): Promise<string>;
  /** tvs-dpctl against this daemon, for a command that may fail: its exit status and output. */
  dpctlExit(...args: string[]): Promise<CliExit>;
  /** tvs-appctl against this daemon, for a command that may fail: its exit status and output. */
  appctlExit(...args: string[]): Promise<CliExit>;
  /** Kill the daemon with SIGKILL, as a crash would. */
  crash(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A daemon of the test's own, started with `args` added to its command line (e.g. --enable-dummy). */
export async function startDaemon(args: string[] = []): Promise<TestDaemon> {
  const d = testDaemon(mkdtempSync(join(tmpdir(), 'tvs-t-vswitchd-')), args);
  await d.start();
  return d;
}

/** A daemon whose database, sockets and pidfile are in `dir` (which stop() removes), not started yet. */
/** Whether the process has not exited yet (one killed by a signal has a signalCode and no exitCode). */
function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export function testDaemon(dir: string, args: string[] = []): TestDaemon {
  const db = `unix:${join(dir, 'db.sock')}`;
  const ctl = join(dir, 'tvs-vswitchd.ctl');
  let child: ChildProcess | undefined;
  let err = '';
  const node = (cli: string, args: string[]) => run(process.execPath, [join(CLI, cli), ...args], { timeoutMs: 30_000 });
  const nodeForExit = (cli: string, args: string[]) => runForExit(process.execPath, [join(CLI, cli), ...args]);
  const d: TestDaemon = {
    dir,
    db,
    argv: [process.execPath, join(CLI, 'tvs-vswitchd.js'), `--db-file=${join(dir, 'conf.db')}`, `--db-socket=${join(dir, 'db.sock')}`, `--unixctl=${ctl}`, `--pidfile=${join(dir, 'pid')}`, ...args],
    stderr: () => err,
    vsctl: (...args) => node('tvs-vsctl.js', [`--db=${db}`, '--timeout=20', ...args]),
    vsctlExit: (...args) => nodeForExit('tvs-vsctl.js', [`--db=${db}`, '--timeout=20', ...args]),
    appctl: (...args) => node('tvs-appctl.js', ['-t', ctl, ...args]),
    dpctl: (...args) => node('tvs-dpctl.js', [`--unixctl=${ctl}`, ...args]),
    dpctlExit: (...args) => nodeForExit('tvs-dpctl.js', [`--unixctl=${ctl}`, ...args]),
    appctlExit: (...args) => nodeForExit('tvs-appctl.js', ['-t', ctl, ...args]),
    async start() {
      child = spawn(d.argv[0]!, d.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TVS_RUNDIR: dir } });
      err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      await eventually(async () => {
        if (child!.exitCode !== null) throw new Error(`tvs-vswitchd exited: ${err}`);
        return run(process.execPath, [join(CLI, 'tvs-appctl.js'), '-t', ctl, 'version']).then(
          () => true,
          () => false,
        );
      }, 15_000, 'tvs-vswitchd to answer on its control socket');
    },
    async crash() {
      child?.kill('SIGKILL');
      await new Promise((r) => child?.once('exit', r));
    },
    async stop() {
      if (child && running(child)) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (running(child)) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return d;
}
