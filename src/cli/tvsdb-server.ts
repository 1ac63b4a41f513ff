#!/usr/bin/env node
// tvsdb-server: serves OVSDB database files over JSON-RPC (RFC 7047), like ovsdb-server.

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CommandRegistry } from '../lib/command-registry.js';
import { getLogger, registerVlogCommands, setLogLevel } from '../lib/log.js';
import { defaultDbSocket, runDir } from '../lib/paths.js';
import { UnixctlServer } from '../lib/unixctl.js';
import { OvsdbError } from '../ovsdb/errors.js';
import { OvsdbServer } from '../ovsdb/server.js';
import { TLS_SHORT_OPTIONS, TLS_USAGE, type TlsFiles, takeTlsOption } from '../lib/tls.js';

const log = getLogger('tvsdb_server');

const USAGE = `usage: tvsdb-server [OPTIONS] DATABASE...
Serve the OVSDB database files DATABASE... (create them with "tvsdb-tool create").

  --unixctl=SOCKET       control socket for tvs-appctl (default: $TVS_RUNDIR/tvsdb-server.PID.ctl,
                         as ovsdb-server's; commands ovsdb-server/compact [DB], exit, vlog/*)
  --remote=REMOTE        listen on REMOTE (repeatable): punix:PATH or ptcp:PORT[:IP]
                         (TCP listens on 127.0.0.1 unless IP is given); default punix:$TVS_RUNDIR/db.sock
                         (TVS_RUNDIR: /var/run/tvs unless set)
                         pssl:PORT[:IP] listens for SSL/TLS clients (the PKI options below)
  --max-message-bytes=N  reject JSON-RPC messages larger than N bytes (default 64 MiB)
  --compact-bytes=N      compact a log automatically once it exceeds N bytes (default 10 MiB)
  -v, --verbose[=SPEC]   log more: "dbg", "info", or "module:level,..." (default: warnings only)
  -h, --help             show this help

${TLS_USAGE}Each PKI FILE may be db:DATABASE,TABLE,COLUMN, read from a served database as ovsdb-server
reads it (e.g. --private-key=db:Open_vSwitch,SSL,private_key), again for every new client.
`;

interface Options {
  unixctl?: string;
  remotes: string[];
  files: string[];
  maxMessageBytes?: number;
  compactMinBytes?: number;
  tls: TlsFiles;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got "${v}"`);
  return n;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { remotes: [], files: [], tls: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const shortAttached = TLS_SHORT_OPTIONS.includes(arg.slice(0, 2)) && arg.length > 2;
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : shortAttached ? arg.slice(0, 2) : arg;
    const attached = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : shortAttached ? arg.slice(2) : undefined;
    const value = (): string => {
      if (attached !== undefined) return attached;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (takeTlsOption({ word: arg, flag, attached, value }, o.tls)) continue;
    switch (flag) {
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      case '--remote':
        o.remotes.push(value());
        break;
      case '--unixctl':
        o.unixctl = value();
        break;
      case '--max-message-bytes':
        o.maxMessageBytes = positiveInt(flag, value());
        break;
      case '--compact-bytes':
        o.compactMinBytes = positiveInt(flag, value());
        break;
      case '-v':
      case '--verbose':
        setLogLevel(eq > 0 ? arg.slice(eq + 1) : 'dbg');
        break;
      default:
        if (arg.startsWith('-')) throw new Error(`unknown option ${arg} (see --help)`);
        o.files.push(arg);
    }
  }
  if (o.files.length === 0) throw new Error('no DATABASE file given (see --help)');
  if (o.remotes.length === 0) o.remotes.push(`punix:${defaultDbSocket()}`);
  return o;
}

async function main(argv = process.argv.slice(2)): Promise<void> {
  let opts: Options;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`tvsdb-server: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const serverOpts: { maxMessageBytes?: number; compactMinBytes?: number } = {};
  if (opts.maxMessageBytes !== undefined) serverOpts.maxMessageBytes = opts.maxMessageBytes;
  if (opts.compactMinBytes !== undefined) serverOpts.compactMinBytes = opts.compactMinBytes;
  const server = new OvsdbServer(serverOpts);
  try {
    for (const f of opts.files) {
      const { name, torn } = await server.addDatabaseFile(f);
      if (torn) process.stderr.write(`tvsdb-server: ${f}: the last record was incomplete (${torn.reason}); cut ${torn.droppedBytes} bytes at offset ${torn.offset}, keeping every complete transaction\n`);
      log.info(`serving ${name} from ${f}`);
    }
    const tls = (): TlsFiles => resolveTlsFiles(server, opts.tls);
    for (const r of opts.remotes) log.info(`listening on ${await server.listen(r, tls)}`);
  } catch (e) {
    process.stderr.write(`tvsdb-server: ${e instanceof OvsdbError ? e.details : (e as Error).message}\n`);
    await server.close();
    process.exit(1);
  }
  // The control socket, as ovsdb-server's: ovs-appctl and tvs-appctl both reach it.
  const registry = new CommandRegistry();
  registerVlogCommands(registry);
  registry.register('ovsdb-server/compact', '[DB]', 0, 1, async ([db]) => {
    await server.compact(db);
    return '';
  });
  if (!opts.unixctl) removeDeadControlSockets();
  const unixctl = new UnixctlServer({ path: opts.unixctl ?? join(runDir(), `tvsdb-server.${process.pid}.ctl`), registry, version: 'tvsdb-server (TVS) 0.1.0' });
  try {
    await unixctl.start();
  } catch (e) {
    process.stderr.write(`tvsdb-server: control socket: ${(e as Error).message}\n`);
    await server.close();
    process.exit(1);
  }
  const stop = (): void => {
    void unixctl
      .close()
      .then(() => server.close())
      .then(() => process.exit(0));
  };
  registry.register('exit', '', 0, 0, () => {
    setImmediate(stop);
    return '';
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The PKI files, with db:DB,TABLE,COLUMN references looked up in the served databases. */
function resolveTlsFiles(server: OvsdbServer, given: TlsFiles): TlsFiles {
  const files: TlsFiles = given.bootstrap === undefined ? {} : { bootstrap: given.bootstrap };
  for (const key of ['privateKey', 'certificate', 'caCert', 'peerCaCert'] as const) {
    const ref = given[key];
    const value = ref === undefined ? undefined : server.queryString(ref);
    if (value !== undefined) files[key] = value;
  }
  return files;
}

/** Control sockets left by servers that were killed (tvsdb-server.PID.ctl whose PID is gone). */
function removeDeadControlSockets(): void {
  let names: string[];
  try {
    names = readdirSync(runDir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^tvsdb-server\.(\d+)\.ctl$/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(runDir(), name), { force: true });
    }
  }
}

void main();
