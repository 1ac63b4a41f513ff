#!/usr/bin/env node
// tvs-vswitchd: the TVS switch daemon (OVS's ovs-vswitchd). With no
// DATABASE it embeds its own database and serves it on the default socket,
// so tvs-vsctl works with no further setup.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { registerVlogCommands, logOptionsUsage, parseLogOption, setProgramName, getLogger } from '../lib/log.js';
import { defaultDbFile, defaultDbSocket, defaultPidfile, defaultUnixctlPath } from '../lib/paths.js';
import { UnixctlServer } from '../lib/unixctl.js';
import { TLS_SHORT_OPTIONS, TLS_USAGE, type TlsFiles, hasTlsFiles, takeTlsOption } from '../lib/tls.js';
import { OVS_DB_SOCKET, VERSION, VSwitchd, type VSwitchdOptions } from '../vswitchd/vswitchd.js';

const log = getLogger('vswitchd');

const USAGE = `tvs-vswitchd: TVS switch daemon
usage: tvs-vswitchd [OPTIONS] [DATABASE]
where DATABASE is a socket of a running tvsdb-server (unix:PATH, tcp:IP:PORT or ssl:IP:PORT).
With no DATABASE, the daemon keeps its own database in --db-file and serves it.

Database options (embedded database):
  --db-file=FILE          database file (default: ${defaultDbFile()}, TVS_DBDIR)
  --db-socket=PATH        serve the database on PATH (default: ${defaultDbSocket()}; repeatable)
  --ovs-db-socket         also serve it on OVS's default socket ${OVS_DB_SOCKET},
                          so the real ovs-vsctl with no --db reaches TVS
  --remote=REMOTE         also serve it on REMOTE: ptcp:PORT[:IP], pssl:PORT[:IP] or
                          punix:PATH (repeatable); Manager rows' passive targets too

Interface options:
  --enable-dummy          add the interface type "dummy" (a port with no device:
                          frames come in through tvs-appctl netdev-dummy/receive)
  --enable-dummy=override also open every system, internal and tap interface as
                          a dummy, so that a whole configuration runs with no
                          devices and no root

Daemon options:
  --unixctl=SOCKET        control socket for tvs-appctl (default: ${defaultUnixctlPath('tvs-vswitchd')}, TVS_RUNDIR)
  --pidfile[=FILE]        write the process id to FILE (default: ${defaultPidfile('tvs-vswitchd')})
  --detach                run in the background once started
${logOptionsUsage()}
${TLS_USAGE}  (the SSL table, tvs-vsctl set-ssl, takes precedence for controllers and managers)

Other options:
  -h, --help              display this help message
  -V, --version           display version information
`;

interface CliOptions {
  daemon: VSwitchdOptions;
  unixctl: string;
  pidfile?: string;
  detach: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { daemon: {}, unixctl: defaultUnixctlPath('tvs-vswitchd'), detach: false };
  const sockets: string[] = [];
  let ovsSocket = false;
  const tls: TlsFiles = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const shortTls = TLS_SHORT_OPTIONS.includes(arg.slice(0, 2)) && arg.length > 2;
    const [flag, value] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : shortTls ? [arg.slice(0, 2), arg.slice(2)] : [arg, undefined];
    const next = (): string => value ?? need(flag, argv[++i]);
    if (takeTlsOption({ word: arg, flag, attached: value, value: next }, tls)) continue;
    if (parseLogOption(arg)) continue;
    switch (flag) {
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      case '-V':
      case '--version':
        process.stdout.write(`tvs-vswitchd (TVS) ${VERSION}\n`);
        process.exit(0);
        break;
      case '--db-file':
        o.daemon.dbFile = resolve(need(flag, value));
        break;
      case '--db-socket':
        sockets.push(resolve(need(flag, value)));
        break;
      case '--ovs-db-socket':
        ovsSocket = true;
        break;
      case '--remote':
        (o.daemon.dbRemotes ??= []).push(need(flag, value));
        break;
      case '--enable-dummy':
        if (value !== undefined && value !== 'override') throw new Error(`--enable-dummy=${value}: unknown value (use --enable-dummy or --enable-dummy=override)`);
        o.daemon.dummy = value === 'override' ? 'override' : 'on';
        break;
      case '--unixctl':
        o.unixctl = resolve(need(flag, value));
        break;
      case '--pidfile':
        o.pidfile = resolve(value ?? defaultPidfile('tvs-vswitchd'));
        break;
      case '--detach':
        o.detach = true;
        break;
      default:
        if (arg.startsWith('-')) throw new Error(`unrecognized option '${arg}' (use --help for help)`);
        if (o.daemon.remote) throw new Error(`exactly zero or one non-option argument required; use --help for usage`);
        if (!/^(unix|tcp|ssl):/.test(arg)) throw new Error(`"${arg}": DATABASE must be unix:PATH, tcp:IP:PORT or ssl:IP:PORT`);
        o.daemon.remote = arg;
    }
  }
  if (hasTlsFiles(tls)) o.daemon.tls = tls;
  if (sockets.length || ovsSocket) o.daemon.dbSockets = [...(sockets.length ? sockets : [defaultDbSocket()]), ...(ovsSocket ? [OVS_DB_SOCKET] : [])];
  return o;
}

