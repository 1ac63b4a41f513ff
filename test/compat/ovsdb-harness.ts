// Shared by the OVSDB compat tests: real OVS tools (installed from Debian when missing), a
// tvsdb-server child process on a database in a temp dir, and cleanup that runs even on failure.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { createDatabaseFile } from '../../src/ovsdb/db-file.js';
import { runForExit, type CliExit } from '../helpers/run-exit.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DEBIAN_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/** The newest modification time of a file, or of anything under a directory. */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((e) => newestMtime(join(path, e))));
}

/** Rebuild with tsc when `output` is missing or older than any of `sources`. */
function rebuildIfStale(output: string, sources: string[]): void {
  if (existsSync(output) && statSync(output).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // Errors elsewhere in the tree do not stop tsc from emitting our files.
  }
}

/** The tests run the built CLIs (as users do); build when dist is missing or older than src. */
export function ensureBuilt(): void {
  const cli = join(ROOT, 'dist/src/cli/tvsdb-server.js');
  rebuildIfStale(cli, [join(ROOT, 'src/ovsdb'), join(ROOT, 'src/lib')]);
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first`);
}

export const TVS_VSCTL = join(ROOT, 'dist/src/cli/tvs-vsctl.js');

/** As ensureBuilt, for tvs-vsctl too. */
export function ensureVsctlBuilt(): void {
  ensureBuilt();
  rebuildIfStale(TVS_VSCTL, [join(ROOT, 'src/vsctl'), join(ROOT, 'src/cli/tvs-vsctl.ts')]);
}

/** Installs Debian's openvswitch packages if the real tools are missing. */
export function ensureOvsTools(): void {
  const have = (tool: string): boolean => ['/usr/bin', '/usr/sbin'].some((d) => existsSync(join(d, tool)));
  if (have('ovs-vsctl') && have('ovsdb-client') && have('ovsdb-server')) return;
  execFileSync('apt-get', ['install', '-y', 'openvswitch-common', 'openvswitch-switch'], {
    stdio: 'pipe',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 300_000,
  });
}

/** Runs a tool to its end with `env` added (20 s at most: the OVSDB tools answer at once). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliExit> {
  return runForExit(cmd, args, { env, timeoutMs: 20_000 });
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'tvsdb-'));
  file(name: string): string {
    return join(this.path, name);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export async function createDb(path: string, schemaPath: string): Promise<void> {
  await createDatabaseFile(path, JSON.parse(await readFile(schemaPath, 'utf8')));
}

/** A tvsdb-server child serving one database file. */
export class ServerProcess {
  private exited: Promise<number | null>;
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(dbPath: string, remotes: string[], extra: string[] = []): Promise<ServerProcess> {
    const args = [join(ROOT, 'dist/src/cli/tvsdb-server.js'), ...remotes.map((r) => `--remote=${r}`), ...extra, dbPath];
    const sp = new ServerProcess(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    await sp.waitReady(remotes);
    return sp;
  }

  private async waitReady(remotes: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    // Connect rather than look for the socket file: a killed server leaves a stale one behind.
    const targets = remotes.map((r) => (r.startsWith('punix:') ? r.slice(6) : Number(r.split(':')[1])));
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`tvsdb-server exited with ${this.child.exitCode}: ${this.stderr}`);
      const ok = (await Promise.all(targets.map(canConnect))).every(Boolean);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`tvsdb-server did not start listening: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Stops the server (SIGTERM unless told otherwise) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

async function canConnect(target: string | number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((r) => {
    const s = typeof target === 'string' ? connect(target) : connect(target, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((r) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => r(port));
    });
  });
}

/**
 * tvsdb-server and Debian's ovsdb-server side by side, each on a fresh
 * database of the Debian schema, listening on `ours.sock` and `theirs.sock`
 * in `dir`: the two ends of a differential test.
 */
class ServerPair {
  private constructor(
    private readonly ours: ServerProcess,
    private readonly theirs: ChildProcess,
  ) {}

  static async start(dir: TempDir): Promise<ServerPair> {
    await createDb(dir.file('ours.db'), DEBIAN_SCHEMA);
    const ours = await ServerProcess.start(dir.file('ours.db'), [`punix:${dir.file('ours.sock')}`]);
    await run('ovsdb-tool', ['create', dir.file('theirs.db'), DEBIAN_SCHEMA]);
    const theirs = spawn('ovsdb-server', [`--remote=punix:${dir.file('theirs.sock')}`, `--unixctl=${dir.file('ctl')}`, '--no-chdir', '-vconsole:off', dir.file('theirs.db')], {
      stdio: 'ignore',
    });
    const pair = new ServerPair(ours, theirs);
    const deadline = Date.now() + 10_000;
    while ((await run('ovsdb-client', ['list-dbs', `unix:${dir.file('theirs.sock')}`])).code !== 0) {
      if (Date.now() > deadline) {
        await pair.stop();
        throw new Error('ovsdb-server did not start');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return pair;
  }

  async stop(): Promise<void> {
    if (this.theirs.exitCode === null) {
      const exited = new Promise((r) => this.theirs.once('exit', r));
      this.theirs.kill();
      await exited;
    }
    await this.ours.stop();
  }
}

/**
 * A ServerPair for the tests of the calling file: the OVS tools installed and ours built, started
 * before the file's tests and stopped after them. Its `dir` is there once the tests run.
 */
export function serverPairForFile(): { readonly dir: TempDir } {
  let dir: TempDir | undefined;
  let pair: ServerPair | undefined;
  beforeAll(async () => {
    ensureOvsTools();
    ensureBuilt();
    dir = new TempDir();
    pair = await ServerPair.start(dir);
  });
  afterAll(async () => {
    await pair?.stop();
    dir?.remove();
  });
  return {
    get dir(): TempDir {
      if (!dir) throw new Error('the server pair starts in beforeAll: use it in a test');
      return dir;
    },
  };
}
