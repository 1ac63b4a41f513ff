// Debian's ovsdb-server and ovs-vswitchd started privately, for the benchmark's baseline and the
// tests' reference switch: a temporary directory of their own holds the database, sockets,
// pidfiles and logs (OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR point there), so a system OVS is never
// touched and several instances run side by side. The directory also records the process that
// started them: when that process dies without stopping them (a test run killed by its timeout),
// the next start anywhere on the machine kills them and removes the directory.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lib/netns.js';

const DIR_PREFIX = 'tvs-ovs-';
const OWNER_FILE = 'owner.pid';
const DAEMONS = ['ovsdb-server', 'ovs-vswitchd'] as const;

export interface OvsDaemons {
  dir: string;
  /** The database's socket, as `unix:PATH`. */
  db: string;
  /** ovs-vsctl against this instance's database. */
  vsctl: (...args: string[]) => Promise<string>;
  /** ovs-appctl against this instance's ovs-vswitchd. */
  appctl: (...args: string[]) => Promise<string>;
  /** Ends both daemons (SIGTERM, SIGKILL after 10 s), waits until they are gone and removes the directory. */
  stop: () => Promise<void>;
}

export interface OvsDaemonsOptions {
  /** A word for the directory's name, so a leftover says what made it. */
  purpose: string;
  /** Runs a daemon's command line: inside a namespace, say. The host's by default. */
  exec?: (command: string, args: string[]) => Promise<unknown>;
  /** More arguments for ovs-vswitchd (`--enable-dummy=override`, ...). */
  vswitchdArgs?: string[];
  /** Configuration that ovs-vswitchd must read when it starts (it runs after `ovs-vsctl init`). */
  beforeVswitchd?: (vsctl: OvsDaemons['vsctl']) => Promise<unknown>;
}

/** Whether process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts ovsdb-server on a fresh database and ovs-vswitchd on it, both detached. */
export async function startOvsDaemons(opts: OvsDaemonsOptions): Promise<OvsDaemons> {
  reapOrphanedOvsDaemons();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${opts.purpose}-`));
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`);
  const exec = opts.exec ?? ((command, args) => run(command, args));
  const env = [`OVS_RUNDIR=${dir}`, `OVS_LOGDIR=${dir}`, `OVS_DBDIR=${dir}`];
  const db = `unix:${join(dir, 'db.sock')}`;
  const pidfile = (name: string) => join(dir, `${name}.pid`);
  const started: number[] = [];

  const daemons: OvsDaemons = {
    dir,
    db,
    vsctl: (...args) => run('ovs-vsctl', [`--db=${db}`, '--timeout=20', ...args]),
    appctl: (...args) => run('ovs-appctl', ['-t', join(dir, 'ovs-vswitchd.ctl'), ...args]),
    stop: async () => {
      await endProcesses(started, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const daemon = async (name: (typeof DAEMONS)[number], args: string[]) => {
    const common = [`--pidfile=${pidfile(name)}`, `--unixctl=${join(dir, `${name}.ctl`)}`, `--log-file=${join(dir, `${name}.log`)}`, '--detach'];
    await exec('env', [...env, name, ...args, ...common]);
    // --detach returns once the daemon is up and its pidfile written.
    started.push(Number(readFileSync(pidfile(name), 'utf8').trim()));
  };

  try {
    await run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
    await daemon('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`]);
    await daemons.vsctl('--no-wait', 'init');
    await opts.beforeVswitchd?.(daemons.vsctl);
    await daemon('ovs-vswitchd', [db, ...(opts.vswitchdArgs ?? [])]);
  } catch (e) {
    await daemons.stop();
    throw e;
  }
  return daemons;
}

/** SIGTERM to each of `pids`, SIGKILL to any still there after `graceMs`; resolves once all are gone. */
async function endProcesses(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Kills the daemons of every private instance whose starter is gone, and removes its directory. A
 * pid is only killed while its command line still names the directory, so a pid the kernel has
 * since given to another process is left alone.
 */
function reapOrphanedOvsDaemons(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    const owner = readNumber(join(dir, OWNER_FILE));
    // A directory without an owner yet is one being created right now.
    if (owner === undefined || alive(owner)) continue;
    for (const name of DAEMONS) {
      const pid = readNumber(join(dir, `${name}.pid`));
      if (pid !== undefined && commandLine(pid).includes(dir)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