function need(flag: string, value: string | undefined): string {
  if (!value) throw new Error(`option '${flag}' requires an argument`);
  return value;
}

/** Start a copy of ourselves in the background and return once it is serving (or has failed). */
async function detach(): Promise<never> {
  // The child reports on fd 3: "ready", or the error that stopped it.
  const child = spawn(process.execPath, [process.argv[1]!, ...process.argv.slice(2).filter((a) => a !== '--detach')], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, TVS_VSWITCHD_DETACHED: '1' },
  });
  let report = '';
  const status = child.stdio[3] as NodeJS.ReadableStream;
  status.on('data', (d: Buffer) => (report += d.toString()));
  await new Promise<void>((res) => {
    status.once('end', () => res());
    child.once('exit', () => res());
  });
  if (report.trim() !== 'ready') {
    process.stderr.write(report || 'tvs-vswitchd: the daemon exited while starting\n');
    process.exit(1);
  }
  child.unref();
  process.exit(0);
}

/** In a detached daemon: tell the parent how starting went. */
function reportToParent(text: string): void {
  if (!process.env.TVS_VSWITCHD_DETACHED) return;
  try {
    writeSync(3, text);
    closeSync(3);
  } catch {
    // the parent is gone
  }
}

async function main(): Promise<void> {
  setProgramName('tvs-vswitchd');
  const opts = parseArgs(process.argv.slice(2));
  if (opts.detach) await detach();
  const daemon = await VSwitchd.start(opts.daemon);
  registerVlogCommands(daemon.registry);
  const unixctl = new UnixctlServer({ path: opts.unixctl, registry: daemon.registry, version: `tvs-vswitchd (TVS) ${VERSION}` });
  let exiting = false;
  const exit = async (why: string) => {
    if (exiting) return;
    exiting = true;
    log.info(`exiting (${why})`);
    await unixctl.close();
    await daemon.stop();
    if (opts.pidfile) removePidfile(opts.pidfile);
    process.exit(0);
  };
  daemon.registry.register('exit', '[--cleanup]', 0, 1, () => {
    setImmediate(() => void exit('tvs-appctl exit'));
    return '';
  });
  await unixctl.start();
  if (opts.pidfile) {
    mkdirSync(dirname(opts.pidfile), { recursive: true });
    writeFileSync(opts.pidfile, `${process.pid}\n`);
  }
  process.on('SIGTERM', () => void exit('SIGTERM'));
  process.on('SIGINT', () => void exit('SIGINT'));
  log.info(`tvs-vswitchd ${VERSION} started; database ${daemon.remote}`);
  reportToParent('ready\n');
}

function removePidfile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // gone already
  }
}

main().catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`tvs-vswitchd: ${message}\n`);
  reportToParent(`tvs-vswitchd: ${message}\n`);
  process.exit(1);
});
