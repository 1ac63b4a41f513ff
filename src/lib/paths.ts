// Where TVS keeps its files by default, and the environment variables that move them, as OVS's
// lib/dirs.c does with OVS_RUNDIR, OVS_DBDIR and OVS_LOGDIR. Every command and the TypeScript API
// take their defaults from here, so that several switches run side by side on one machine, each
// with its own TVS_RUNDIR (and TVS_DBDIR, TVS_LOGDIR), and every tool reaches the switch its
// environment names. Explicit options (--db, --unixctl, --pidfile, --log-file...) still win.
// TVS reads no configuration files, so it has no TVS_SYSCONFDIR.

import { join } from 'node:path';

/** The environment a command runs in (tvs-vsctl passes its own for tests). */
type Env = Readonly<Record<string, string | undefined>>;

/** Pidfiles, control sockets (PROGRAM.ctl), the database socket and bridges' BRIDGE.mgmt: TVS_RUNDIR or /var/run/tvs. */
export function runDir(env: Env = process.env): string {
  return env.TVS_RUNDIR || '/var/run/tvs';
}

/** The database file: TVS_DBDIR or /var/lib/tvs. */
function dbDir(env: Env = process.env): string {
  return env.TVS_DBDIR || '/var/lib/tvs';
}

/** Log files (--log-file with no FILE): TVS_LOGDIR or /var/log/tvs. */
export function logDir(env: Env = process.env): string {
  return env.TVS_LOGDIR || '/var/log/tvs';
}

/** The switch's database file, <dbdir>/conf.db. */
export function defaultDbFile(env: Env = process.env): string {
  return join(dbDir(env), 'conf.db');
}

/** The socket the database is served on and clients connect to, <rundir>/db.sock. */
export function defaultDbSocket(env: Env = process.env): string {
  return join(runDir(env), 'db.sock');
}

/** The default control socket of `program`: <rundir>/<program>.ctl. */
export function defaultUnixctlPath(program: string, env: Env = process.env): string {
  return join(runDir(env), `${program}.ctl`);
}

/** The default pidfile of `program` (--pidfile with no FILE): <rundir>/<program>.pid. */
export function defaultPidfile(program: string, env: Env = process.env): string {
  return join(runDir(env), `${program}.pid`);
}

/** The default log file of `program` (--log-file with no FILE): <logdir>/<program>.log. */
export function defaultLogFile(program: string, env: Env = process.env): string {
  return join(logDir(env), `${program}.log`);
}

/** A bridge's OpenFlow management socket, <rundir>/<bridge>.mgmt, as ovs-ofctl finds it by bridge name. */
export function mgmtSocketPath(bridge: string, dir: string = runDir()): string {
  return join(dir, `${bridge}.mgmt`);
}
